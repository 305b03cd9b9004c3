"""Fan-out with the manifest exports: chunks converted apart and merged write the Rekognition and
SageMaker manifests of one pass, byte for byte (val before test lines in Rekognition's test
manifest, the same images past a full manifest), whatever the chunk size.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from export_builders import with_exports
from gt2yolo import ConversionOptions, convert_manifests
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.exports import rekognition
from gt2yolo.exports.formats import ExportFormat
from gt2yolo.fanout import Chunk, FanOutPlan, convert_chunk, finalize, plan_fan_out
from gt2yolo.split import SplitFractions
from gt2yolo.storage import (
    ImageSink,
    LocalManifest,
    LocalStorage,
    MirrorImageSink,
    S3Mirror,
    SourceObjects,
)
from gt_builders import box, label_config, line, ref

from samples.image_tasks import make_classification_job

ALL_EXPORTS = (ExportFormat.COCO, ExportFormat.REKOGNITION, ExportFormat.SAGEMAKER)


def _detection_lines(count: int) -> list[str]:
    """Images with boxes, without, in formats neither service reads, too small, past 50 boxes;
    broken and blank lines among them."""
    lines = []
    for i in range(count):
        kind = i % 7
        if kind == 0:
            lines.append(line(ref(f"a/{i}.jpg"), [box(0), box(1, left=480, width=90)]))
        elif kind == 1:
            lines.append(line(ref(f"a/{i}.png"), []))
        elif kind == 2:
            lines.append(line(ref(f"b/{i}.gif"), [box(2)]))
        elif kind == 3:
            lines.append(line(ref(f"b/{i}.jpg"), [box(3, width=20)], width=50))
        elif kind == 4:
            lines.append(line(ref(f"c/{i}.jpeg"), [box(i % 4, left=j) for j in range(51)]))
        elif kind == 5:
            lines.append('{"source-ref": "s3://bucket/jobs/photos/broken.jpg", "boxes": ')
        else:
            lines.append("")
    return lines


def _options(classes: Sequence[str] = ("cat", "dog", "bird", "fish")) -> ConversionOptions:
    return with_exports(
        ConversionOptions(
            class_list=class_list_from_label_config(label_config(*classes), "config.json"),
            fractions=SplitFractions(val=0.25, test=0.2),
        ),
        ALL_EXPORTS,
    )


def _single_pass(
    manifest: LocalManifest, out: Path, options: ConversionOptions, mirror: S3Mirror | None = None
) -> None:
    storage = LocalStorage(out)
    sink = MirrorImageSink(mirror, storage) if mirror else None
    convert_manifests([manifest], storage, options, sink, objects=mirror)


def _fan_out(
    manifest: LocalManifest,
    out: Path,
    options: ConversionOptions,
    chunk_bytes: int,
    mirror: S3Mirror | None = None,
) -> FanOutPlan:
    plan = FanOutPlan.from_json(plan_fan_out([manifest], options, chunk_bytes).to_json())
    storage = LocalStorage(out)
    sink: ImageSink | None = MirrorImageSink(mirror, storage) if mirror else None
    objects: SourceObjects | None = mirror
    for item in reversed([c.as_item() for c in plan.chunks]):  # any order: chunks run in parallel
        chunk = Chunk.from_item(json.loads(json.dumps(item)))
        convert_chunk(plan, chunk, manifest, storage, options, sink, objects)
    finalize(plan, storage, storage, options)
    return plan


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("cap", [None, 3])
@pytest.mark.parametrize("chunk_bytes", [1, 900])
def test_fan_out_writes_the_single_pass_manifests_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_bytes: int, cap: int | None
) -> None:
    # Given detection lines of every kind an export leaves out (and, with cap, manifests that
    # fill up after 3 lines)
    if cap is not None:
        monkeypatch.setattr(rekognition, "MAX_LINES", cap)
    path = tmp_path / "job/output.manifest"
    path.parent.mkdir()
    path.write_text("".join(f"{entry}\n" for entry in _detection_lines(70)), encoding="utf-8")
    manifest, options = LocalManifest(path), _options()

    # When converting them in one pass and through the fan-out
    _single_pass(manifest, tmp_path / "single", options)
    plan = _fan_out(manifest, tmp_path / "fanned", options, chunk_bytes)

    # Then the datasets, their exports included, are the same bytes
    single, fanned = _tree(tmp_path / "single"), _tree(tmp_path / "fanned")
    assert sorted(fanned) == sorted(single)
    assert fanned == single
    # And the manifests are there, with exclusions, from several chunks
    exports = json.loads(single["report.json"])["exports"]
    assert exports["rekognition"]["excluded"].keys() >= {"unsupported_format", "too_many_boxes"}
    assert (cap is not None) == ("manifest_full" in exports["rekognition"]["excluded"])
    assert single["exports/rekognition/test.manifest"]
    assert single["exports/sagemaker/validation.manifest"]
    assert len(plan.chunks) > 1


@pytest.mark.parametrize("multilabel", [False, True])
def test_fan_out_of_classification_writes_the_single_pass_manifests(
    tmp_path: Path, multilabel: bool
) -> None:
    # Given the sample classification job (single or multi-label) in a mirror
    job = make_classification_job("stack-bucket", multilabel=multilabel, images=24,
                                  image_bucket="customer-images")  # fmt: skip
    for bucket, objects in (("stack-bucket", job.objects), ("customer-images", job.image_objects)):
        for key, data in objects.items():
            target = tmp_path / "mirror" / bucket / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    mirror = S3Mirror(tmp_path / "mirror")
    manifest = LocalManifest(tmp_path / "mirror/stack-bucket" / job.manifest_key)
    classes = class_list_from_label_config(job.objects[job.config_key], "data.json")
    options = with_exports(ConversionOptions(
        class_list=classes, fractions=SplitFractions(val=0.25, test=0.2)
    ))  # fmt: skip

    # When converting it in one pass and through the fan-out, in chunks of a line or so
    _single_pass(manifest, tmp_path / "single", options, mirror)
    _fan_out(manifest, tmp_path / "fanned", options, 1, mirror)

    # Then both write the same manifests (and the same dataset)
    single, fanned = _tree(tmp_path / "single"), _tree(tmp_path / "fanned")
    assert fanned == single
    assert single["exports/rekognition/train.manifest"]
    assert single["exports/sagemaker/train.manifest"]
