"""`make demo`: the whole pipeline on an in-process AWS emulator, with generated sample data.

1. synthesize the CDK stack and deploy it into moto (bucket, topic, functions, state machine);
2. put sample images with known shapes into the customer's bucket (`customer-images`, which the
   stack may read: `imageBuckets`), and a finished Ground Truth job that labeled them (its real
   output layout) into the stack's bucket;
3. send the documented "labeling job Completed" event: the rule's pattern decides, the
   synthesized state machine runs resolve -> convert -> report -> publish with the real handlers,
   then report (previews, labeler insights from the job's worker responses, report.html);
4. drop the same manifest under manifests/ (the second trigger, no SageMaker call);
5. the intake loop: drop new images (and a stray text file) under images/shapes/, each
   S3 event through the intake rule and queue into the intake function, which keeps
   manifests/input/shapes.manifest; run the StartLabelingJob state machine (CreateLabelingJob
   answered by a Stubber that checks the request); simulate the labelers (the job's output
   under groundtruth/, with the label attribute and label config the request named); send the
   job's completion event: the conversion pipeline publishes the third dataset;
6. the other tasks: a semantic segmentation job (masks -> polygons), image classification jobs
   (single- and multi-label) and a video frame tracking job (two crossing tracks: frames split
   by sequence, MOT tracks), each converted on its completion event;
7. copy the published datasets to ./demo-output/ and print what was made and where the report is.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localrun.cloud import LocalCloud
from localrun.inspection import Execution
from localrun.lambda_events import object_created_event
from localrun.published import download_datasets
from localrun.synth import synthesize
from samples.detection import CLASSES, CUSTOMER_IMAGES, SampleJob, make_sample_job, relabeled
from samples.image_tasks import make_classification_job, make_segmentation_job
from samples.video import make_video_job

# The intake is on by default; the demo names a work team so StartLabelingJob can create a job,
# and the customer's bucket its first job labeled images in.
DEMO_CONTEXT = {
    "workteamArn": "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/demo",
    "imageBuckets": CUSTOMER_IMAGES,
}
INTAKE_DATASET = "shapes"
INTAKE_JOB = "shapes-batch-1"
STRAY_FILE = f"images/{INTAKE_DATASET}/README.txt"


def completion_event(job_name: str) -> dict[str, Any]:
    """The event SageMaker sends, as documented (only the job ARN and status vary)."""
    return {
        "version": "0", "id": "5c2c1b9a-0000-4000-8000-000000000001",
        "detail-type": "SageMaker Ground Truth Labeling Job State Change",
        "source": "aws.sagemaker", "account": "123456789012", "time": "2026-11-24T12:26:13Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{job_name}"],
        "detail": {"LabelingJobStatus": "Completed"},
    }  # fmt: skip


@dataclass
class IntakeLoop:
    """What each step of the intake loop produced."""

    job: SampleJob
    dropped: int
    manifest_lines: list[str]
    started: Execution
    request: dict[str, Any]
    converted: Execution | None


def run_intake_loop(cloud: LocalCloud, images: int = 12) -> IntakeLoop:
    """Dropped images -> input manifest -> StartLabelingJob -> (simulated labeling) ->
    completion event -> conversion."""
    from gt2yolo.labeling_job import label_attribute_name

    s3 = cloud.client("s3")
    job = make_sample_job(cloud.bucket, INTAKE_JOB, images=images, seed=11,
                          dataset=INTAKE_DATASET, label_attribute=label_attribute_name(INTAKE_JOB))  # fmt: skip
    drops = {key: body for key, body in job.objects.items() if key.startswith("images/")}
    drops[STRAY_FILE] = b"not an image: the intake skips it\n"
    for key, body in drops.items():
        s3.put_object(Bucket=cloud.bucket, Key=key, Body=body)
        cloud.put_event(object_created_event(cloud.bucket, key, len(body)))
    cloud.deliver_queued()
    manifest = s3.get_object(Bucket=cloud.bucket, Key=f"manifests/input/{INTAKE_DATASET}.manifest")
    lines = manifest["Body"].read().decode().splitlines()

    cloud.expect_create_labeling_job(INTAKE_JOB)
    started = cloud.start_labeling_job(
        {"dataset": INTAKE_DATASET, "labels": list(CLASSES), "job_name": INTAKE_JOB}
    )
    if started.status != "SUCCEEDED":
        return IntakeLoop(job, len(drops), lines, started, {}, None)
    request = cloud.labeling_job_requests[-1]
    for key, body in job.objects.items():  # the labelers' work, as Ground Truth stores it
        if key.startswith("groundtruth/"):
            s3.put_object(Bucket=cloud.bucket, Key=key, Body=body)
    described = job.describe_response()
    described.update({name: request[name] for name in (
        "LabelAttributeName", "InputConfig", "OutputConfig", "RoleArn",
        "LabelCategoryConfigS3Uri", "HumanTaskConfig")})  # fmt: skip
    cloud.expect_describe_labeling_job(described)
    converted = cloud.put_event(completion_event(INTAKE_JOB))
    return IntakeLoop(job, len(drops), lines, started, request, converted)


def task_jobs(bucket: str) -> list[SampleJob]:
    """The other Ground Truth image tasks' sample jobs (images in the customer's bucket)."""
    return [
        make_segmentation_job(bucket, image_bucket=CUSTOMER_IMAGES),
        make_classification_job(bucket, image_bucket=CUSTOMER_IMAGES),
        make_classification_job(bucket, "demo-multilabel", dataset="tags", multilabel=True,
                                image_bucket=CUSTOMER_IMAGES),
        make_video_job(bucket, image_bucket=CUSTOMER_IMAGES),
    ]  # fmt: skip


def run_task_job(cloud: LocalCloud, job: SampleJob) -> Execution | None:
    """A finished job of another task: its output in the buckets, then its completion event."""
    cloud.put_objects(job.objects)
    cloud.put_objects(job.image_objects, CUSTOMER_IMAGES)
    cloud.expect_describe_labeling_job(job.describe_response())
    return cloud.put_event(completion_event(job.job_name))


def run_dropped_manifest(cloud: LocalCloud, job: SampleJob, verbose: bool) -> bool:
    """The job's manifest dropped under manifests/ (the second trigger), then dropped again
    with two lines relabeled (a new version of that dataset)."""
    s3 = cloud.client("s3")
    manifest_key = "manifests/demo-dropped.manifest"
    manifest = job.objects[job.manifest_key]
    s3.put_object(Bucket=cloud.bucket, Key=manifest_key, Body=manifest)
    s3.put_object(Bucket=cloud.bucket, Key=manifest_key + ".json", Body=json.dumps(
        {"label_config": f"s3://{cloud.bucket}/{job.config_key}"}).encode())  # fmt: skip
    with _lambda_logs_hidden(not verbose):
        dropped = cloud.put_event(object_created_event(cloud.bucket, manifest_key, len(manifest)))
    if dropped is None or dropped.status != "SUCCEEDED":
        print(f"manifest-drop conversion failed: {dropped}", file=sys.stderr)
        return False
    print(f"manifest dropped        -> {' -> '.join(dropped.states)}")
    # Relabeling: the same manifest with two lines' boxes moved becomes a new version that
    # writes only what changed; readers keep the first version until the pointer flips.
    edited = relabeled(manifest, job.label_attribute, 2)
    s3.put_object(Bucket=cloud.bucket, Key=manifest_key, Body=edited)
    with _lambda_logs_hidden(not verbose):
        rerun = cloud.put_event(object_created_event(cloud.bucket, manifest_key, len(edited)))
    if rerun is None or rerun.status != "SUCCEEDED" or rerun.output is None:
        print(f"relabeled-manifest conversion failed: {rerun}", file=sys.stderr)
        return False
    print(f"2 lines relabeled       -> {' -> '.join(rerun.states)}: version "
          f"{rerun.output['version']} (see its message below)")  # fmt: skip
    return True


@contextmanager
def _lambda_logs_hidden(hide: bool) -> Iterator[None]:
    """The handlers' JSON logs and EMF metrics go to CloudWatch in AWS; here they'd bury the
    summary. `--verbose` shows them."""
    if not hide:
        yield
        return
    with redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def run_demo(out: Path, verbose: bool = False) -> int:
    print("synthesizing the CDK stack ...", flush=True)
    assembly = synthesize(DEMO_CONTEXT)
    with LocalCloud(assembly) as cloud:
        print(f"{len(cloud.functions)} Lambda functions, each run as deployed: its own process, "
              f"its asset and layers from {assembly.directory.name}, the runtime's SDK")  # fmt: skip
        cloud.create_bucket(CUSTOMER_IMAGES)
        job = make_sample_job(cloud.bucket, image_bucket=CUSTOMER_IMAGES)
        cloud.put_objects(job.objects)
        cloud.put_objects(job.image_objects, CUSTOMER_IMAGES)
        print(f"bucket {CUSTOMER_IMAGES} (yours, imageBuckets): {len(job.truth)} sample images; "
              f"bucket {cloud.bucket} (the stack's): job {job.job_name} output")  # fmt: skip

        cloud.expect_describe_labeling_job(job.describe_response())
        with _lambda_logs_hidden(not verbose):
            execution = cloud.put_event(completion_event(job.job_name))
        if execution is None or execution.status != "SUCCEEDED":
            print(f"labeling-job conversion failed: {execution}", file=sys.stderr)
            return 1
        print(f"labeling job completed -> {' -> '.join(execution.states)}")

        if not run_dropped_manifest(cloud, job, verbose):
            return 1

        with _lambda_logs_hidden(not verbose):
            loop = run_intake_loop(cloud)
        if loop.converted is None or loop.converted.status != "SUCCEEDED":
            print(f"intake loop failed: {loop.started} {loop.converted}", file=sys.stderr)
            return 1
        _print_intake(loop)

        print()
        for task_job in task_jobs(cloud.bucket):
            with _lambda_logs_hidden(not verbose):
                converted = run_task_job(cloud, task_job)
            if converted is None or converted.status != "SUCCEEDED":
                print(f"{task_job.job_name} conversion failed: {converted}", file=sys.stderr)
                return 1
            print(f"{task_job.pre_annotation.removeprefix('PRE-')} job {task_job.job_name} "
                  f"completed -> {' -> '.join(converted.states)}")  # fmt: skip

        if out.exists():
            shutil.rmtree(out)
        files = download_datasets(cloud.client("s3"), cloud.bucket, "datasets/", out)
        notes = cloud.notifications()
        checked, refused = cloud.s3_gate.checked, cloud.denials
    _print_result(out, files, job.job_name, notes)
    print(f"\nIAM for S3: {checked} requests of the functions checked against their roles' "
          f"policies, {len(refused)} refused")  # fmt: skip
    for denial in refused:
        print(f"  refused: {denial.function} {denial.check.action} {denial.check.resource}")
    return 0


def _print_intake(loop: IntakeLoop) -> None:
    request = loop.request
    print(f"\nintake: {loop.dropped} objects dropped under images/{INTAKE_DATASET}/ -> "
          f"manifests/input/{INTAKE_DATASET}.manifest has {len(loop.manifest_lines)} images "
          f"({STRAY_FILE} skipped)")  # fmt: skip
    print(f"start labeling job      -> {' -> '.join(loop.started.states)}")
    print(f"  CreateLabelingJob {request['LabelingJobName']}: label attribute "
          f"{request['LabelAttributeName']}, output {request['OutputConfig']['S3OutputPath']}, "
          f"pre-annotation {request['HumanTaskConfig']['PreHumanTaskLambdaArn']}")  # fmt: skip
    assert loop.converted is not None
    print(f"labeling job completed -> {' -> '.join(loop.converted.states)}")


def _print_result(out: Path, files: int, job_name: str, notes: list[dict[str, Any]]) -> None:
    report = json.loads((out / job_name / "report.json").read_text())
    print(f"\n{files} files written under {out}/ (one dataset per trigger)")
    print(f"dataset {out / job_name}:")
    print(f"  images {report['images']} {report['images_per_split']}, boxes {report['boxes']}, "
          f"classes {report['classes']}")  # fmt: skip
    print(f"  rejected lines {report['rejected']}, clamped boxes {report['clamped_boxes']}, "
          f"dropped boxes {report['dropped_boxes']}")  # fmt: skip
    for note in notes:
        print(f"\nSNS: {note.get('Subject')}\n{note.get('Message')}")
    _print_report(out / job_name)
    print(f"\nTrain: yolo detect train data={out / job_name / 'data.yaml'}")
    _print_exports(out / job_name, report)
    _print_task_datasets(out)


def _print_exports(dataset: Path, report: dict[str, Any]) -> None:
    """The other formats the version was written in (the `exports` context: COCO by default)."""
    for name, entry in (report.get("exports") or {}).items():
        if entry.get("written"):
            files = ", ".join(
                f"{dataset / key} ({counts.get('images', counts.get('lines', 0))} images)"
                for key, counts in entry["files"].items()
            )
            print(f"Export {name}: {files}")


def _print_task_datasets(out: Path) -> None:
    """The segmentation and classification datasets, and how each is trained."""
    for job in task_jobs("demo"):
        dataset = out / job.job_name
        report = json.loads((dataset / "report.json").read_text())
        task = report["task"]
        video = report.get("video")
        if task == "segment":
            counts = (f"{report['boxes']} polygons ({report['segmentation']['regions_with_holes']}"
                      f" with holes), rejected {report['rejected']}")  # fmt: skip
        elif video:
            task = "video frames, detect"
            counts = (f"{video['sequences']} sequences, {report['boxes']} boxes, "
                      f"{video['tracks']} tracks in mot/")  # fmt: skip
        else:
            counts = f"per class {report['classification']['images_per_class']}"
        print(f"\ndataset {dataset} ({task}): images {report['images']} "
              f"{report['images_per_split']}, {counts}")  # fmt: skip
        if video:
            print(f"  Train: yolo detect train data={dataset / 'data.yaml'}; tracks: "
                  f"{dataset / 'mot'}/<sequence>/gt/gt.txt")  # fmt: skip
        elif task == "segment":
            print(f"  Train: yolo segment train data={dataset / 'data.yaml'}")
        elif report["classification"]["multilabel"]:
            print(f"  multi-label: {dataset / 'labels.csv'} (Ultralytics has no multi-label "
                  "classifier)")  # fmt: skip
        else:
            print(f"  Train: yolo classify train data={dataset}")


def _print_report(dataset: Path) -> None:
    page = dataset / "report.html"
    if not page.is_file():
        print("\nno report.html: the Report step failed (see the notification above)")
        return
    previews = sum(1 for _ in (dataset / "previews").rglob("*.jpg"))
    workers = (dataset / "workers.csv").read_text(encoding="utf-8").splitlines()[1:]
    print(f"\nReport ({previews} previews, {len(workers)} labelers in workers.csv): "
          f"open {page.resolve().as_uri()}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo-output", type=Path)
    parser.add_argument("--verbose", action="store_true", help="show the handlers' logs")
    args = parser.parse_args()
    return run_demo(args.out, args.verbose)


if __name__ == "__main__":
    sys.exit(main())
