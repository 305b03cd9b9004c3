"""`gt2yolo convert --out DIR`: the dataset appears whole, or DIR stays exactly as it was.

The dataset is written into a sibling folder and swapped in only when the run succeeded; a
folder that is not one of our datasets is refused, never deleted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gt2yolo.tasks.detect.yolo import DetectWriter
from gt2yolo_cli import output
from gt2yolo_cli.main import main
from gt_builders import Workspace, box, line, ref


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes (folders as empty entries)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(root.rglob("*"))
    }


def _convert(workspace: Workspace, names: list[str], *extra: str) -> int:
    """Run `gt2yolo convert` on a manifest of one box per image, copying images from `synced/`."""
    synced = workspace.tmp_path / "synced"
    for name in names:
        (synced / name).parent.mkdir(parents=True, exist_ok=True)
        (synced / name).write_bytes(f"pixels of {name}".encode())
    manifest = workspace.manifest([line(ref(n), [box()]) for n in names])
    return main([
        "convert", str(manifest), "--out", str(workspace.out), "--images-from", str(synced),
        "--val-fraction", "0", "--no-progress", *extra,
    ])  # fmt: skip


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("gt2yolo: error: ") and err.count("\n") == 1, err
    return err


def _siblings(workspace: Workspace) -> set[str]:
    return (
        {p.name for p in workspace.out.parent.iterdir()}
        - {"synced"}
        - {p.name for p in workspace.tmp_path.glob("job*")}
    )


def test_a_new_out_folder_receives_the_dataset_and_the_marker(workspace: Workspace) -> None:
    # Given --out a folder that does not exist yet, below folders that do not either
    workspace.out = workspace.tmp_path / "deep/er/dataset"

    # When converting
    assert _convert(workspace, ["a.jpg"]) == 0

    # Then the dataset is there, marked as ours, and nothing else is left beside it
    assert (workspace.out / "labels/train/a.txt").is_file()
    assert (workspace.out / "images/train/a.jpg").read_bytes() == b"pixels of a.jpg"
    assert (workspace.out / output.MARKER).is_file()
    assert [p.name for p in workspace.out.parent.iterdir()] == ["dataset"]


def test_an_empty_out_folder_receives_the_dataset(workspace: Workspace) -> None:
    # Given an empty folder as --out
    workspace.out.mkdir()

    # When converting
    # Then it holds the dataset
    assert _convert(workspace, ["a.jpg"]) == 0
    assert (workspace.out / "data.yaml").is_file()


def test_a_run_into_one_of_our_datasets_replaces_it_whole(workspace: Workspace) -> None:
    # Given a dataset of a.jpg and b.jpg, and a file someone added to it
    assert _convert(workspace, ["a.jpg", "sub/b.jpg"]) == 0
    (workspace.out / "notes.txt").write_text("mine")

    # When converting a manifest of c.jpg alone into the same folder
    assert _convert(workspace, ["c.jpg"]) == 0

    # Then only the new dataset is there: no label file, image or other file of the old one
    files = set(_tree(workspace.out))
    assert {"labels/train/c.txt", "images/train/c.jpg", "data.yaml"} <= files
    names = {Path(f).name for f in files}
    assert not names & {"a.jpg", "a.txt", "b.jpg", "b.txt", "sub", "notes.txt"}
    # And no sibling folder is left behind
    assert _siblings(workspace) == {"dataset"}


def test_a_dataset_from_before_the_marker_is_recognized_by_data_yaml_and_report_json(
    workspace: Workspace,
) -> None:
    # Given a dataset without the marker (an earlier release's, or one synced down from S3)
    assert _convert(workspace, ["a.jpg"]) == 0
    (workspace.out / output.MARKER).unlink()

    # When converting into it
    assert _convert(workspace, ["c.jpg"]) == 0

    # Then it is replaced
    assert not (workspace.out / "labels/train/a.txt").exists()


@pytest.mark.parametrize(
    "files",
    [
        {"photo.jpg": b"holiday"},
        {"data.yaml": b"names: {0: cat}\n"},  # someone else's YOLO dataset
        {"data.yaml": b"x", "report.json": b'{"images": 3}'},  # not our report
        {"data.yaml": b"x", "report.json": b"not json"},
        {"sub/deeper/file.txt": b"x"},
    ],
    ids=[
        "a photo",
        "data.yaml alone",
        "another report.json",
        "a broken report.json",
        "a subfolder",
    ],
)
def test_a_non_empty_folder_that_is_not_our_dataset_is_refused_and_left_byte_identical(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], files: dict[str, bytes]
) -> None:
    # Given --out a folder holding files that are not a gt2yolo dataset
    for name, data in files.items():
        (workspace.out / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace.out / name).write_bytes(data)
    before = _tree(workspace.out)

    # When converting into it
    status = _convert(workspace, ["a.jpg"])

    # Then the run is refused with one line saying why, and nothing was changed or left
    assert status == 1
    assert "not a gt2yolo dataset" in _error_line(capsys)
    assert _tree(workspace.out) == before
    assert _siblings(workspace) == {"dataset"}


def test_out_naming_a_file_is_refused(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given --out an existing file
    workspace.out.write_bytes(b"keep me")

    # When converting
    # Then it is refused and the file kept
    assert _convert(workspace, ["a.jpg"]) == 1
    assert "is a file" in _error_line(capsys)
    assert workspace.out.read_bytes() == b"keep me"


def test_out_holding_an_input_of_the_run_is_refused(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a dataset of ours into which the user put the manifest to convert
    assert _convert(workspace, ["a.jpg"]) == 0
    manifest = workspace.out / "next.manifest"
    manifest.write_text(line(ref("c.jpg"), [box()]) + "\n")
    before = _tree(workspace.out)

    # When converting that manifest into that folder
    status = main(["convert", str(manifest), "--out", str(workspace.out), "--images", "skip"])

    # Then it is refused (replacing the folder would delete the manifest), nothing changed
    assert status == 1
    assert "which the run reads" in _error_line(capsys)
    assert _tree(workspace.out) == before


def _fail_on_image(monkeypatch: pytest.MonkeyPatch, number: int, error: BaseException) -> None:
    """Make DetectWriter raise `error` on the `number`th image, whichever way it is written
    (add_kept_image for an image whose boxes were all kept as drawn, add_image otherwise)."""
    calls = {"n": 0}

    def failing(original: Callable[..., Any]) -> Callable[..., Any]:
        def write(self: DetectWriter, *args: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == number:
                raise error
            return original(self, *args)

        return write

    for name in ("add_image", "add_kept_image"):
        monkeypatch.setattr(DetectWriter, name, failing(getattr(DetectWriter, name)))


@pytest.mark.parametrize(
    "error", [OSError(28, "No space left on device"), KeyboardInterrupt()], ids=["disk full", "^C"]
)
def test_a_run_failing_mid_way_leaves_the_old_dataset_byte_identical(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    # Given a dataset, and a second run that fails after writing some label files and images
    assert _convert(workspace, ["a.jpg", "b.jpg"]) == 0
    before = _tree(workspace.out)
    _fail_on_image(monkeypatch, 3, error)

    # When it fails
    if isinstance(error, KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            _convert(workspace, ["c.jpg", "d.jpg", "e.jpg", "f.jpg"])
    else:
        assert _convert(workspace, ["c.jpg", "d.jpg", "e.jpg", "f.jpg"]) == 1

    # Then the old dataset is there byte for byte, and its half-written successor is gone
    assert _tree(workspace.out) == before
    assert _siblings(workspace) == {"dataset"}


def test_unusable_input_leaves_out_as_it_was_and_keeps_the_attempt_beside_it(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a dataset, and a manifest from which no line converts
    assert _convert(workspace, ["a.jpg"]) == 0
    before = _tree(workspace.out)
    failed_line = {"source-ref": ref("x.jpg"), "boxes-metadata": {"failure-reason": "timeout"}}
    bad = workspace.manifest(["{oops", json.dumps(failed_line)])

    # When converting it into the dataset's folder, twice
    for _ in range(2):
        status = main([
            "convert", str(bad), "--out", str(workspace.out), "--images", "skip",
            "--label-attribute", "boxes",
        ])  # fmt: skip

        # Then the run fails with one line naming the attempt's folder, and --out is unchanged
        assert status == 1
        message = _error_line(capsys)
        failed = workspace.out.with_name("dataset.failed")
        assert "not one of 2 lines converts" in message and str(failed) in message
        assert _tree(workspace.out) == before
        # And the attempt explains every line (the second attempt replaced the first)
        reasons = [
            json.loads(r)["reason"] for r in (failed / "rejected.jsonl").read_text().splitlines()
        ]
        assert reasons == ["malformed_json", "failed_object"]
    assert _siblings(workspace) == {"dataset", "dataset.failed"}


def test_the_swap_renames_sibling_folders_and_puts_the_old_dataset_back_if_it_fails(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a dataset, and a file system whose second rename of the swap fails
    assert _convert(workspace, ["a.jpg"]) == 0
    before = _tree(workspace.out)
    renames: list[tuple[Path, Path]] = []
    real_rename = os.rename

    def rename(source: Any, destination: Any) -> None:
        renames.append((Path(source), Path(destination)))
        if len(renames) == 2:
            raise OSError(5, "Input/output error")
        real_rename(source, destination)

    monkeypatch.setattr(output.os, "rename", rename)

    # When converting into it
    status = _convert(workspace, ["c.jpg"])

    # Then every rename was between siblings of --out (one file system: atomic, never a copy)
    assert status == 1
    assert all(p.parent == workspace.out.parent for pair in renames for p in pair)
    # And the old dataset is back in place, byte for byte, with nothing left beside it
    assert _tree(workspace.out) == before
    assert _siblings(workspace) == {"dataset"}
    _error_line(capsys)


def test_out_through_a_symlink_replaces_the_folder_it_names(workspace: Workspace) -> None:
    # Given --out a symlink to a dataset folder
    real = workspace.tmp_path / "real"
    workspace.out = real
    assert _convert(workspace, ["a.jpg"]) == 0
    link = workspace.tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)

    # When converting through the link
    workspace.out = link
    assert _convert(workspace, ["c.jpg"]) == 0

    # Then the link still names the folder, which holds the new dataset
    assert link.is_symlink() and (real / "labels/train/c.txt").is_file()
    assert not (real / "labels/train/a.txt").exists()
