"""RekognitionDatasets on a fake project: a published version replaces the project's TRAIN and
TEST datasets (delete, wait until gone, create from the version's root manifests, wait until
complete); partial or unpublished versions change nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from workflow.failure import failure_message
from workflow.models import ConversionSummary
from workflow.rekognition import (
    DatasetState,
    RekognitionDatasetFailed,
    RekognitionProgress,
    RekognitionRequest,
    RekognitionSettings,
    RekognitionStep,
    sync_datasets,
)

PROJECT = "arn:aws:rekognition:us-east-1:123456789012:project/parts/1700000000000"
DATASET = "s3://stack-bucket/datasets/parts/"
VERSION = "v0002"
_DATASETS = f"{PROJECT.rsplit('/', 1)[0]}/dataset"
SETTINGS = RekognitionSettings(project_arn=PROJECT, poll_seconds=30, max_polls=5)


@dataclass
class FakeProject:
    """A Custom Labels project: one dataset per type (`held`); a created dataset is
    CREATE_IN_PROGRESS until `settle` (CREATE_COMPLETE, or `fail_with`), a deleted one
    DELETE_IN_PROGRESS until `settle` removes it."""

    held: dict[str, DatasetState] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    fail_with: str | None = None
    created: int = 0

    def datasets(self, project_arn: str) -> dict[str, DatasetState]:
        assert project_arn == PROJECT
        self.calls.append(("describe_projects",))
        return dict(self.held)

    def create(self, project_arn: str, dataset_type: str, bucket: str, key: str) -> str:
        assert dataset_type not in self.held, "one dataset of a type per project"
        self.calls.append(("create", dataset_type, f"s3://{bucket}/{key}"))
        self.created += 1
        arn = f"{_DATASETS}/{dataset_type.lower()}/{1000 + self.created}"
        self.held[dataset_type] = DatasetState(arn, "CREATE_IN_PROGRESS")
        return arn

    def delete(self, dataset_arn: str) -> None:
        self.calls.append(("delete", dataset_arn))
        [kind] = [k for k, d in self.held.items() if d.arn == dataset_arn]
        assert self.held[kind].status not in {"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"}
        self.held[kind] = DatasetState(dataset_arn, "DELETE_IN_PROGRESS")

    def describe(self, dataset_arn: str) -> DatasetState:
        self.calls.append(("describe", dataset_arn))
        [state] = [d for d in self.held.values() if d.arn == dataset_arn]
        return state

    def settle(self) -> None:
        """Rekognition finishes what it was doing."""
        for kind, state in list(self.held.items()):
            if state.status == "DELETE_IN_PROGRESS":
                del self.held[kind]
            elif state.status == "CREATE_IN_PROGRESS" and self.fail_with:
                self.held[kind] = DatasetState(state.arn, "CREATE_FAILED", self.fail_with)
            elif state.status == "CREATE_IN_PROGRESS":
                self.held[kind] = DatasetState(state.arn, "CREATE_COMPLETE", "", 10, 0)

    @property
    def changes(self) -> list[tuple[str, ...]]:
        """What changed the project: CreateDataset and DeleteDataset calls."""
        return [c for c in self.calls if c[0] in ("create", "delete")]


def _old(kind: str, status: str = "CREATE_COMPLETE") -> DatasetState:
    """A dataset an earlier version (or a person) made."""
    return DatasetState(f"{_DATASETS}/{kind.lower()}/1", status)


def _published(files: dict[str, int] | None = None, **update: Any) -> RekognitionRequest:
    exports = {} if files is None else {"rekognition": files}
    summary = ConversionSummary(
        images=12, boxes=20, rejected_lines=0, dropped_boxes=0, clamped_boxes=0, classes=2,
        images_per_split={"train": 10, "val": 2}, exports=exports,
    )  # fmt: skip
    fields: dict[str, Any] = {
        "published": True, "dataset_uri": DATASET, "job_name": "parts-batch-2",
        "reason": "published", "summary": summary, "version": VERSION,
    }  # fmt: skip
    return RekognitionRequest(**(fields | update))


BOTH = {"train.manifest": 10, "test.manifest": 2}
TRAIN_MANIFEST = f"{DATASET}{VERSION}.rekognition.train.manifest"
TEST_MANIFEST = f"{DATASET}{VERSION}.rekognition.test.manifest"


def _again(request: RekognitionRequest, progress: RekognitionProgress) -> RekognitionRequest:
    """The next call, as the state machine makes it after the wait."""
    return request.model_copy(update={"rekognition": RekognitionStep(summary=progress)})


def _run(
    request: RekognitionRequest, project: FakeProject, passes: int = 10
) -> RekognitionProgress:
    """Calls the step until it is done, Rekognition settling between calls."""
    progress = sync_datasets(request, project, SETTINGS)
    for _ in range(passes):
        if progress.done:
            return progress
        project.settle()
        progress = sync_datasets(_again(request, progress), project, SETTINGS)
    raise AssertionError(f"not done after {passes} passes: {progress}")


def test_an_empty_project_gets_both_datasets_from_the_versions_root_manifests() -> None:
    # Given a project without datasets and a published version with both manifests
    project = FakeProject()
    request = _published(BOTH)
    # When the step runs once
    first = sync_datasets(request, project, SETTINGS)
    # Then it created TRAIN and TEST from the version's two root manifests, and waits for them
    assert project.changes == [
        ("create", "TRAIN", TRAIN_MANIFEST),
        ("create", "TEST", TEST_MANIFEST),
    ]
    assert not first.done and first.wait_seconds == 30 and set(first.created) == {"TRAIN", "TEST"}
    # And once Rekognition has created them, the next call is done and names what they hold
    project.settle()
    done = sync_datasets(_again(request, first), project, SETTINGS)
    assert done.done and done.wait_seconds == 0 and done.replaced == []
    assert {t: (d.manifest_uri, d.entries) for t, d in done.datasets.items()} == {
        "TRAIN": (TRAIN_MANIFEST, 10),
        "TEST": (TEST_MANIFEST, 10),
    }
    assert len(project.changes) == 2  # nothing created twice
    assert {a for _, a in [c for c in project.calls if c[0] == "describe"]} == {
        d.arn for d in done.datasets.values()
    }


def test_the_previous_versions_datasets_are_deleted_then_replaced() -> None:
    # Given a project holding an earlier version's datasets
    old = {"TRAIN": _old("TRAIN"), "TEST": _old("TEST", "UPDATE_COMPLETE")}
    project = FakeProject(held=dict(old))
    request = _published(BOTH)
    # When the step runs: first it deletes them (a project holds one dataset per type)
    first = sync_datasets(request, project, SETTINGS)
    assert project.changes == [("delete", old["TRAIN"].arn), ("delete", old["TEST"].arn)]
    assert not first.done and first.created == {}
    # while Rekognition still deletes them, nothing more happens
    still = sync_datasets(_again(request, first), project, SETTINGS)
    assert len(project.changes) == 2 and not still.done
    # Then, once they are gone, the new ones are created, and the step ends when they are ready
    done = _run(_again(request, still), project)
    assert project.changes[2:] == [
        ("create", "TRAIN", TRAIN_MANIFEST),
        ("create", "TEST", TEST_MANIFEST),
    ]
    assert done.done and done.replaced == [old["TRAIN"].arn, old["TEST"].arn]
    assert {d.arn for d in done.datasets.values()} == {d.arn for d in project.held.values()}


def test_a_dataset_still_being_created_is_deleted_only_once_it_settles() -> None:
    # Given another version's TRAIN dataset still being created (DeleteDataset would refuse it)
    busy = _old("TRAIN", "CREATE_IN_PROGRESS")
    project = FakeProject(held={"TRAIN": busy})
    request = _published({"train.manifest": 10})
    # When the step runs, it waits instead of deleting
    first = sync_datasets(request, project, SETTINGS)
    assert project.changes == [] and not first.done
    # Then, after it settled, it is replaced
    done = _run(_again(request, first), project)
    assert project.changes[0] == ("delete", busy.arn) and done.replaced == [busy.arn]


def test_a_version_without_test_images_leaves_the_project_without_a_test_dataset() -> None:
    # Given a project with both datasets and a version whose test split is empty
    project = FakeProject(held={"TRAIN": _old("TRAIN"), "TEST": _old("TEST")})
    done = _run(_published({"train.manifest": 12, "test.manifest": 0}), project)
    # Then the old TEST (other images: it could share them with the new TRAIN) is gone too,
    # and only TRAIN is created
    assert [c for c in project.changes if c[0] == "create"] == [("create", "TRAIN", TRAIN_MANIFEST)]
    assert set(project.held) == {"TRAIN"} and set(done.datasets) == {"TRAIN"}


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (_published(BOTH, published=False, reason="another execution published the same input"),
         "nothing was published"),
        (_published(BOTH, partial=True), "a partial (live) dataset"),
        (_published(None), "has no rekognition export"),
    ],
)  # fmt: skip
def test_an_unpublished_partial_or_unexported_version_changes_nothing(
    request_: RekognitionRequest, reason: str
) -> None:
    # Given a project with datasets
    kept = _old("TRAIN")
    project = FakeProject(held={"TRAIN": kept})
    # When the step gets a version it must not use
    progress = sync_datasets(request_, project, SETTINGS)
    # Then it is done at once, says why, and never called Rekognition
    assert progress.done and progress.skipped is not None and reason in progress.skipped
    assert project.calls == [] and project.held == {"TRAIN": kept}


def test_a_dataset_rekognition_fails_to_create_fails_the_step_naming_it() -> None:
    # Given Rekognition refusing the manifest
    project = FakeProject(fail_with="The manifest file contains too many invalid rows.")
    request = _published({"train.manifest": 10})
    first = sync_datasets(request, project, SETTINGS)
    project.settle()
    # When the step looks at the dataset it created
    with pytest.raises(RekognitionDatasetFailed) as failed:
        sync_datasets(_again(request, first), project, SETTINGS)
    # Then the error names the type, the manifest, the status and Rekognition's message
    message = str(failed.value)
    for part in ("TRAIN", TRAIN_MANIFEST, "CREATE_FAILED", "too many invalid rows"):
        assert part in message


def test_the_step_gives_up_after_its_last_check() -> None:
    # Given datasets Rekognition never finishes creating
    project = FakeProject()
    request = _published(BOTH)
    progress = sync_datasets(request, project, SETTINGS)
    for _ in range(SETTINGS.max_polls):
        progress = sync_datasets(_again(request, progress), project, SETTINGS)
        assert not progress.done
    # Then the next check fails, saying how long it waited
    with pytest.raises(RekognitionDatasetFailed, match="not ready after 5 checks 30 s apart"):
        sync_datasets(_again(request, progress), project, SETTINGS)


def test_a_failure_after_publish_says_the_dataset_is_published() -> None:
    # Given the state NotifyFailure gets when RekognitionDatasets failed
    state = _published(BOTH).model_dump() | {
        "error": {"Error": "RekognitionDatasetFailed", "Cause": "the TRAIN dataset ... failed"}
    }
    subject, body, fields = failure_message(state)
    # Then the message says the version is published and which step failed, not "no dataset"
    assert subject == "Rekognition datasets failed: parts-batch-2"
    assert f"{DATASET} version {VERSION} is published" in body
    assert "no dataset was published" not in body
    assert fields["error"] == "RekognitionDatasetFailed"
