"""Sample data with known objects: images, and a finished Ground Truth job in its real layout.

Every image gets shapes drawn at known places, so the "labelers'" boxes are the truth and a
converted dataset can be checked against it. The job output follows Ground Truth's layout:
`<job>/manifests/output/output.manifest`, `<job>/annotation-tool/data.json`,
`<job>/annotations/worker-response/iteration-1/<object-id>/<time>.json`.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw

# Deliberately not alphabetical: the job's order is the training order and must survive.
CLASSES = ("square", "circle", "triangle")
COLORS = {"square": (220, 60, 60), "circle": (60, 160, 220), "triangle": (240, 190, 40)}
WORKERS = (
    "private.us-east-1.a1b2c3", "private.us-east-1.d4e5f6", "private.us-east-1.0789ab",
    "private.us-east-1.5f3c2e",
)  # fmt: skip
LABEL_ATTRIBUTE = "shapes"
# The customer's own bucket the sample images live in (the stack reads it: `imageBuckets`).
CUSTOMER_IMAGES = "customer-images"
# A bucket of another account (the tests' case of a bucket policy to add).
PARTNER_IMAGES = "partner-images"


@dataclass(frozen=True)
class Shape:
    name: str
    left: int
    top: int
    width: int
    height: int


@dataclass
class SampleJob:
    """A simulated finished labeling job: objects to put in a bucket and SageMaker's answer."""

    job_name: str
    bucket: str
    label_attribute: str = LABEL_ATTRIBUTE
    objects: dict[str, bytes] = field(default_factory=dict)  # for `bucket`
    truth: dict[str, list[Shape]] = field(default_factory=dict)
    # Where the images are when not in `bucket` (a customer's own bucket), and their objects.
    image_bucket: str | None = None
    image_objects: dict[str, bytes] = field(default_factory=dict)
    # The built-in task's Lambdas (after `function:`): which Ground Truth task the job ran.
    pre_annotation: str = "PRE-BoundingBox"
    consolidation: str = "ACS-BoundingBox"

    @property
    def output_prefix(self) -> str:
        return f"groundtruth/{self.job_name}/"

    @property
    def manifest_key(self) -> str:
        return f"{self.output_prefix}manifests/output/output.manifest"

    @property
    def config_key(self) -> str:
        return f"{self.output_prefix}annotation-tool/data.json"

    def describe_response(self, status: str = "Completed") -> dict[str, Any]:
        """DescribeLabelingJob as SageMaker answers it for this job."""
        arn = f"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{self.job_name}"
        lines = self.objects[self.manifest_key].decode().splitlines()
        return {
            "LabelingJobStatus": status,
            "LabelCounters": {"TotalLabeled": len(lines) - 2, "HumanLabeled": len(lines) - 2,
                              "MachineLabeled": 0, "FailedNonRetryableError": 1, "Unlabeled": 1},
            "CreationTime": datetime(2026, 11, 20, tzinfo=UTC),
            "LastModifiedTime": datetime(2026, 11, 24, tzinfo=UTC),
            "JobReferenceCode": "demo", "LabelingJobName": self.job_name, "LabelingJobArn": arn,
            "LabelAttributeName": self.label_attribute,
            "InputConfig": {"DataSource": {"S3DataSource": {
                "ManifestS3Uri": f"s3://{self.bucket}/manifests/input/demo.manifest"}}},
            "OutputConfig": {"S3OutputPath": f"s3://{self.bucket}/groundtruth/"},
            "RoleArn": "arn:aws:iam::123456789012:role/GroundTruthDemo",
            "LabelCategoryConfigS3Uri": f"s3://{self.bucket}/{self.config_key}",
            "HumanTaskConfig": {
                "WorkteamArn": "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/demo",
                "UiConfig": {"HumanTaskUiArn": "arn:aws:sagemaker:us-east-1:394669845002:human-task-ui/BoundingBox"},
                "PreHumanTaskLambdaArn": f"arn:aws:lambda:us-east-1:432418664414:function:{self.pre_annotation}",
                "TaskTitle": "Draw a box around each shape", "TaskDescription": "square, circle, triangle",
                "NumberOfHumanWorkersPerDataObject": 3, "TaskTimeLimitInSeconds": 300,
                "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn":
                    f"arn:aws:lambda:us-east-1:432418664414:function:{self.consolidation}"},
            },
            "LabelingJobOutput": {"OutputDatasetS3Uri": f"s3://{self.bucket}/{self.manifest_key}"},
        }  # fmt: skip

    def list_summary(self, status: str = "InProgress") -> dict[str, Any]:
        """This job as ListLabelingJobs lists it (a LabelingJobSummary)."""
        described = self.describe_response(status)
        summary = {key: described[key] for key in (
            "LabelingJobName", "LabelingJobArn", "CreationTime", "LastModifiedTime",
            "LabelingJobStatus", "LabelCounters", "InputConfig",
        )}  # fmt: skip
        return summary | {"WorkteamArn": described["HumanTaskConfig"]["WorkteamArn"]}

    def intermediate_key(self, iteration: int) -> str:
        """Where Ground Truth rewrites the labels so far while the job runs."""
        return f"{self.output_prefix}manifests/intermediate/{iteration}/output.manifest"


def _image_names(count: int) -> list[str]:
    # Same file name in two folders, dots in a name, unicode and a space: all must survive.
    names = [f"site-{'ab'[i % 2]}/img_{i // 2:03d}.jpg" for i in range(count - 2)]
    return [*names, "site-a/frame.v2.final.jpg", "site-b/ねこ 01.jpg"]


def _draw(size: tuple[int, int], shapes: list[Shape]) -> bytes:
    image = Image.new("RGB", size, (245, 245, 240))
    pen = ImageDraw.Draw(image)
    for s in shapes:
        corners = (s.left, s.top, s.left + s.width - 1, s.top + s.height - 1)
        if s.name == "square":
            pen.rectangle(corners, fill=COLORS[s.name])
        elif s.name == "circle":
            pen.ellipse(corners, fill=COLORS[s.name])
        else:
            pen.polygon([(s.left + s.width // 2, s.top), (s.left, corners[3]), (corners[2], corners[3])],
                        fill=COLORS[s.name])  # fmt: skip
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _shapes(rng: random.Random, width: int, height: int, count: int) -> list[Shape]:
    shapes = []
    for _ in range(count):
        side = rng.randint(min(width, height) // 8, min(width, height) // 3)
        shapes.append(Shape(rng.choice(CLASSES), rng.randint(0, width - side),
                            rng.randint(0, height - side), side, side))  # fmt: skip
    return shapes


def make_sample_job(bucket: str, job_name: str = "demo-shapes", images: int = 24,
                    seed: int = 7, dataset: str = "demo", label_attribute: str = LABEL_ATTRIBUTE,
                    image_bucket: str | None = None) -> SampleJob:  # fmt: skip
    """`images` drawn images and the job's output in `bucket`, as Ground Truth writes it with
    `label_attribute` as the job's LabelAttributeName. The images are under images/<dataset>/
    of `bucket`, or under <dataset>/ of `image_bucket` (`image_objects`) when given: a job that
    labeled images in the customer's own bucket."""
    rng = random.Random(seed)
    job = SampleJob(job_name, bucket, label_attribute, image_bucket=image_bucket)
    images_at = f"{image_bucket}/{dataset}" if image_bucket else f"{bucket}/images/{dataset}"
    image_objects = job.image_objects if image_bucket else job.objects
    lines: list[str] = []
    started = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    for index, name in enumerate(_image_names(images)):
        width, height = rng.choice([(320, 240), (400, 300), (480, 360)])
        shapes = [] if index == 3 else _shapes(rng, width, height, rng.randint(1, 4))
        ref = f"s3://{images_at}/{name}"
        image_objects[ref.split("/", 3)[3]] = _draw((width, height), shapes)
        job.truth[ref] = shapes
        lines.append(_manifest_line(job, index, ref, width, height, shapes))
        _worker_responses(job, seed, index, width, height, shapes, started)
    lines += _special_lines(job, f"s3://{images_at}")
    job.objects[job.manifest_key] = ("\n".join(lines) + "\n").encode()
    job.objects[job.config_key] = json.dumps(
        {"document-version": "2018-11-28", "labels": [{"label": c} for c in CLASSES]}
    ).encode()
    return job


def _manifest_line(job: SampleJob, index: int, ref: str, width: int, height: int,
                   shapes: list[Shape]) -> str:  # fmt: skip
    attribute = job.label_attribute
    annotations = [{"class_id": CLASSES.index(s.name), "left": s.left, "top": s.top,
                    "width": s.width, "height": s.height} for s in shapes]  # fmt: skip
    if index == 5 and shapes:
        # A labeler dragged past the right edge: the pipeline clamps it to the image.
        annotations[0]["width"] = width - annotations[0]["left"] + 25
    return json.dumps({
        "source-ref": ref,
        attribute: {"image_size": [{"width": width, "height": height, "depth": 3}],
                     "annotations": annotations},
        f"{attribute}-metadata": {
            "objects": [{"confidence": 0.93} for _ in shapes],
            "class-map": {str(CLASSES.index(s.name)): s.name for s in shapes},
            "type": "groundtruth/object-detection", "human-annotated": "yes",
            "creation-date": "2026-11-24T10:00:00.000000", "job-name": f"labeling-job/{job.job_name}",
        },
    }, ensure_ascii=False)  # fmt: skip


def _special_lines(job: SampleJob, images: str) -> list[str]:
    failed = {"source-ref": f"{images}/site-a/blurry.jpg",
              f"{job.label_attribute}-metadata": {"failure-reason": "ClientError: Annotation tasks expired",
                                                  "job-name": f"labeling-job/{job.job_name}"}}  # fmt: skip
    never = {"source-ref": f"{images}/site-b/late.jpg"}
    return [json.dumps(failed), json.dumps(never)]


def _worker_responses(job: SampleJob, seed: int, index: int, width: int, height: int,
                      shapes: list[Shape], started: datetime) -> None:  # fmt: skip
    """One to three of the workers per object, over four days, each box slightly off the truth.

    Its own random generator per object, so the images stay the same whatever the workers do.
    Every fourth object has a single worker (no agreement to measure); the last worker is
    sloppier and sometimes misses a shape, so the agreement column has something to show.
    """
    rng = random.Random(seed * 1000 + index)
    count = 1 if index % 4 == 0 else rng.choice((2, 3))
    for worker in rng.sample(WORKERS, count):
        sloppy = worker == WORKERS[-1]
        submitted = started + timedelta(days=(index + WORKERS.index(worker)) % 4,
                                        minutes=rng.randint(0, 600))  # fmt: skip
        spent = rng.randint(20, 140) if sloppy else rng.randint(8, 90)
        jitter = 12 if sloppy else 3
        drawn = [s for s in shapes if not (sloppy and rng.random() < 0.2)]
        boxes = [{"label": s.name, "left": s.left + rng.randint(-jitter, jitter),
                  "top": s.top + rng.randint(-jitter, jitter),
                  "width": s.width + rng.randint(-jitter, jitter),
                  "height": s.height + rng.randint(-jitter, jitter)}
                 for s in drawn]  # fmt: skip
        answer = {"answers": [{
            "workerId": worker,
            "acceptanceTime": (submitted - timedelta(seconds=spent)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "submissionTime": submitted.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "timeSpentInSeconds": float(spent),
            "workerMetadata": {"identityData": {"identityProviderType": "Cognito", "sub": worker}},
            "answerContent": {"boundingBox": {"boundingBoxes": boxes,
                              "inputImageProperties": {"height": height, "width": width}}},
        }]}  # fmt: skip
        key = (f"{job.output_prefix}annotations/worker-response/iteration-1/{index}/"
               f"{submitted.strftime('%Y-%m-%d_%H:%M:%S')}_{worker[-6:]}.json")  # fmt: skip
        job.objects[key] = json.dumps(answer).encode()


def relabeled(manifest: bytes, attribute: str, count: int, seed: int | None = None) -> bytes:
    """The manifest with the boxes of `count` labeled lines moved 3 px right (a relabeling):
    the first ones, or a seeded random choice."""
    lines = manifest.decode().splitlines()
    labeled = [
        i
        for i, raw in enumerate(lines)
        if (json.loads(raw).get(attribute) or {}).get("annotations")
    ]
    chosen = labeled[:count] if seed is None else random.Random(seed).sample(labeled, count)
    for index in chosen:
        record = json.loads(lines[index])
        for box in record[attribute]["annotations"]:
            box["left"] += 3
        lines[index] = json.dumps(record)
    return ("\n".join(lines) + "\n").encode()
