"""`gt2yolo convert M... --out DIR --continue-from PREV`: a local dataset that grows keeps its
class ids (new classes appended, by name) and every image's split."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gt2yolo import ConversionOptions
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.incremental import Baseline, convert_version
from gt2yolo.split import SplitFractions
from gt2yolo.storage import LocalManifest, LocalStorage, MirrorImageSink, S3Mirror
from gt2yolo.versions import new_version_id, publish_version
from gt2yolo_cli.main import main
from gt_builders import PREFIX, Workspace, box, label_config, line, record, ref
from task_builders import classification_record


def _config(workspace: Workspace, name: str, *classes: str) -> Path:
    path: Path = workspace.tmp_path / name
    path.write_bytes(label_config(*classes))
    return path


def _convert(*args: str | Path) -> None:
    assert main(["convert", *map(str, args), "--images", "skip", "--no-progress"]) == 0


def _label_of(root: Path) -> dict[str, str]:
    """Each image's label file (by source-ref: a dataset path follows the common folder)."""
    with (root / "images.csv").open(encoding="utf-8", newline="") as stream:
        return {
            row["source_ref"]: (root / row["label"]).read_text() for row in csv.DictReader(stream)
        }


def _splits(root: Path) -> dict[str, str]:
    with (root / "images.csv").open(encoding="utf-8", newline="") as stream:
        return {row["source_ref"]: row["split"] for row in csv.DictReader(stream)}


def _report(root: Path) -> dict[str, object]:
    return dict(json.loads((root / "report.json").read_text()))


def test_growing_a_dataset_in_three_steps_keeps_every_class_id_and_split(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given batch 1 (cat, dog), batch 2 with its own config (bird, dog, cat) and no class-maps,
    # batch 3 whose config adds fish
    one = workspace.manifest([line(ref(f"one/{i}.jpg"), [box(i % 2)]) for i in range(12)])
    two = workspace.manifest(
        [line(ref(f"two/{i}.jpg"), [box(i % 3)], class_map=None) for i in range(12)]
    )
    three = workspace.manifest([
        line(ref(f"three/{i}.jpg"), [box(0)], class_map={"0": "fish"}) for i in range(6)
    ])  # fmt: skip
    first, second, third = (workspace.tmp_path / n for n in ("v1", "v2", "v3"))
    _convert(one, "--out", first, "--label-config", _config(workspace, "1.json", "cat", "dog"))
    # When growing it: batch 2 with other split fractions, then batch 3 in place
    _convert(one, two, "--out", second, "--continue-from", first, "--val-fraction", "0.5",
             "--label-config", _config(workspace, "2.json", "bird", "dog", "cat"))  # fmt: skip
    assert "classes appended after" in capsys.readouterr().out
    later = _config(workspace, "3.json", "bird", "dog", "cat", "fish")  # batch 3's config
    for prev in (second, third):  # the third step twice: a dataset continued in place
        _convert(one, two, three, "--out", third, "--continue-from", prev, "--val-fraction", "0.5",
                 "--label-config", later)  # fmt: skip
    # Then every old label file keeps its bytes, and every image its split
    for old, new in ((first, second), (second, third)):
        labels = _label_of(new)
        assert all(labels[key] == text for key, text in _label_of(old).items())
        splits = _splits(new)
        assert all(splits[ref_] == split for ref_, split in _splits(old).items())
    assert _report(third)["classes"] == ["cat", "dog", "bird", "fish"]
    # batch 2's id 0 is its own config's bird: class 2 after cat and dog
    assert _label_of(second)[ref("two/0.jpg")].startswith("2 ")


def test_a_prev_with_another_class_order_than_the_manifests_config_is_mapped_by_name(
    workspace: Workspace,
) -> None:
    prev = workspace.tmp_path / "prev"
    old = workspace.manifest([line(ref("a.jpg"), [box(0), box(1)])])
    _convert(old, "--out", prev, "--label-config", _config(workspace, "old.json", "cat", "dog"))
    # the new job's config says dog, cat; its lines give ids only
    new = workspace.manifest([line(ref("b.jpg"), [box(0)], class_map=None)])
    out = workspace.tmp_path / "out"
    _convert(old, new, "--out", out, "--continue-from", prev,
             "--label-config", _config(workspace, "new.json", "dog", "cat"))  # fmt: skip
    assert _label_of(out)[ref("b.jpg")].startswith("1 ")  # dog keeps PREV's id 1
    assert _report(out)["classes"] == ["cat", "dog"]


def test_a_published_dataset_with_current_json_can_be_continued(workspace: Workspace) -> None:
    root = workspace.tmp_path / "datasets" / "pets"
    manifest = workspace.manifest([line(ref("a.jpg"), [box(1)])])
    objects = LocalStorage(root)
    options = ConversionOptions(
        class_list=class_list_from_label_config(label_config("cat", "dog"), "c.json"),
        fractions=SplitFractions(0.2),
    )
    version = new_version_id(datetime(2026, 3, 1, tzinfo=UTC), token="00000a")
    mirror = workspace.tmp_path / "mirror"
    (mirror / PREFIX.removeprefix("s3://")).mkdir(parents=True)
    (mirror / PREFIX.removeprefix("s3://") / "a.jpg").write_bytes(b"jpeg")
    storage = LocalStorage(root)
    convert_version([LocalManifest(manifest)], objects, storage, options, version,
                    Baseline.of(objects), MirrorImageSink(S3Mirror(mirror), storage))  # fmt: skip
    publish_version(objects, version, 3, job_name="pets")
    assert (root / "current.json").exists() and not (root / "report.json").exists()
    more = workspace.manifest([line(ref("b.jpg"), [box(0)], class_map={"0": "dog"})])
    out = workspace.tmp_path / "out"
    _convert(manifest, more, "--out", out, "--continue-from", root)
    assert _report(out)["classes"] == ["cat", "dog"]
    assert _label_of(out)[ref("b.jpg")].startswith("1 ")


def test_continuing_from_what_is_not_a_dataset_of_ours_is_a_one_line_error(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = workspace.manifest([line(ref("a.jpg"), [box(0)])])
    empty = workspace.tmp_path / "empty"
    empty.mkdir()
    status = main(["convert", str(manifest), "--out", str(workspace.out), "--images", "skip",
                   "--no-progress", "--continue-from", str(empty)])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and "is not a dataset of gt2yolo" in err


def test_continuing_a_dataset_of_another_task_is_refused(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    prev = workspace.tmp_path / "prev"
    _convert(workspace.manifest([line(ref("a.jpg"), [box(0)])]), "--out", prev)
    pets = workspace.manifest([json.dumps(classification_record(ref("b.jpg"), 0, "cat"))])
    status = main(["convert", str(pets), "--out", str(workspace.out), "--images", "skip",
                   "--no-progress", "--continue-from", str(prev)])  # fmt: skip
    assert status == 1 and "is a detect dataset" in capsys.readouterr().err


def test_unused_record_builder_is_the_line_builder() -> None:
    assert json.loads(line(ref("a.jpg"))) == record(ref("a.jpg"))
