"""Fan-out of video frame jobs: a tracking job cut into chunks of whole sequences (lines),
converted apart and merged, is the single-pass dataset byte for byte, mot/ files included.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from gt2yolo import ConversionOptions, convert_manifests
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.fanout import Chunk, FanOutPlan, convert_chunk, finalize, plan_fan_out
from gt2yolo.split import SplitFractions
from gt2yolo.storage import LocalManifest, LocalStorage, MirrorImageSink, S3Mirror
from video_builders import mirror_sample

from samples.video import VideoSampleJob, make_video_job

BUCKET, IMAGES = "stack-bucket", "customer-images"


@dataclass(frozen=True)
class MirroredJob:
    job: VideoSampleJob
    mirror: S3Mirror
    manifest: LocalManifest
    lines: list[bytes]


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> MirroredJob:
    """The sample tracking job (4 sequences, one failed) in a mirror; its manifest with a
    sequence whose file is missing, a malformed and a blank line more, and a missing frame."""
    job = make_video_job(BUCKET, sequences=4, frames=6, image_bucket=IMAGES)
    root = mirror_sample(tmp_path_factory.mktemp("mirror"), job)
    manifest = root / BUCKET / job.manifest_key
    lines = manifest.read_bytes().splitlines(keepends=True)
    gone = json.loads(lines[0])
    gone["source-ref"] = gone["source-ref"].replace("street-01", "street-gone")
    lines[2:2] = [json.dumps(gone).encode() + b"\n", b'{"source-ref": "s3://x/y.json", \n', b"\n"]
    manifest.write_bytes(b"".join(lines))
    (root / IMAGES / "traffic/street-02/frame_0002.jpeg").unlink()  # kept at step 1 only
    return MirroredJob(job, S3Mirror(root), LocalManifest(manifest), lines)


def _options(job: MirroredJob, frame_step: int) -> ConversionOptions:
    classes = class_list_from_label_config(job.job.objects[job.job.config_key], "data.json")
    return ConversionOptions(class_list=classes, fractions=SplitFractions(val=0.25, test=0.15),
                             frame_step=frame_step)  # fmt: skip


def _single_pass(job: MirroredJob, out: Path, options: ConversionOptions) -> None:
    storage = LocalStorage(out)
    convert_manifests([job.manifest], storage, options,
                      MirrorImageSink(job.mirror, storage), objects=job.mirror)  # fmt: skip


def _fan_out(
    job: MirroredJob, out: Path, options: ConversionOptions, chunk_lines: int
) -> FanOutPlan:
    # As the workflow cuts a video job: by sequences (lines), bytes far from deciding
    plan = plan_fan_out([job.manifest], options, chunk_bytes=10**9, chunk_lines=chunk_lines)
    plan = FanOutPlan.from_json(plan.to_json())  # the state machine hands it on as JSON
    storage = LocalStorage(out)
    sink = MirrorImageSink(job.mirror, storage)
    for item in reversed([c.as_item() for c in plan.chunks]):  # any order: chunks run in parallel
        chunk = Chunk.from_item(json.loads(json.dumps(item)))
        convert_chunk(plan, chunk, job.manifest, storage, options, sink, job.mirror)
    finalize(plan, storage, storage, options)
    return plan


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("frame_step", [1, 2])
@pytest.mark.parametrize("chunk_lines", [1, 2])
def test_fan_out_of_a_tracking_job_writes_the_single_pass_dataset_byte_for_byte(
    job: MirroredJob, tmp_path: Path, chunk_lines: int, frame_step: int
) -> None:
    # Given a tracking job with converting, failed, missing and broken lines and a missing frame
    options = _options(job, frame_step)

    # When converting it in one pass and through the fan-out, `chunk_lines` sequences a chunk
    _single_pass(job, tmp_path / "single", options)
    plan = _fan_out(job, tmp_path / "fanned", options, chunk_lines)

    # Then both datasets hold the same files with the same bytes, mot/ included
    single, fanned = _tree(tmp_path / "single"), _tree(tmp_path / "fanned")
    assert sorted(fanned) == sorted(single)
    assert fanned == single
    assert not any(name.startswith("_parts/") for name in fanned)
    mot = sorted(name for name in single if name.startswith("mot/"))
    assert mot == [f"mot/street-{n:02d}/{file}" for n in (1, 2, 3, 4)
                   for file in ("gt/gt.txt", "seqinfo.ini")]  # fmt: skip
    # And the report counts what happened, over as many chunks as the lines make
    report = json.loads(single["report.json"])
    assert report["video"]["sequences"] == 4 and report["video"]["tracks"] == 8
    assert report["video"]["frame_step"] == frame_step
    rejected = {"failed_object": 1, "malformed_json": 1, "sequence_not_found": 1}
    assert report["rejected"] == rejected | ({"frame_not_found": 1} if frame_step == 1 else {})
    assert len(plan.chunks) == -(-len(job.lines) // chunk_lines)


@pytest.mark.parametrize("chunk_lines", [1, 2, 3])
def test_chunk_lines_cuts_only_at_line_ends(job: MirroredJob, chunk_lines: int) -> None:
    # Given the job's manifest
    data = b"".join(job.lines)

    # When planning chunks of `chunk_lines` lines
    plan = plan_fan_out([job.manifest], _options(job, 1), chunk_bytes=10**9,
                        chunk_lines=chunk_lines)  # fmt: skip

    # Then the chunks cover the manifest end to end, each holding whole lines, at most that many
    ends = {0} | {sum(len(line) for line in job.lines[: i + 1]) for i in range(len(job.lines))}
    assert plan.chunks[0].start == 0 and plan.chunks[-1].end == len(data)
    for before, after in zip(plan.chunks, plan.chunks[1:], strict=False):
        assert before.end == after.start
    for chunk in plan.chunks:
        assert chunk.start in ends and chunk.end in ends
        lines = data[chunk.start : chunk.end].splitlines(keepends=True)
        assert 1 <= len(lines) <= chunk_lines
        assert chunk.first_line == data[: chunk.start].count(b"\n") + 1
