"""`gt2yolo convert`: the core on a laptop, with one-line actionable errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from gt2yolo_cli.main import build_parser, main
from gt_builders import Workspace, box, label_config, line, ref

OPTIONS = [
    "--out", "--label-attribute", "--label-config", "--val-fraction", "--test-fraction",
    "--images", "--images-from", "--verification-attribute", "--accept", "--layout",
    "--on-duplicate", "--no-progress",
]  # fmt: skip


def _config(workspace: Workspace, *names: str) -> Path:
    path = workspace.tmp_path / "data.json"
    path.write_bytes(label_config(*names))
    return path


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert err.startswith("gt2yolo: error: ")
    return err


def test_convert_writes_the_dataset_and_returns_zero(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a manifest and its label config
    manifest = workspace.manifest([line(ref("a/x.jpg"), [box(1)]), line(ref("b/y.jpg"), [])])
    config = _config(workspace, "cat", "dog")

    # When running the command
    status = main([
        "convert", str(manifest), "--out", str(workspace.out), "--label-config", str(config),
        "--images", "skip", "--val-fraction", "0", "--no-progress",
    ])  # fmt: skip

    # Then it succeeds, writes a portable dataset (no path in data.yaml), and summarizes
    assert status == 0
    document = yaml.safe_load((workspace.out / "data.yaml").read_text())
    assert "path" not in document
    assert document["names"] == {0: "cat", 1: "dog"}
    assert (workspace.out / "labels/train/a/x.txt").read_text().startswith("1 ")
    assert not (workspace.out / "images").exists()
    assert "2 images" in capsys.readouterr().out


def test_a_missing_manifest_is_a_one_line_error(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a manifest path that does not exist
    missing = workspace.tmp_path / "nope.manifest"

    # When running the command
    status = main(["convert", str(missing), "--out", str(workspace.out), "--images", "skip"])

    # Then it fails with one line naming the file
    assert status != 0
    assert str(missing) in _error_line(capsys)


@pytest.mark.parametrize(
    ("document", "expected"),
    [(b"{", "not valid JSON"), (b'{"labels": []}', "non-empty"), (None, "not found")],
)
def test_a_bad_label_config_is_a_one_line_error(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], document: bytes | None, expected: str
) -> None:
    # Given an unusable (or missing) label config
    manifest = workspace.manifest([line(ref("a.jpg"), [box()])])
    config = workspace.tmp_path / "data.json"
    if document is not None:
        config.write_bytes(document)

    # When running the command
    status = main([
        "convert", str(manifest), "--out", str(workspace.out), "--label-config", str(config),
        "--images", "skip",
    ])  # fmt: skip

    # Then it fails with one line saying what is wrong
    assert status != 0
    assert expected in _error_line(capsys)


def test_an_ambiguous_label_attribute_is_a_one_line_error(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a manifest with two bounding-box attributes
    manifest = workspace.manifest([
        line(ref("a.jpg"), [box()], attr="cars"), line(ref("b.jpg"), [box()], attr="trucks"),
    ])  # fmt: skip

    # When running the command without --label-attribute
    status = main(["convert", str(manifest), "--out", str(workspace.out), "--images", "skip"])

    # Then it fails with one line listing the candidates and the option to use
    assert status != 0
    message = _error_line(capsys)
    assert "cars" in message and "trucks" in message and "--label-attribute" in message


def test_invalid_fractions_are_a_one_line_error(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a val fraction of 1
    manifest = workspace.manifest([line(ref("a.jpg"), [box()])])

    # When running the command
    status = main([
        "convert", str(manifest), "--out", str(workspace.out), "--images", "skip",
        "--val-fraction", "1",
    ])  # fmt: skip

    # Then it fails with one line
    assert status != 0
    assert "fraction" in _error_line(capsys)


def test_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the convert command
    # When asking for its help
    with pytest.raises(SystemExit) as exited:
        main(["convert", "--help"])
    text = capsys.readouterr().out

    # Then it exits 0 and names and explains every option
    assert exited.value.code == 0
    for option in OPTIONS:
        assert option in text, option
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    convert = commands.choices["convert"]
    for action in convert._actions:
        assert action.help, f"{action.option_strings or action.dest} has no help"


def test_images_copy_from_a_local_folder_keeps_subfolders_under_the_split(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given images synced to a local folder (keys relative to the common prefix)
    synced = workspace.tmp_path / "synced"
    for key in ("a/x.jpg", "b/c/y.jpg", "images/z.jpg"):
        (synced / key).parent.mkdir(parents=True, exist_ok=True)
        (synced / key).write_bytes(f"pixels of {key}".encode())
    names = ["a/x.jpg", "b/c/y.jpg", "images/z.jpg", "gone.jpg"]
    manifest = workspace.manifest([line(ref(n), [box()]) for n in names])

    # When converting with --images copy --images-from
    status = main([
        "convert", str(manifest), "--out", str(workspace.out), "--images", "copy",
        "--images-from", str(synced), "--val-fraction", "0", "--no-progress",
    ])  # fmt: skip

    # Then each image is copied into images/<split>/ with its subfolders
    assert status == 0
    out = workspace.out
    assert (out / "images/train/a/x.jpg").read_bytes() == b"pixels of a/x.jpg"
    assert (out / "images/train/b/c/y.jpg").read_bytes() == b"pixels of b/c/y.jpg"
    assert (out / "images/train/images_/z.jpg").read_bytes() == b"pixels of images/z.jpg"
    # And the missing image is a counted rejection, with neither a label file nor a list entry
    rejected = [json.loads(r) for r in (out / "rejected.jsonl").read_text().splitlines()]
    assert [(r["reason"], r["source_ref"]) for r in rejected] == [
        ("image_not_found", ref("gone.jpg"))
    ]
    assert json.loads((out / "report.json").read_text())["rejected"] == {"image_not_found": 1}
    assert not (out / "labels/train/gone.txt").exists()
    assert "gone.jpg" not in (out / "train.txt").read_text()
    # And every listed image exists beside its label file, as YOLO loaders expect
    for entry in (out / "train.txt").read_text().splitlines():
        image = out / entry
        assert image.is_file()
        assert (out / "labels" / image.relative_to(out / "images")).with_suffix(".txt").is_file()


def test_layout_flat_copies_colliding_images_from_a_local_folder_to_their_flat_names(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given synced images, two sharing a stem, and a manifest over them
    synced = workspace.tmp_path / "synced"
    keys = ("a/b/x.jpg", "a/b/x.png", "c/y.jpg")
    for key in keys:
        (synced / key).parent.mkdir(parents=True, exist_ok=True)
        (synced / key).write_bytes(f"pixels of {key}".encode())
    manifest = workspace.manifest([line(ref(k), [box()]) for k in keys])

    # When converting with --layout flat
    status = main([
        "convert", str(manifest), "--out", str(workspace.out), "--images-from", str(synced),
        "--val-fraction", "0", "--layout", "flat", "--no-progress",
    ])  # fmt: skip

    # Then each image is copied directly into images/train/ under its flat, unique name
    assert status == 0
    images = workspace.out / "images/train"
    assert {p.name: p.read_bytes() for p in images.iterdir()} == {
        "a%2Fb%2Fx.jpg": b"pixels of a/b/x.jpg",
        "a%2Fb%2Fx~2.png": b"pixels of a/b/x.png",
        "c%2Fy.jpg": b"pixels of c/y.jpg",
    }
    labels = {p.name for p in (workspace.out / "labels/train").iterdir()}
    assert labels == {"a%2Fb%2Fx.txt", "a%2Fb%2Fx~2.txt", "c%2Fy.txt"}
    # And the summary says an image was renamed
    assert "renamed images: 1" in capsys.readouterr().out


def test_a_source_ref_on_two_lines_is_a_one_line_error_naming_the_option(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given one image on two labeled lines
    manifest = workspace.manifest([line(ref("x.jpg"), [box()]), line(ref("x.jpg"), [box()])])

    # When converting without --on-duplicate
    status = main(["convert", str(manifest), "--out", str(workspace.out), "--images", "skip"])

    # Then it fails on one line that names the option, and writes nothing
    assert status == 1
    assert "--on-duplicate" in _error_line(capsys)
    assert not workspace.out.exists()


def test_on_duplicate_last_keeps_the_last_line_of_a_source_ref(workspace: Workspace) -> None:
    # Given one image on two labeled lines, with different classes
    lines = [line(ref("x.jpg"), [box(0)]), line(ref("x.jpg"), [box(1)])]
    manifest = workspace.manifest(lines)

    # When converting with --on-duplicate last
    status = main([
        "convert", str(manifest), "--out", str(workspace.out), "--images", "skip",
        "--val-fraction", "0", "--on-duplicate", "last", "--no-progress",
    ])  # fmt: skip

    # Then the second line's boxes are the image's, the first line a counted rejection
    assert status == 0
    assert (workspace.out / "labels/train/x.txt").read_text().startswith("1 ")
    report = json.loads((workspace.out / "report.json").read_text())
    assert report["rejected"] == {"duplicate_source_ref": 1}


@pytest.mark.parametrize("keep", ["first", "last"])
def test_a_manifest_whose_lines_all_duplicate_another_manifests_converts_with_on_duplicate(
    workspace: Workspace, keep: str
) -> None:
    # Given train and validation manifests cut from one output.manifest, the validation one
    # holding only lines that the train one holds too
    train = workspace.manifest([line(ref("a.jpg"), [box(0)]), line(ref("b.jpg"), [box(1)])],
                               "train.manifest")  # fmt: skip
    validation = workspace.manifest([line(ref("b.jpg"), [box(1)])], "validation.manifest")

    # When converting both, keeping the first or the last line of each image
    status = main([
        "convert", str(train), str(validation), "--out", str(workspace.out), "--images", "skip",
        "--on-duplicate", keep, "--no-progress",
    ])  # fmt: skip

    # Then both succeed with both images: the dropped lines are counted, and with `first`
    # report.json says the validation manifest has no image of its own
    assert status == 0
    report = json.loads((workspace.out / "report.json").read_text())
    assert (report["images"], report["rejected"]) == (2, {"duplicate_source_ref": 1})
    own = [w for w in report["warnings"] if "no image of its own" in w]
    assert own == ([f"{validation}: no image of its own: its 1 line(s) name images of other "
                    "lines, dropped as --on-duplicate first asked"] if keep == "first" else [])  # fmt: skip


def test_a_manifest_of_duplicates_and_unusable_lines_still_converts_with_on_duplicate(
    workspace: Workspace,
) -> None:
    # Given a second manifest holding one duplicate and one broken line
    first = workspace.manifest([line(ref("a.jpg"), [box(0)])], "a.manifest")
    second = workspace.manifest([line(ref("a.jpg"), [box(0)]), '{"source-ref": '], "b.manifest")

    # When converting with --on-duplicate first
    status = main([
        "convert", str(first), str(second), "--out", str(workspace.out), "--images", "skip",
        "--on-duplicate", "first", "--no-progress",
    ])  # fmt: skip

    # Then its duplicate was usable (its image is in the dataset): the run succeeds
    assert status == 0
    report = json.loads((workspace.out / "report.json").read_text())
    assert report["rejected"] == {"duplicate_source_ref": 1, "malformed_json": 1}


def test_a_manifest_of_which_no_line_is_usable_still_fails_with_on_duplicate(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a second manifest whose one line has no image size
    first = workspace.manifest([line(ref("a.jpg"), [box(0)])], "a.manifest")
    second = workspace.manifest([line(ref("z.jpg"), [box(0)], width=None)], "b.manifest")

    # When converting with --on-duplicate first
    status = main([
        "convert", str(first), str(second), "--out", str(workspace.out), "--images", "skip",
        "--on-duplicate", "first", "--no-progress",
    ])  # fmt: skip

    # Then it fails naming the manifest and the reason
    assert status == 1
    message = _error_line(capsys)
    assert "b.manifest: not one of 1 lines converts (invalid_image_size: 1)" in message


def test_images_skip_writes_no_images(workspace: Workspace) -> None:
    # Given a manifest
    manifest = workspace.manifest([line(ref("a.jpg"), [box()])])

    # When converting with --images skip
    status = main(["convert", str(manifest), "--out", str(workspace.out), "--images", "skip"])

    # Then everything but images is written
    assert status == 0
    assert not (workspace.out / "images").exists()
    assert (workspace.out / "report.json").is_file()


def test_images_from_with_images_skip_is_a_one_line_error(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given contradictory options
    manifest = workspace.manifest([line(ref("a.jpg"), [box()])])

    # When running the command
    status = main([
        "convert", str(manifest), "--out", str(workspace.out), "--images", "skip",
        "--images-from", str(workspace.tmp_path),
    ])  # fmt: skip

    # Then it fails and says which option is needed
    assert status != 0
    assert "--images copy" in _error_line(capsys)


def test_the_accept_option_chooses_the_verification_verdicts(workspace: Workspace) -> None:
    # Given lines verified "ok" and "bad"
    lines = [
        line(ref(f"{v}.jpg"), [box()], extra_attrs={
            "check": 0, "check-metadata": {"class-name": v, "type": "groundtruth/label-verification"},
        })
        for v in ("ok", "bad")
    ]  # fmt: skip
    manifest = workspace.manifest(lines)

    # When converting with --verification-attribute check --accept ok
    status = main([
        "convert", str(manifest), "--out", str(workspace.out), "--images", "skip",
        "--verification-attribute", "check", "--accept", "ok",
    ])  # fmt: skip

    # Then only the ok line is an image
    assert status == 0
    report = json.loads((workspace.out / "report.json").read_text())
    assert (report["images"], report["rejected"]) == (1, {"verification_rejected": 1})


def test_the_installed_command_runs(workspace: Workspace) -> None:
    # Given the console script installed by the project's packaging
    script = Path(sys.executable).parent / "gt2yolo"
    manifest = workspace.manifest([line(ref("a.jpg"), [box()])])

    # When running it as a user would
    done = subprocess.run(
        [str(script), "convert", str(manifest), "--out", str(workspace.out), "--images", "skip"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip

    # Then it converts
    assert done.returncode == 0, done.stderr
    assert (workspace.out / "classes.txt").read_text() == "cat\n"
