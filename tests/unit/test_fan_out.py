"""Fan-out: a manifest cut into chunks, converted apart and merged, is the single-pass dataset.

Class order, split, every table row and every rejected line with its line number are the same,
byte for byte, whatever the chunk size.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from gt2yolo import ConversionError, ConversionOptions, convert_manifests
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.fanout import Chunk, FanOutPlan, ManifestChunk, convert_chunk, finalize, plan_fan_out
from gt2yolo.names import OnDuplicate
from gt2yolo.split import SplitFractions
from gt2yolo.storage import LocalManifest, LocalStorage
from gt_builders import box, label_config, line, record, ref, verification
from hypothesis import given, settings
from hypothesis import strategies as st


def _messy_lines(count: int, tag: str = "") -> list[str]:
    """Accepted, background, clamped, dropped and rejected lines, blank lines among them."""
    lines: list[str] = []
    for i in range(count):
        kind = i % 9
        folder = f"cam{i % 3}{tag}"
        if kind == 0:
            lines.append(line(ref(f"{folder}/img{i}.jpg"), [box(0), box(1, left=480, width=90)]))
        elif kind == 1:
            lines.append(line(ref(f"{folder}/img{i}.png"), []))
        elif kind == 2:
            lines.append('{"source-ref": "s3://bucket/jobs/photos/broken.jpg", "boxes": ')
        elif kind == 3:
            lines.append("")
        elif kind == 4:
            lines.append(json.dumps({"source-ref": ref(f"{folder}/unlabeled{i}.jpg")}))
        elif kind == 5:
            lines.append(line(ref(f"{folder}/img{i}.jpg"), [box(2, width=0), box(3), box(3)]))
        elif kind == 6:
            lines.append(line(ref(f"{folder}/big{i}.jpg"), [box(1, left=-20, top=-20)]))
        elif kind == 7:
            lines.append(json.dumps(record(ref(f"{folder}/x{i}.jpg"), [box(0)], width=None)))
        else:
            lines.append(line(ref(f"other/{folder}/ünï cödé {i}.jpeg"), [box(1)]))
    return lines


def _options(classes: Sequence[str] | None = ("cat", "dog", "bird", "fish")) -> ConversionOptions:
    return ConversionOptions(
        class_list=None
        if classes is None
        else class_list_from_label_config(label_config(*classes), "config.json"),
        fractions=SplitFractions(val=0.2, test=0.1),
    )


def _write(path: Path, lines: Sequence[str]) -> LocalManifest:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{entry}\n" for entry in lines), encoding="utf-8")
    return LocalManifest(path)


def _fan_out(
    manifests: Sequence[LocalManifest], out: Path, options: ConversionOptions, chunk_bytes: int
) -> FanOutPlan:
    plan = plan_fan_out(manifests, options, chunk_bytes)
    # Through JSON, as the state machine hands the plan to the chunks and to the merge.
    plan = FanOutPlan.from_json(plan.to_json())
    by_name = {m.name: m for m in manifests}
    storage = LocalStorage(out)
    for item in reversed([c.as_item() for c in plan.chunks]):  # any order: chunks run in parallel
        chunk = Chunk.from_item(json.loads(json.dumps(item)))
        convert_chunk(plan, chunk, by_name[chunk.manifest], storage, options)
    finalize(plan, storage, storage, options)
    return plan


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("chunk_bytes", [1, 300, 4096, 10**9])
def test_fan_out_writes_the_single_pass_dataset_byte_for_byte(
    tmp_path: Path, chunk_bytes: int
) -> None:
    # Given two messy manifests (rejections, blank lines, clamps, drops, non-ASCII paths)
    manifests = [
        _write(tmp_path / "in/a/output.manifest", _messy_lines(60)),
        _write(tmp_path / "in/b/output.manifest", _messy_lines(23, tag="b")[5:]),
    ]

    # When converting in one pass and through the fan-out
    convert_manifests(manifests, LocalStorage(tmp_path / "single"), _options())
    plan = _fan_out(manifests, tmp_path / "fanned", _options(), chunk_bytes)

    # Then both datasets hold the same files with the same bytes, and no part is left behind
    single, fanned = _tree(tmp_path / "single"), _tree(tmp_path / "fanned")
    assert sorted(fanned) == sorted(single)
    assert fanned == single
    assert len(plan.chunks) >= 2
    assert json.loads(single["report.json"])["rejected_lines"] > 0


def test_chunks_cut_at_line_ends_and_number_lines_as_in_the_manifest(tmp_path: Path) -> None:
    # Given a manifest of 30 lines cut into chunks of about 500 bytes
    manifest = _write(tmp_path / "output.manifest", _messy_lines(30))
    plan = plan_fan_out([manifest], _options(), chunk_bytes=500)
    raw = manifest.path.read_bytes()

    # Then the chunks tile the file, each starts and ends at a line end, and carries its number
    assert plan.chunks[0].start == 0
    assert plan.chunks[-1].end == len(raw)
    for before, after in zip(plan.chunks, plan.chunks[1:], strict=False):
        assert before.end == after.start
        assert raw[before.end - 1 : before.end] == b"\n"
        assert after.first_line == raw[: after.start].count(b"\n") + 1
    lines = [line for chunk in plan.chunks for line in ManifestChunk(manifest, chunk).lines()]
    assert b"".join(lines) == raw


def test_an_empty_manifest_keeps_its_place_in_the_report(tmp_path: Path) -> None:
    # Given a manifest with lines and an empty one
    full = _write(tmp_path / "a/output.manifest", _messy_lines(10))
    empty = _write(tmp_path / "b/output.manifest", [])

    # When converting both ways: both refuse the empty manifest with the same message
    with pytest.raises(ConversionError) as single:
        convert_manifests([full, empty], LocalStorage(tmp_path / "single"), _options())
    with pytest.raises(ConversionError) as fanned:
        _fan_out([full, empty], tmp_path / "fanned", _options(), 200)

    # Then the messages and the written files agree
    assert str(fanned.value) == str(single.value)
    assert _tree(tmp_path / "fanned") == _tree(tmp_path / "single")


@pytest.mark.parametrize("chunk_bytes", [1, 256, 10**9])
def test_images_colliding_across_chunks_get_the_single_pass_names(
    tmp_path: Path, chunk_bytes: int
) -> None:
    # Given images that would share label files, chunks apart, and one source-ref twice
    lines = _messy_lines(40)
    lines[0] = line(ref("dup.png"), [box(0)])
    lines[10] = line(ref("DUP.jpg"), [box(1)])
    lines[20] = line(ref("dup.jpg"), [box(2)])
    lines[30] = line(ref("twice.jpg"), [box(0)])
    lines[-1] = line(ref("twice.jpg"), [box(1)])
    manifest = _write(tmp_path / "output.manifest", lines)
    options = replace(_options(), on_duplicate=OnDuplicate.LAST)

    # When converting both ways
    convert_manifests([manifest], LocalStorage(tmp_path / "single"), options)
    _fan_out([manifest], tmp_path / "fanned", options, chunk_bytes)

    # Then the chunks, converting apart, named every image as the single pass did
    single, fanned = _tree(tmp_path / "single"), _tree(tmp_path / "fanned")
    assert fanned == single
    images = single["images.csv"].decode()
    assert "/DUP.jpg," in images and "/dup~2.jpg," in images and "/dup~3.png," in images
    assert json.loads(single["report.json"])["rejected"]["duplicate_source_ref"] == 1


def test_the_same_source_ref_in_two_chunks_is_the_same_error_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    # Given one image labeled on the first and on the last line, chunks apart
    lines = _messy_lines(40)
    lines[0] = line(ref("dup.jpg"), [box(0)])
    lines[-1] = line(ref("dup.jpg"), [box(1)])
    manifest = _write(tmp_path / "output.manifest", lines)

    # When converting both ways
    with pytest.raises(ConversionError) as single:
        convert_manifests([manifest], LocalStorage(tmp_path / "single"), _options())
    with pytest.raises(ConversionError) as fanned:
        _fan_out([manifest], tmp_path / "fanned", _options(), 256)

    # Then both name both origins, while planning: no file of the dataset exists
    assert str(fanned.value) == str(single.value)
    assert "output.manifest:1," in str(fanned.value)
    assert f"output.manifest:{len(lines)})" in str(fanned.value)
    assert not (tmp_path / "single").exists() and not (tmp_path / "fanned").exists()


def test_classes_derived_from_class_maps_keep_their_order_across_chunks(tmp_path: Path) -> None:
    # Given no label config: the class order comes from the lines' class-maps, spread over chunks
    lines = [line(ref(f"i{i}.jpg"), [box(i % 4)]) for i in range(40)]
    manifest = _write(tmp_path / "output.manifest", lines)

    # When converting both ways without a config
    convert_manifests([manifest], LocalStorage(tmp_path / "single"), _options(None))
    _fan_out([manifest], tmp_path / "fanned", _options(None), 100)

    # Then classes.txt and data.yaml agree
    single, fanned = _tree(tmp_path / "single"), _tree(tmp_path / "fanned")
    assert fanned["classes.txt"] == single["classes.txt"] == b"cat\ndog\nbird\nfish\n"
    assert fanned == single


def test_lines_whose_class_maps_conflict_are_rejected_alike_in_every_chunk(tmp_path: Path) -> None:
    # Given no label config, and every third line's class-map calling id 0 "dog" (after "cat")
    lines = [
        line(ref(f"i{i}.jpg"), [box(0)], class_map={"0": "dog" if i % 3 == 2 else "cat"})
        for i in range(30)
    ]
    manifest = _write(tmp_path / "output.manifest", lines)

    # When converting both ways
    convert_manifests([manifest], LocalStorage(tmp_path / "single"), _options(None))
    _fan_out([manifest], tmp_path / "fanned", _options(None), 600)

    # Then the chunks reject the same ten lines as the single pass
    assert _tree(tmp_path / "fanned") == _tree(tmp_path / "single")
    report = json.loads((tmp_path / "fanned/report.json").read_text())
    assert (report["images"], report["rejected"]) == (20, {"class_map_conflict": 10})


def test_verification_verdicts_are_applied_in_every_chunk(tmp_path: Path) -> None:
    # Given a chained job whose verification rejects every other line
    lines = [
        json.dumps(record(
            ref(f"v{i}.jpg"), [box(0)],
            extra_attrs=verification("check", "good" if i % 2 else "bad"),
        ))
        for i in range(30)
    ]  # fmt: skip
    manifest = _write(tmp_path / "output.manifest", lines)
    options = ConversionOptions(verification_attribute="check", fractions=SplitFractions())

    # When converting both ways
    convert_manifests([manifest], LocalStorage(tmp_path / "single"), options)
    _fan_out([manifest], tmp_path / "fanned", options, 700)

    # Then the same 15 lines are rejected, with the same line numbers
    assert _tree(tmp_path / "fanned") == _tree(tmp_path / "single")
    assert json.loads((tmp_path / "fanned/report.json").read_text())["images"] == 15


@settings(max_examples=25, deadline=None)
@given(chunk_bytes=st.integers(min_value=1, max_value=6000), count=st.integers(1, 45))
def test_any_chunk_size_gives_the_same_dataset(
    tmp_path_factory: pytest.TempPathFactory, chunk_bytes: int, count: int
) -> None:
    root = tmp_path_factory.mktemp("any")
    colliding = [line(ref(k), [box(1)]) for k in ("cam0/img0.png", "CAM0/IMG0.gif", "x", "X.jpg")]
    lines = [line(ref("first.jpg"), [box(0)]), *_messy_lines(count), *colliding]
    manifest = _write(root / "output.manifest", lines)
    convert_manifests([manifest], LocalStorage(root / "single"), _options())
    _fan_out([manifest], root / "fanned", _options(), chunk_bytes)
    assert _tree(root / "fanned") == _tree(root / "single")


def _mixed_lines(count: int) -> list[str]:
    """Messy box lines with lines typed as other tasks among them (the tasks of other jobs)."""
    lines = _messy_lines(count)
    others = ["groundtruth/image-classification", "groundtruth/semantic-segmentation"]
    for i in range(0, count, 7):
        other = record(ref(f"other-task/{i}.jpg"), [box(1)])
        other["boxes-metadata"]["type"] = others[i % 2]
        lines.insert(i, json.dumps(other))
    return lines


@pytest.mark.parametrize("label_attribute", [None, "boxes"])
@pytest.mark.parametrize("chunk_bytes", [1, 300, 10**9])
def test_lines_of_other_tasks_are_rejected_alike_in_every_chunk(
    tmp_path: Path, chunk_bytes: int, label_attribute: str | None
) -> None:
    # Given a manifest of box lines mixed with lines typed as other tasks
    manifests = [_write(tmp_path / "in/a/output.manifest", _mixed_lines(60))]
    options = replace(_options(), label_attribute=label_attribute)

    # When converting in one pass and through the fan-out (the attribute given: a skimmed survey)
    convert_manifests(manifests, LocalStorage(tmp_path / "single"), options)
    plan = _fan_out(manifests, tmp_path / "fanned", options, chunk_bytes)

    # Then both datasets are the same bytes, and the same lines are wrong_task in both
    single, fanned = _tree(tmp_path / "single"), _tree(tmp_path / "fanned")
    assert fanned == single
    report = json.loads(single["report.json"])
    assert report["task"] == "detect" and report["rejected"]["wrong_task"] == 9
    assert any("wrong_task" in warning for warning in report["warnings"])
    assert len(plan.chunks) >= 2 or chunk_bytes == 10**9
