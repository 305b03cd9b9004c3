"""A finished Ground Truth video frame job (object tracking or detection) in its real layout.

Each sequence is a folder of small JPEG frames with two objects drawn at known places: a car
driving right and a person walking left, whose paths cross (their boxes overlap in the middle
frame), the car leaving the frame at the end (its box past the right edge for the last frame or
two), and a first frame with nobody in it yet. What Ground Truth keeps, as a team's bucket holds
it (sources: /work/notes/video-facts.md):

- the frames: `<dataset>/<sequence>/frame_0001.jpeg` in the customer's bucket, or under
  `images/<dataset>/` of the stack bucket;
- the input sequence files (`groundtruth/input/<dataset>/<sequence>.json`: `frame-no` 1-based,
  strings in the second sequence) and the input manifest listing them;
- one consolidated `SeqLabel.json` per sequence (`<job>/annotations/consolidated-annotation/
  output/<n>/SeqLabel.json`): `frame-no` 0-based (an index into the sequence file's frames; one
  of them a string), frames without any box left out;
- the output manifest: one line per sequence whose `source-ref` is the sequence file, and a
  failed sequence (its files and frames exist; nobody labeled it).
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw

from samples.detection import SampleJob, Shape

# The job's label categories in their order: `class-id` is the position here (bicycle is never
# drawn, so the sparse class-map leaves it out).
VIDEO_CLASSES = ("car", "person", "bicycle")
VIDEO_COLORS = {"car": (200, 30, 40), "person": (240, 170, 60)}
VIDEO_LABEL_ATTRIBUTE = "traffic-ref"  # video jobs' LabelAttributeName must end in `-ref`
FRAME_SIZES = ((320, 240), (400, 300))  # by sequence, in turn
FIRST_TIMESTAMP = 1795251600  # 2026-11-20T09:00:00Z; one frame a second
CREATION_DATE = "2026-11-24T10:00:00.000000"
FAILED_FRAMES = 4
MIN_FRAMES = 6
# One SeqLabel entry whose frame-no is a string (older consolidations wrote strings).
STRING_FRAME_NO = (0, 3)  # (sequence index, frame index)

Track = list[tuple[int, Shape]]  # (0-based frame index, box as drawn) per frame it is in


@dataclass
class VideoSampleJob(SampleJob):
    """A sample video frame job. `truth` maps every frame's s3 URI to its shapes (an empty list
    for the frame with no object); `tracks` maps each sequence name to its objects' tracks by
    object-id (the SeqLabel's ids; they exist even when the job only detected)."""

    tracking: bool = True
    tracks: dict[str, dict[str, Track]] = field(default_factory=dict)
    sequence_refs: dict[str, str] = field(default_factory=dict)  # name -> sequence file URI
    frame_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (w, h)
    input_manifest_key: str = ""

    @property
    def seqlabel_prefix(self) -> str:
        return f"{self.output_prefix}annotations/consolidated-annotation/output/"

    def describe_response(self, status: str = "Completed") -> dict[str, Any]:
        response = super().describe_response(status)
        task = "VideoObjectTracking" if self.tracking else "VideoObjectDetection"
        labeled = len(self.sequence_refs)
        response["LabelCounters"] = {"TotalLabeled": labeled, "HumanLabeled": labeled,
                                     "MachineLabeled": 0, "FailedNonRetryableError": 1,
                                     "Unlabeled": 0}  # fmt: skip
        response["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"] = (
            f"s3://{self.bucket}/{self.input_manifest_key}"
        )
        human_task = response["HumanTaskConfig"]
        human_task["UiConfig"]["HumanTaskUiArn"] = (
            f"arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/{task}"
        )
        human_task["TaskTitle"] = "Track each car and person through the clip"
        human_task["TaskDescription"] = ", ".join(VIDEO_CLASSES)
        human_task["NumberOfHumanWorkersPerDataObject"] = 1  # video tasks: one worker each
        human_task["TaskTimeLimitInSeconds"] = 3600
        return response


def _sequence_name(index: int) -> str:
    return f"street-{index + 1:02d}"


def _frame_name(index: int) -> str:
    """The file of the 0-based frame `index`: Ground Truth's own 1-based `frame_0001.jpeg`."""
    return f"frame_{index + 1:04d}.jpeg"


def _object_id(rng: random.Random) -> str:
    value = f"{rng.getrandbits(128):032x}"
    return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-a{value[17:20]}-{value[20:]}"


def _paths(rng: random.Random, size: tuple[int, int], frames: int) -> dict[str, Track]:
    """The car's and the person's boxes per frame (frame 0 is empty).

    The car drives right from the left edge and ends two thirds out of the frame; the person
    walks left so that both centres meet at the middle frame, which makes their boxes overlap.
    """
    width, height = size
    car_w, car_h = width // 5, height // 6
    person_w, person_h = width // 10, height // 3
    last, meet = frames - 1, frames // 2
    car_start, car_end = rng.randint(2, 6), width - car_w // 3
    car_step = (car_end - car_start) / (last - 1)
    car_left = {i: round(car_end - (last - i) * car_step) for i in range(1, frames)}
    meet_centre = car_left[meet] + car_w / 2
    person_start = width - person_w - rng.randint(2, 6)
    person_step = (person_start + person_w / 2 - meet_centre) / (meet - 1)
    car_top = height // 2 + rng.randint(-3, 3)
    person_top = height // 2 - person_h // 2
    car: Track = []
    person: Track = []
    for i in range(1, frames):
        car.append((i, Shape("car", car_left[i], car_top, car_w, car_h)))
        left = max(1, round(person_start - (i - 1) * person_step))
        bob = rng.randint(-2, 2)  # a walker's head goes up and down
        person.append((i, Shape("person", left, person_top + bob, person_w, person_h)))
    return {"car": car, "person": person}


def _draw(size: tuple[int, int], shapes: list[Shape], night: bool = False) -> bytes:
    image = Image.new("RGB", size, (30, 30, 45) if night else (150, 170, 200))
    pen = ImageDraw.Draw(image)
    pen.rectangle((0, size[1] * 2 // 3, size[0] - 1, size[1] - 1), fill=(90, 90, 95))  # road
    for s in shapes:
        corners = (s.left, s.top, s.left + s.width - 1, s.top + s.height - 1)
        if s.name == "car":
            pen.rectangle(corners, fill=VIDEO_COLORS["car"])
        else:
            pen.ellipse(corners, fill=VIDEO_COLORS["person"])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _box(shape: Shape, object_id: str, tracking: bool) -> dict[str, Any]:
    box: dict[str, Any] = {"height": shape.height, "width": shape.width, "top": shape.top,
                           "left": shape.left, "class-id": str(VIDEO_CLASSES.index(shape.name)),
                           "label-category-attributes": {}}  # fmt: skip
    if tracking:
        box["object-id"] = object_id
        box["object-name"] = f"{shape.name}:1"
    return box


def _seqlabel(sequence: int, frames: int, tracks: dict[str, Track], tracking: bool) -> bytes:
    entries: list[dict[str, Any]] = []
    for index in range(frames):
        boxes = [_box(shape, object_id, tracking)
                 for object_id, track in tracks.items() for i, shape in track if i == index]  # fmt: skip
        if not boxes:
            continue  # Ground Truth lists only the frames a worker annotated
        frame_no: int | str = str(index) if (sequence, index) == STRING_FRAME_NO else index
        entries.append({"frame-no": frame_no, "frame": _frame_name(index),
                        "annotations": boxes, "frame-attributes": {}})  # fmt: skip
    key = "tracking-annotations" if tracking else "detection-annotations"
    return json.dumps({key: entries}).encode()


def _sequence_file(seq_no: int, prefix: str, frames: int, string_numbers: bool) -> bytes:
    return json.dumps({
        "seq-no": seq_no, "prefix": prefix, "number-of-frames": frames,
        "frames": [{"frame-no": str(i + 1) if string_numbers else i + 1,
                    "frame": _frame_name(i), "unix-timestamp": FIRST_TIMESTAMP + 600 * seq_no + i}
                   for i in range(frames)],
    }).encode()  # fmt: skip


def make_video_job(bucket: str, job_name: str = "demo-video", sequences: int = 2,
                   frames: int = 12, seed: int = 17, dataset: str = "traffic",
                   tracking: bool = True, image_bucket: str | None = None) -> VideoSampleJob:  # fmt: skip
    """`sequences` labeled clips of `frames` frames each, plus one failed clip, as a finished
    video object tracking job (or object detection when `tracking` is False) leaves them."""
    if frames < MIN_FRAMES:
        raise ValueError(
            f"frames must be at least {MIN_FRAMES} (an empty frame, a crossing, an exit)"
        )
    rng = random.Random(seed)
    kind = "Tracking" if tracking else "Detection"
    job = VideoSampleJob(job_name, bucket, VIDEO_LABEL_ATTRIBUTE, image_bucket=image_bucket,
                         pre_annotation=f"PRE-VideoObject{kind}",
                         consolidation=f"ACS-VideoObject{kind}", tracking=tracking)  # fmt: skip
    images_at = f"{image_bucket}/{dataset}" if image_bucket else f"{bucket}/images/{dataset}"
    image_objects = job.image_objects if image_bucket else job.objects
    inputs = f"groundtruth/input/{dataset}/"
    job.input_manifest_key = f"{inputs}{job_name}.manifest"
    attribute = VIDEO_LABEL_ATTRIBUTE
    metadata = {"class-map": {"0": "car", "1": "person"}, "job-name": f"labeling-job/{job_name}",
                "human-annotated": "yes", "creation-date": CREATION_DATE,
                "type": f"groundtruth/video-object-{kind.lower()}"}  # fmt: skip
    lines: list[dict[str, Any]] = []
    for n in range(sequences + 1):
        name, failed = _sequence_name(n), n == sequences
        size = FRAME_SIZES[n % len(FRAME_SIZES)]
        count = FAILED_FRAMES if failed else frames
        prefix = f"s3://{images_at}/{name}/"
        tracks = {} if failed else {_object_id(rng): track
                                    for track in _paths(rng, size, count).values()}  # fmt: skip
        for index in range(count):
            shapes = [shape for track in tracks.values() for i, shape in track if i == index]
            frame_ref = prefix + _frame_name(index)
            image_objects[frame_ref.split("/", 3)[3]] = _draw(size, shapes, night=failed)
            if not failed:
                job.truth[frame_ref] = shapes
        sequence_ref = f"s3://{bucket}/{inputs}{name}.json"
        job.objects[f"{inputs}{name}.json"] = _sequence_file(n + 1, prefix, count, n == 1)
        if failed:
            lines.append({"source-ref": sequence_ref, f"{attribute}-metadata": {
                "failure-reason": "ClientError: Annotation tasks expired",
                "job-name": f"labeling-job/{job_name}"}})  # fmt: skip
            continue
        seqlabel_key = f"{job.seqlabel_prefix}{n}/SeqLabel.json"
        job.objects[seqlabel_key] = _seqlabel(n, count, tracks, tracking)
        job.tracks[name] = tracks
        job.sequence_refs[name] = sequence_ref
        job.frame_sizes[name] = size
        lines.append({"source-ref": sequence_ref, attribute: f"s3://{bucket}/{seqlabel_key}",
                      f"{attribute}-metadata": dict(metadata)})  # fmt: skip
    job.objects[job.input_manifest_key] = "".join(
        json.dumps({"source-ref": line["source-ref"]}) + "\n" for line in lines
    ).encode()
    job.objects[job.manifest_key] = "".join(json.dumps(line) + "\n" for line in lines).encode()
    job.objects[job.config_key] = json.dumps({
        "document-version": "2020-03-01",
        "labels": [{"label": label} for label in VIDEO_CLASSES],
        "instructions": {"shortInstruction": "Box every car and person in each frame; keep the "
                                             "same ID for the same one across frames.",
                         "fullInstruction": "Draw tight boxes, including the part of a car "
                                            "leaving the frame. Bicycles too, if any."},
    }).encode()  # fmt: skip
    return job
