"""The sample video frame job is self-consistent: what its manifest, sequence files and
SeqLabel.json files name exists, and the drawn scenes hold what the samples promise (two tracks
that cross, an object leaving the frame, a frame with nobody)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from samples.detection import Shape
from samples.video import VIDEO_LABEL_ATTRIBUTE, VideoSampleJob, make_video_job

BUCKET, IMAGES = "stack-bucket", "customer-images"


def _object(job: VideoSampleJob, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return (job.objects if bucket == job.bucket else job.image_objects)[key]


def _json(job: VideoSampleJob, uri: str) -> Any:
    return json.loads(_object(job, uri))


def _labeled_lines(job: VideoSampleJob) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in job.objects[job.manifest_key].decode().splitlines()]
    return [line for line in lines if VIDEO_LABEL_ATTRIBUTE in line]


def _overlap(a: Shape, b: Shape) -> bool:
    return (a.left < b.left + b.width and b.left < a.left + a.width
            and a.top < b.top + b.height and b.top < a.top + a.height)  # fmt: skip


@pytest.fixture(params=[(True, None), (False, IMAGES)], ids=["tracking", "detection-own-bucket"])
def job(request: pytest.FixtureRequest) -> VideoSampleJob:
    tracking, image_bucket = request.param
    return make_video_job(BUCKET, tracking=tracking, image_bucket=image_bucket)


def test_every_seqlabel_frame_is_an_image_of_its_sequence(job: VideoSampleJob) -> None:
    annotations = "tracking-annotations" if job.tracking else "detection-annotations"
    for line in _labeled_lines(job):
        sequence = _json(job, line["source-ref"])
        listed = {frame["frame"] for frame in sequence["frames"]}
        for frame in _json(job, line[VIDEO_LABEL_ATTRIBUTE])[annotations]:
            assert frame["frame"] in listed
            assert _object(job, sequence["prefix"] + frame["frame"])[:2] == b"\xff\xd8"  # JPEG


def test_sequence_files_list_every_frame_in_their_folder(job: VideoSampleJob) -> None:
    image_objects = job.image_objects if job.image_bucket else job.objects
    lines = [json.loads(line) for line in job.objects[job.manifest_key].decode().splitlines()]
    for line in lines:  # the failed sequence's file and frames exist too
        sequence = _json(job, line["source-ref"])
        assert sequence["prefix"].endswith("/")
        folder = sequence["prefix"].split("/", 3)[3]
        in_folder = sorted(key for key in image_objects if key.startswith(folder))
        names = [frame["frame"] for frame in sequence["frames"]]
        assert [folder + name for name in names] == in_folder
        assert sequence["number-of-frames"] == len(names)
        assert [int(frame["frame-no"]) for frame in sequence["frames"]] == list(
            range(1, len(names) + 1)
        )


def test_seqlabel_boxes_are_the_drawn_shapes_and_empty_frames_are_not_listed(
    job: VideoSampleJob,
) -> None:
    annotations = "tracking-annotations" if job.tracking else "detection-annotations"
    frame_numbers = []
    for line in _labeled_lines(job):
        prefix = _json(job, line["source-ref"])["prefix"]
        frames = _json(job, line[VIDEO_LABEL_ATTRIBUTE])[annotations]
        frame_numbers += [frame["frame-no"] for frame in frames]
        listed = {prefix + frame["frame"]: frame for frame in frames}
        class_map = line[f"{VIDEO_LABEL_ATTRIBUTE}-metadata"]["class-map"]
        for uri, shapes in job.truth.items():
            if not uri.startswith(prefix):
                continue
            if not shapes:
                assert uri not in listed
                continue
            boxes = listed[uri]["annotations"]
            assert [Shape(class_map[b["class-id"]], b["left"], b["top"], b["width"], b["height"])
                    for b in boxes] == shapes  # fmt: skip
            assert all(("object-id" in b) == job.tracking for b in boxes)
    assert sum(isinstance(number, str) for number in frame_numbers) == 1


def test_two_tracks_cross_in_every_sequence(job: VideoSampleJob) -> None:
    for tracks in job.tracks.values():
        assert len(tracks) == 2
        first, second = (dict(track) for track in tracks.values())
        assert any(_overlap(first[i], second[i]) for i in first.keys() & second.keys())
        # Crossing, not touching: each starts on one side of the other and ends on the other.
        start, end = min(first), max(first)
        assert (first[start].left < second[start].left) != (first[end].left < second[end].left)


def test_the_leaving_object_has_a_box_past_the_edge_for_a_frame_or_two(
    job: VideoSampleJob,
) -> None:
    for name, tracks in job.tracks.items():
        width, height = job.frame_sizes[name]
        frames = [uri for uri in job.truth if f"/{name}/" in uri]
        assert Image.open(io.BytesIO(_object(job, frames[-1]))).size == (width, height)
        past = [i for track in tracks.values() for i, s in track if s.left + s.width > width]
        assert 1 <= len(past) <= 2
        assert sum(not job.truth[uri] for uri in frames) == 1  # and one frame with nobody
    assert len(set(job.frame_sizes.values())) == 2


def test_manifest_names_a_ref_attribute_one_failure_and_a_sparse_class_map(
    job: VideoSampleJob,
) -> None:
    lines = [json.loads(line) for line in job.objects[job.manifest_key].decode().splitlines()]
    failed = [line for line in lines if VIDEO_LABEL_ATTRIBUTE not in line]
    assert VIDEO_LABEL_ATTRIBUTE.endswith("-ref")
    assert len(failed) == 1
    assert "failure-reason" in failed[0][f"{VIDEO_LABEL_ATTRIBUTE}-metadata"]
    kind = "tracking" if job.tracking else "detection"
    for line in _labeled_lines(job):
        metadata = line[f"{VIDEO_LABEL_ATTRIBUTE}-metadata"]
        assert metadata["class-map"] == {"0": "car", "1": "person"}
        assert metadata["type"] == f"groundtruth/video-object-{kind}"
    config = json.loads(job.objects[job.config_key])
    assert [label["label"] for label in config["labels"]] == ["car", "person", "bicycle"]
    response = job.describe_response()
    assert response["HumanTaskConfig"]["PreHumanTaskLambdaArn"].endswith(
        f":function:PRE-VideoObject{kind.title()}"
    )
    assert response["LabelCounters"]["TotalLabeled"] == len(lines) - 1
    assert response["LabelAttributeName"] == VIDEO_LABEL_ATTRIBUTE
    manifest = response["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
    listed = [json.loads(line)["source-ref"] for line in _object(job, manifest).splitlines()]
    assert listed == [line["source-ref"] for line in lines]


def test_too_few_frames_for_a_crossing_and_an_exit_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        make_video_job(BUCKET, frames=5)
