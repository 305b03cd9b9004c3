"""Lines that cannot be converted are not fatal: each is counted by reason and listed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gt2yolo import ConversionError, ConversionOptions, convert_manifests
from gt2yolo.fanout import plan_fan_out
from gt2yolo.memory_store import MemoryObjects, MemoryStorage
from gt2yolo.storage import LocalManifest, LocalStorage, StoredManifest
from gt2yolo_cli.main import main
from gt_builders import Workspace, box, line, record, ref


def _with(changes: dict[str, Any], base: dict[str, Any] | None = None) -> str:
    """A valid line for image `bad.jpg` with `changes` applied (None deletes a key)."""
    entry = base or record(ref("bad.jpg"), [box()])
    for key, value in changes.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return json.dumps(entry)


def _annotation(**overrides: Any) -> dict[str, Any]:
    """The `boxes` attribute with its one annotation changed (None deletes a field)."""
    entry = record(ref("bad.jpg"), [box()])["boxes"]
    for key, value in overrides.items():
        if value is None:
            del entry["annotations"][0][key]
        else:
            entry["annotations"][0][key] = value
    return dict(entry)


def _image_size(value: Any) -> dict[str, Any]:
    entry = record(ref("bad.jpg"), [box()])["boxes"]
    entry["image_size"] = value
    return dict(entry)


REJECTED_LINES = {
    "malformed_json": '{"source-ref": "s3://bucket/jobs/photos/bad.jpg", ',
    "not_an_object": '["s3://bucket/jobs/photos/bad.jpg"]',
    "missing_source_ref": _with({"source-ref": None}),
    "missing_source_ref (not a string)": _with({"source-ref": 42}),
    "invalid_source_ref (not s3)": _with({"source-ref": "https://bucket/bad.jpg"}),
    "invalid_source_ref (no key)": _with({"source-ref": "s3://bucket"}),
    "invalid_source_ref (a folder)": _with({"source-ref": "s3://bucket/jobs/"}),
    "unsafe_path (..)": _with({"source-ref": "s3://bucket/jobs/../../etc/passwd.jpg"}),
    "unsafe_path (.)": _with({"source-ref": "s3://bucket/jobs/./bad.jpg"}),
    "unsafe_path (empty segment)": _with({"source-ref": "s3://bucket/jobs//bad.jpg"}),
    "unsafe_path (control character)": _with({"source-ref": "s3://bucket/jobs/b\nad.jpg"}),
    "not_labeled": json.dumps({"source-ref": ref("bad.jpg")}),
    "failed_object": json.dumps({
        "source-ref": ref("bad.jpg"),
        "boxes-metadata": {"failure-reason": "ClientError: worker timeout", "type": "groundtruth/object-detection"},
    }),
    "missing_image_size": _with({"boxes": _image_size(None)}),
    "missing_image_size (empty list)": _with({"boxes": _image_size([])}),
    "invalid_image_size (zero width)": _with({"boxes": _image_size([{"width": 0, "height": 4}])}),
    "invalid_image_size (string)": _with({"boxes": _image_size([{"width": "5", "height": 4}])}),
    "invalid_image_size (bool)": _with({"boxes": _image_size([{"width": True, "height": 4}])}),
    "invalid_image_size (fraction)": _with({"boxes": _image_size([{"width": 5.5, "height": 4}])}),
    "invalid_image_size (no height)": _with({"boxes": _image_size([{"width": 5}])}),
    "invalid_image_size (not a list)": _with({"boxes": _image_size({"width": 5, "height": 4})}),
    "invalid_annotation (left is text)": _with({"boxes": _annotation(left="10")}),
    "invalid_annotation (left is a bool)": _with({"boxes": _annotation(left=True)}),
    "invalid_annotation (no class_id)": _with({"boxes": _annotation(class_id=None)}),
    "invalid_annotation (negative class_id)": _with({"boxes": _annotation(class_id=-1)}),
    "invalid_annotation (bool class_id)": _with({"boxes": _annotation(class_id=False)}),
    "invalid_annotation (no width)": _with({"boxes": _annotation(width=None)}),
    "invalid_annotation (NaN)": _with({"boxes": _annotation()}).replace('"left": 10', '"left": NaN'),
    "invalid_annotation (Infinity)": _with({"boxes": _annotation()}).replace('"top": 20', '"top": Infinity'),
    "invalid_annotation (annotations not a list)": _with({"boxes": {"image_size": [{"width": 5, "height": 4}], "annotations": {}}}),
    "invalid_annotation (annotation not an object)": _with({"boxes": {"image_size": [{"width": 5, "height": 4}], "annotations": [[1, 2]]}}),
    "invalid_annotation (attribute not an object)": _with({"boxes": 1}),
    "malformed_json (nested 1,000 deep)": _with({"extra": 0}).replace("0}", "[" * 1000 + "]" * 1000 + "}"),
    "malformed_json (nested 300 deep, strings hold no brackets)": _with({"extra": 0, "s": "[[{"}).replace('"extra": 0', '"extra": ' + "[" * 300 + "]" * 300),
    "malformed_json (an integer of 5,000 digits)": _with({"extra": 0}).replace('"extra": 0', '"extra": ' + "7" * 5000),
    "invalid_image_size (401 digits)": _with({"boxes": _image_size([{"width": 10**400, "height": 4}])}),
    "invalid_image_size (401 digits, negative)": _with({"boxes": _image_size([{"width": 5, "height": -(10**400)}])}),
    "invalid_annotation (401-digit left)": _with({"boxes": _annotation(left=10**400)}),
    "invalid_annotation (401-digit height)": _with({"boxes": _annotation(height=-(10**400))}),
    "invalid_annotation (class_id of 5,000 digit characters)": _with({"boxes": _annotation(class_id="9" * 5000)}),
    "unsafe_path (2,100 folders deep)": _with({"source-ref": "s3://bucket/" + "d/" * 2100 + "x.jpg"}),
    "unsafe_path (a file name of 300 bytes)": _with({"source-ref": ref("n" * 296 + ".jpg")}),
    "unsafe_path (a folder name of 251 bytes)": _with({"source-ref": ref("f" * 251 + "/x.jpg")}),
    "unsafe_path (a name of 252 bytes in 84 characters)": _with({"source-ref": ref("€" * 84)}),
    "unsafe_path (a key of 1025 bytes)": _with({"source-ref": "s3://bucket/" + "d" * 200 + "/d" * 412 + ".jpg"}),
    "unsafe_path (a 5 MB source-ref)": _with({"source-ref": ref("d/" * 2_500_000 + "x.jpg")}),
}  # fmt: skip


@pytest.mark.parametrize(("case", "bad_line"), REJECTED_LINES.items(), ids=list(REJECTED_LINES))
def test_a_line_that_cannot_be_converted_is_counted_by_reason_and_listed_with_its_origin(
    workspace: Workspace, case: str, bad_line: str
) -> None:
    # Given a manifest whose second line cannot be converted, between two good lines
    reason = case.split(" ", maxsplit=1)[0]
    lines = [line(ref("a.jpg"), [box()]), bad_line, line(ref("b.jpg"), [box()])]

    # When converting
    dataset = workspace.convert(lines, label_attribute="boxes")

    # Then the good lines convert, and the bad one is counted under its reason in report.json
    report = dataset.report
    assert report["images"] == 2
    assert report["rejected"] == {reason: 1}
    # And rejected.jsonl lists it with its manifest, line number, reason and a detail
    assert dataset.rejected == [
        {
            "manifest": str(workspace.tmp_path / "job1/output.manifest"),
            "line": 2,
            "reason": reason,
            "detail": dataset.rejected[0]["detail"],
            "source_ref": dataset.rejected[0]["source_ref"],
        }
    ]
    assert dataset.rejected[0]["detail"]
    # And the detail is short, whatever the size of the offending value
    assert len(dataset.rejected[0]["detail"]) <= 500


def test_a_line_failing_a_rule_after_its_source_ref_is_read_keeps_the_source_ref_in_the_listing(
    workspace: Workspace,
) -> None:
    # Given a line with a valid source-ref but no image size
    lines = [line(ref("a.jpg"), [box()]), _with({"boxes": _image_size(None)})]

    # When converting
    dataset = workspace.convert(lines)

    # Then rejected.jsonl names the image, so the user can find it
    assert dataset.rejected[0]["source_ref"] == ref("bad.jpg")


def test_a_failed_object_is_a_failure_even_if_the_attribute_is_present(
    workspace: Workspace,
) -> None:
    # Given a line whose metadata carries a failure-reason next to an annotation
    failed = record(ref("bad.jpg"), [box()], metadata={"failure-reason": "no consolidation"})
    lines = [line(ref("a.jpg"), [box()]), json.dumps(failed)]

    # When converting
    dataset = workspace.convert(lines)

    # Then the line is counted as a failed object
    assert dataset.report["rejected"] == {"failed_object": 1}
    assert dataset.rejected[0]["detail"] == "no consolidation"


def test_class_ids_written_as_strings_are_accepted(workspace: Workspace) -> None:
    # Given an annotation whose class_id is a string (as video jobs write "class-id")
    lines = [line(ref("a.jpg"), [box(class_id="1")], class_map=None)]

    # When converting
    dataset = workspace.convert(lines, classes=["cat", "dog"])

    # Then it is read as the number
    assert dataset.label_rows(ref("a.jpg"))[0][0] == "1"


def test_blank_lines_are_ignored_but_line_numbers_count_them(workspace: Workspace) -> None:
    # Given a manifest with blank and whitespace-only lines around a bad line
    manifest = workspace.manifest("\n" + line(ref("a.jpg"), [box()]) + "\n   \n\r\n{oops\n\n")

    # When converting
    dataset = workspace.convert(manifest)

    # Then blank lines are neither images nor rejections, and the bad line keeps its number
    report = dataset.report
    assert (report["images"], report["lines"], report["rejected"]) == (1, 2, {"malformed_json": 1})
    assert dataset.rejected[0]["line"] == 5


def test_a_manifest_with_crlf_line_ends_and_a_byte_order_mark_converts(
    workspace: Workspace,
) -> None:
    # Given a manifest saved by a Windows editor (BOM, CRLF)
    path = workspace.tmp_path / "windows.manifest"
    body = line(ref("a.jpg"), [box()]) + "\r\n" + line(ref("b.jpg"), [box()]) + "\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())

    # When converting
    dataset = workspace.convert(path)

    # Then both lines convert
    assert dataset.report["images"] == 2


def _cr_only(workspace: Workspace) -> Path:
    path = workspace.tmp_path / "old-mac.manifest"
    lines = [line(ref(f"{name}.jpg"), [box()]) for name in "abc"]
    path.write_bytes("\r".join(lines).encode() + b"\r")
    return path


def test_a_manifest_with_cr_only_line_ends_is_an_error_that_says_so_and_how_to_fix_it(
    workspace: Workspace,
) -> None:
    # Given a manifest whose lines end with a CR only (old Mac, some exporters)
    path = _cr_only(workspace)

    # When converting it from a file, from an object store, and planning its fan-out
    store = LocalStorage(workspace.tmp_path)
    messages = [workspace.fail(path)[0]]
    for source in (LocalManifest(path), StoredManifest(store, path.name)):
        with pytest.raises(ConversionError) as caught:
            plan_fan_out([source], ConversionOptions(), chunk_bytes=100)
        messages.append(str(caught.value))

    # Then each refusal says the manifest uses CR-only line ends and how to convert it
    for message in messages:
        assert "old-mac.manifest uses CR-only line ends" in message
        assert "tr '\\r' '\\n'" in message


def test_the_cli_refuses_cr_only_line_ends_on_one_line(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a manifest with CR-only line ends
    path = _cr_only(workspace)

    # When converting it with the CLI
    status = main(["convert", str(path), "--out", str(workspace.out), "--images", "skip"])

    # Then it fails on one line that says why, and writes nothing
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and "CR-only line ends" in err
    assert not workspace.out.exists()


@pytest.mark.parametrize(
    "body",
    [
        # one line ending with a CR only; a CR as whitespace inside a line; CRLF line ends
        line(ref("a.jpg"), [box()]) + "\r",
        line(ref("a.jpg"), [box()]).replace(', "boxes-metadata"', ',\r "boxes-metadata"') + "\n",
        line(ref("a.jpg"), [box()]) + "\r\n" + line(ref("b.jpg"), [box()]) + "\r\n",
    ],
    ids=["one line", "inner CR", "CRLF"],
)
def test_a_cr_that_is_no_line_end_of_cr_only_lines_converts(
    workspace: Workspace, body: str
) -> None:
    path = workspace.tmp_path / "m.manifest"
    path.write_bytes(body.encode())
    assert workspace.convert(path).report["images"] == body.count("source-ref")


def test_a_manifest_from_which_no_line_converts_is_an_error_yet_the_report_is_written(
    workspace: Workspace,
) -> None:
    # Given a manifest with only failed and unlabeled lines (and the attribute on one of them)
    failed = {"source-ref": ref("a.jpg"), "boxes-metadata": {"failure-reason": "timeout"}}
    lines = [json.dumps(failed), json.dumps({"source-ref": ref("b.jpg")}), "not json"]

    # When converting
    message, dataset = workspace.fail(lines, label_attribute="boxes")

    # Then the error names the manifest and the reasons, and points at rejected.jsonl
    assert "job1/output.manifest" in message
    assert "not one of 3 lines converts" in message
    assert "rejected.jsonl" in message
    # And report.json and rejected.jsonl explain every line
    assert dataset.report["rejected"] == {"failed_object": 1, "malformed_json": 1, "not_labeled": 1}
    assert [r["line"] for r in dataset.rejected] == [1, 2, 3]


def test_one_manifest_of_several_converting_nothing_is_an_error(workspace: Workspace) -> None:
    # Given a good manifest and one whose only line failed
    good = [line(ref("a.jpg"), [box()])]
    bad = [json.dumps({"source-ref": ref("b.jpg"), "boxes-metadata": {"failure-reason": "x"}})]

    # When converting both
    message, _ = workspace.fail(good, bad, label_attribute="boxes")

    # Then the failing manifest is named
    assert "job2/output.manifest" in message


def test_a_line_whose_dataset_key_would_be_longer_than_s3_holds_is_rejected_unsafe_path(
    workspace: Workspace,
) -> None:
    # Given a source-ref of a 1,009-byte key (S3 holds it) and a short one
    key = "/".join(["f" * 250, "g" * 250, "h" * 250, "i" * 250, "x.jpg"])
    assert len(key.encode()) < 1024
    path = workspace.manifest(
        [line(f"s3://photos/{key}", [box()]), line("s3://photos/a.jpg", [box()])]
    )

    # When converting into a dataset under an S3 prefix: the long one's keys there are longer
    objects = MemoryObjects()
    storage = MemoryStorage(objects, "s3://stack-bucket/datasets/photos/")
    convert_manifests([LocalManifest(path)], storage, ConversionOptions())

    # Then its line is a counted unsafe_path rejection naming the limit; nothing of it is written
    report = json.loads(storage.read_bytes("report.json"))
    assert (report["images"], report["rejected"]) == (1, {"unsafe_path": 1})
    rejected = json.loads(storage.read_bytes("rejected.jsonl"))
    assert rejected["line"] == 1 and "S3 holds at most 1024" in rejected["detail"]
    assert all(len(k.encode()) <= 1024 for k in objects.keys("s3://stack-bucket/"))
    assert not [k for k in objects.keys("s3://stack-bucket/") if "ffff" in k]


def test_the_longest_storable_source_ref_converts(workspace: Workspace) -> None:
    # Given a source-ref at every limit: names of 250 bytes, a key of 1024 bytes
    name = "n" * 246 + ".jpg"
    key = "/".join(["f" * 250, "g" * 250, "i" * 250, "h" * 20, name])
    assert len(key.encode()) == 1024
    lines = [line(f"s3://bucket/{key}", [box()]), line(ref("a.jpg"), [box()])]

    # When converting into a folder
    dataset = workspace.convert(lines)

    # Then the image is accepted and its label file written
    assert dataset.report["rejected"] == {}
    assert dataset.label_rows(f"s3://bucket/{key}")[0][0] == "0"


def test_an_unsafe_path_rejection_names_its_source_ref_shortened_when_huge(
    workspace: Workspace,
) -> None:
    # Given a line with `..` in its source-ref, and one whose source-ref is 5 MB long
    huge = ref("d/" * 2_500_000 + "x.jpg")
    lines = [
        line(ref("a.jpg"), [box()]),
        line("s3://bucket/jobs/../x.jpg", [box()]),
        line(huge, [box()]),
    ]

    # When converting
    dataset = workspace.convert(lines)

    # Then each rejection carries its source-ref: whole when short, start and end when huge
    first, second = dataset.rejected
    assert first["source_ref"] == "s3://bucket/jobs/../x.jpg"
    assert 2000 < len(second["source_ref"]) <= 2048
    assert second["source_ref"].startswith(huge[:900]) and second["source_ref"].endswith(
        huge[-900:]
    )
    assert f"({len(huge)} characters, shortened)" in second["source_ref"]


def test_a_failure_reason_or_verdict_of_any_size_or_type_gives_a_short_detail(
    workspace: Workspace,
) -> None:
    # Given failed lines whose failure-reason is huge, or nested deeply
    deep: Any = 0
    for _ in range(200):
        deep = [deep]
    failed = [
        json.dumps({"source-ref": ref(f"f{i}.jpg"), "boxes-metadata": {"failure-reason": reason}})
        for i, reason in enumerate(["x" * 1_000_000, deep, {"a": 10**400}])
    ]

    # When converting
    dataset = workspace.convert([line(ref("a.jpg"), [box()]), *failed], label_attribute="boxes")

    # Then each is a failed object with a detail of a few hundred characters at most
    assert [r["reason"] for r in dataset.rejected] == ["failed_object"] * 3
    assert all(0 < len(r["detail"]) <= 500 for r in dataset.rejected)


def test_a_blank_line_after_a_byte_order_mark_is_blank(workspace: Workspace) -> None:
    # Given a manifest starting with a UTF-8 byte order mark on an otherwise blank line,
    # and another such line further down (two files concatenated)
    path = workspace.tmp_path / "bom.manifest"
    body = f"{line(ref('a.jpg'), [box()])}\n\ufeff  \r\n{line(ref('b.jpg'), [box()])}\n\ufeff"
    path.write_bytes(b"\xef\xbb\xbf\r\n" + body.encode())

    # When converting
    dataset = workspace.convert(path)

    # Then the blank lines are neither images nor rejections, and line numbers count them
    assert (dataset.report["images"], dataset.report["lines"], dataset.rejected) == (2, 2, [])
    assert [r["line"] for r in dataset.images] == ["2", "4"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_a_manifest_in_utf16_or_utf32_is_refused_naming_its_encoding(
    workspace: Workspace, encoding: str
) -> None:
    # Given a manifest saved as UTF-16 or UTF-32 with a byte order mark (Windows editors do)
    path = workspace.tmp_path / "wide.manifest"
    text = "\ufeff" + line(ref("a.jpg"), [box()]) + "\n" + line(ref("b.jpg"), [box()]) + "\n"
    path.write_bytes(text.encode(encoding))

    # When converting
    message, dataset = workspace.fail(path)

    # Then one error names the encoding found and how to convert, and nothing is written
    assert encoding.upper() in message and "UTF-8" in message and "iconv" in message
    assert not dataset.root.exists()


def test_a_utf16_line_without_byte_order_mark_is_malformed_with_a_hint(
    workspace: Workspace,
) -> None:
    # Given one line in UTF-16 among UTF-8 lines
    path = workspace.tmp_path / "mixed.manifest"
    path.write_bytes(
        (line(ref("a.jpg"), [box()]) + "\n").encode()
        + line(ref("b.jpg"), [box()]).encode("utf-16-le")
        + b"\n"
    )

    # When converting
    dataset = workspace.convert(path)

    # Then it is a malformed line whose detail suggests the encoding
    assert dataset.report["rejected"] == {"malformed_json": 1}
    assert "UTF-16" in dataset.rejected[0]["detail"]


def test_a_label_file_clashing_with_a_label_folder_rejects_the_later_line_not_the_run(
    workspace: Workspace,
) -> None:
    # Given images whose label paths are a file and a folder of one name (`d.txt`, `d.txt/`)
    names = ["d.jpg", "d.txt/x.jpg", "e.txt/y.jpg", "e.png"]
    lines = [line(ref(name), [box()]) for name in names]

    # When converting into a folder (one split: the label files share a folder)
    dataset = workspace.convert(lines, val=0)

    # Then each later image of a clash is rejected as unsafe_path, naming its label file
    assert dataset.report["images"] == 2
    assert [(r["line"], r["reason"], r["source_ref"]) for r in dataset.rejected] == [
        (2, "unsafe_path", ref("d.txt/x.jpg")),
        (4, "unsafe_path", ref("e.png")),
    ]
    assert "labels/train/e.txt" in dataset.rejected[1]["detail"]
    # And the images before them keep their label files
    assert dataset.label_rows(ref("d.jpg")) and dataset.label_rows(ref("e.txt/y.jpg"))
