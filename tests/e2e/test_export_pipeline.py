"""Exports on the local cloud: every function as deployed, `exports` on for every format.

A published version's exports are written twice: among its own files, naming images by dataset
key (the plain dataset `materialize` reads back, as a local conversion writes it), and as root
copies `<v>.<format>.<file>` that name each image where the version stores it. These tests read
the root copies as a trainer on the bucket would: every image they name is there, and each box
is the YOLO label's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from gt2yolo.versions import label_of
from workflow.models import ConversionOutcome
from workflow.publish import ready_detail

from localrun.cloud import LocalCloud
from localrun.demo import completion_event
from localrun.synth import Assembly, synthesize
from samples.detection import CUSTOMER_IMAGES, SampleJob, make_sample_job
from tests.e2e.conftest import E2E_CONTEXT

EXPORTS = ["coco", "rekognition", "sagemaker"]


@pytest.fixture(scope="module")
def export_assembly() -> Assembly:
    return synthesize({**E2E_CONTEXT, "exports": EXPORTS})


@pytest.fixture
def export_cloud(export_assembly: Assembly) -> Iterator[LocalCloud]:
    with LocalCloud(export_assembly) as local:
        local.create_bucket(CUSTOMER_IMAGES)
        yield local


def _read(cloud: LocalCloud, key: str) -> bytes:
    return bytes(cloud.client("s3").get_object(Bucket=cloud.bucket, Key=key)["Body"].read())


def _exists(cloud: LocalCloud, key: str) -> bool:
    listed = cloud.client("s3").list_objects_v2(Bucket=cloud.bucket, Prefix=key)
    return any(item["Key"] == key for item in listed.get("Contents", []))


def _publish(cloud: LocalCloud, job: SampleJob) -> str:
    cloud.expect_describe_labeling_job(job.describe_response())
    execution = cloud.put_event(completion_event(job.job_name))
    assert execution is not None
    assert execution.status == "SUCCEEDED", execution.cause
    pointer = json.loads(_read(cloud, f"datasets/{job.job_name}/current.json"))
    return str(pointer["version"])


def _yolo_boxes(files: dict[str, bytes], image_key: str) -> list[list[float]]:
    text = files[label_of(image_key)].decode()
    return [[float(v) for v in line.split()] for line in text.splitlines()]


def _normalized(bbox: list[float], width: int, height: int) -> list[float]:
    left, top, w, h = bbox
    return [(left + w / 2) / width, (top + h / 2) / height, w / width, h / height]


@pytest.fixture
def published(export_cloud: LocalCloud) -> tuple[LocalCloud, SampleJob, str]:
    job = make_sample_job(export_cloud.bucket, images=12, image_bucket=CUSTOMER_IMAGES)
    export_cloud.put_objects(job.objects)
    export_cloud.put_objects(job.image_objects, CUSTOMER_IMAGES)
    return export_cloud, job, _publish(export_cloud, job)


def test_the_published_coco_names_stored_images_and_holds_the_yolo_boxes(
    published: tuple[LocalCloud, SampleJob, str],
) -> None:
    # Given a completed job converted with every export on
    cloud, job, version = published
    prefix = f"datasets/{job.job_name}/"
    files = cloud.dataset(prefix)
    report = json.loads(files["report.json"])
    seen = 0
    for split, count in report["images_per_split"].items():
        # When a trainer reads the version's root COCO file of each split
        coco = json.loads(_read(cloud, f"{prefix}{version}.coco.{split}.json"))
        # Then it lists the split's images, each stored where its file_name says (from the
        # dataset's root), with the bytes the source image has
        assert len(coco["images"]) == count
        for image in coco["images"]:
            assert image["file_name"].startswith(f"files/{version}/images/{split}/")
            key = image["file_name"].split("/", 2)[2]
            assert _read(cloud, prefix + image["file_name"]) == files[key]
            # And its boxes are the YOLO label file's (class id + 1, within 1e-4)
            boxes = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
            got = sorted(
                [a["category_id"] - 1, *_normalized(a["bbox"], image["width"], image["height"])]
                for a in boxes
            )
            want = sorted(_yolo_boxes(files, key))
            assert len(got) == len(want)
            for g, w in zip(got, want, strict=True):
                assert g[0] == w[0]
                assert max(abs(a - b) for a, b in zip(g[1:], w[1:], strict=True)) < 1e-4
            seen += 1
        # And the plain copy among the version's files names the same images by dataset key
        plain = json.loads(files[f"exports/coco/{split}.json"])
        assert [i["file_name"] for i in plain["images"]] == [
            i["file_name"].split("/", 2)[2] for i in coco["images"]
        ]
    assert seen == report["images"] == len(job.truth)
    assert report["exports"]["coco"]["written"] is True
    # (every function did so within its own role: no request was refused)
    assert cloud.denials == []


def _manifest(cloud: LocalCloud, key: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _read(cloud, key).decode().splitlines() if line]


def test_the_published_manifests_name_images_in_the_stack_bucket(
    published: tuple[LocalCloud, SampleJob, str],
) -> None:
    # Given the same published version
    cloud, job, version = published
    prefix = f"datasets/{job.job_name}/"
    report = json.loads(cloud.dataset(prefix)["report.json"])
    splits = report["images_per_split"]
    expected = {
        "rekognition": {"train.manifest": splits.get("train", 0),
                        "test.manifest": splits.get("val", 0) + splits.get("test", 0)},
        "sagemaker": {"train.manifest": splits.get("train", 0),
                      "validation.manifest": splits.get("val", 0)},
    }  # fmt: skip
    for export, manifests in expected.items():
        entry = report["exports"][export]
        excluded = sum(entry["excluded"].values())
        lines = 0
        for name, images in manifests.items():
            # When Rekognition or SageMaker reads the root manifests
            rows = _manifest(cloud, f"{prefix}{version}.{export}.{name}")
            lines += len(rows)
            # Then each line's image is an object of the stack's bucket, in this version
            for row in rows:
                ref = row["source-ref"]
                assert ref.startswith(f"s3://{cloud.bucket}/{prefix}files/")
                assert _exists(cloud, ref.removeprefix(f"s3://{cloud.bucket}/"))
            assert len(rows) <= images
        # And every image is in a manifest or counted as left out
        assert lines + excluded == report["images"]


def test_dataset_ready_and_the_email_carry_the_export_uris(
    published: tuple[LocalCloud, SampleJob, str],
) -> None:
    # Given the same published version
    cloud, job, version = published
    # When Publish announces it
    [event] = [e for h, e in cloud.invocations if h == "handlers.publish.handler"]
    detail = ready_detail(ConversionOutcome.model_validate(event))
    # Then the Dataset Ready detail names each export's root files, every one present
    assert sorted(detail["exports"]) == sorted(EXPORTS)
    for files in detail["exports"].values():
        for uri in files.values():
            assert uri.startswith(f"s3://{cloud.bucket}/datasets/{job.job_name}/{version}.")
            assert _exists(cloud, uri.removeprefix(f"s3://{cloud.bucket}/"))
    # And so does the e-mail
    [message] = [n["Message"] for n in cloud.notifications() if "ready" in n["Subject"]]
    for files in detail["exports"].values():
        for uri in files.values():
            assert uri in message


def test_a_rerun_names_unchanged_images_from_the_version_that_stored_them(
    export_cloud: LocalCloud,
) -> None:
    # Given a published job, then the same job's output converted again with one line relabeled
    cloud = export_cloud
    job = make_sample_job(cloud.bucket, images=12, image_bucket=CUSTOMER_IMAGES)
    cloud.put_objects(job.objects)
    cloud.put_objects(job.image_objects, CUSTOMER_IMAGES)
    first = _publish(cloud, job)
    manifest = job.objects[job.manifest_key].decode().splitlines()
    line = json.loads(manifest[0])
    attribute = job.describe_response()["LabelAttributeName"]
    line[attribute]["annotations"][0]["left"] += 1
    manifest[0] = json.dumps(line)
    cloud.put_objects({job.manifest_key: ("\n".join(manifest) + "\n").encode()})
    second = _publish(cloud, job)
    assert second != first
    # When the second version's COCO is read
    prefix = f"datasets/{job.job_name}/"
    stored = set()
    for split in json.loads(cloud.dataset(prefix)["report.json"])["images_per_split"]:
        coco = json.loads(_read(cloud, f"{prefix}{second}.coco.{split}.json"))
        stored |= {image["file_name"].split("/")[1] for image in coco["images"]}
        # Then every image it names is there
        for image in coco["images"]:
            assert _exists(cloud, prefix + image["file_name"])
    # And unchanged images are named from the first version (shared, not copied again), the
    # relabeled one's pair from the second
    assert stored == {first, second}
