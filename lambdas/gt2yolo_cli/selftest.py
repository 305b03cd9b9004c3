"""`gt2yolo selftest --stack NAME`: prove a deployed stack converts, end to end, then clean up.

It does what a user does: puts a few generated images, their label config and a sidecar under
`manifests/selftest/<run>/`, then drops a generated output manifest (one line is deliberately
malformed) at `manifests/selftest/<run>.manifest`. The stack's own trigger starts the
conversion. It waits for `datasets/selftest/<run>/_SUCCESS`, checks every label file against the
boxes it drew and report.json against the lines it wrote, prints each state the execution went
through with its duration, and deletes every object (and object version) it created.

Needs credentials that may read the stack's outputs, put/get/delete objects in its bucket and
read its state machine's executions. Runs against the local cloud in the test suite
(`AWS_ENDPOINT_URL`), so it is known to work before anyone runs it in AWS.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import struct
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

COMMAND = "selftest"
LABEL_ATTRIBUTE = "selftest-boxes"
CLASSES = ("square", "bar")
# Label rows hold 6 significant digits: values agree to well within this.
TOLERANCE = 1e-5
POLL_SECONDS = 2.0


class SelftestFailed(Exception):
    """The stack did not produce what the self-test put in."""


@dataclass(frozen=True)
class Box:
    class_id: int
    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True)
class SelftestImage:
    name: str
    width: int
    height: int
    boxes: tuple[Box, ...]

    def expected_rows(self) -> list[tuple[int, float, float, float, float]]:
        """The YOLO rows this image's label file must hold: class, center x/y, width, height."""
        return [
            (
                b.class_id,
                (b.left + b.width / 2) / self.width,
                (b.top + b.height / 2) / self.height,
                b.width / self.width,
                b.height / self.height,
            )
            for b in self.boxes
        ]


# Boxes of both classes, one image without boxes (a background image), odd sizes.
SELFTEST_IMAGES = (
    SelftestImage("a.png", 64, 48, (Box(0, 4, 6, 20, 20), Box(1, 30, 10, 30, 8))),
    SelftestImage("b.png", 50, 50, (Box(1, 0, 0, 25, 10),)),
    SelftestImage("sub/c.png", 40, 30, (Box(0, 10, 5, 12, 12), Box(0, 24, 14, 10, 10))),
    SelftestImage("d.png", 32, 32, ()),
)
COLORS = ((220, 40, 40), (40, 90, 220))


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        COMMAND,
        help="after `cdk deploy`: convert a generated manifest through the stack, check, clean up",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--stack", required=True, help="the stack name (outputs: BucketName...)")
    parser.add_argument("--region", help="the stack's region (default: your AWS configuration)")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                        help="how long to wait for the dataset (default 600)")  # fmt: skip
    parser.add_argument("--keep", action="store_true",
                        help="leave the test objects and dataset in the bucket")  # fmt: skip


def main(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    # Imported here: every `gt2yolo` command builds this parser, and boto3 costs ~0.2 s to load.
    import boto3

    session = boto3.session.Session(region_name=args.region)
    try:
        run_selftest(session, args.stack, args.timeout, args.keep, out)
    except SelftestFailed as exc:
        print(f"gt2yolo: error: selftest failed: {exc}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as exc:  # credentials, endpoint, access
        print(f"gt2yolo: error: selftest failed: AWS: {exc}", file=sys.stderr)
        return 1
    return 0


def run_selftest(
    session: Any, stack: str, timeout: float, keep: bool, out: Callable[[str], None]
) -> None:
    outputs = stack_outputs(session.client("cloudformation"), stack)
    bucket, machine = outputs["BucketName"], outputs["StateMachineArn"]
    s3, sfn = session.client("s3"), session.client("stepfunctions")
    run = f"{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    inputs = f"manifests/selftest/{run}/"
    manifest_key = f"manifests/selftest/{run}.manifest"
    dataset = f"datasets/selftest/{run}/"
    created = [inputs, manifest_key, dataset]
    out(f"stack {stack}: bucket {bucket}, run {run}")
    try:
        started = time.time()
        _put_inputs(s3, bucket, inputs, manifest_key)
        out(f"put {len(SELFTEST_IMAGES)} images and {manifest_key}; waiting for {dataset}_SUCCESS")
        _wait_for(s3, bucket, dataset + "_SUCCESS", timeout)
        out(f"dataset published after {time.time() - started:.1f} s")
        _print_execution(sfn, machine, manifest_key, timeout, out)
        checked = check_dataset(s3, bucket, dataset, f"s3://{bucket}/{inputs}")
        out(f"checked {checked} label files and report.json: as generated")
    finally:
        if keep:
            out(f"kept {', '.join(created)}")
        else:
            removed = sum(_delete_all_versions(s3, bucket, prefix) for prefix in created)
            out(f"removed {removed} object versions the self-test created")
    out("selftest passed")


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    try:
        [described] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        raise SelftestFailed(f"cannot read the stack {stack}: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    missing = {"BucketName", "StateMachineArn"} - set(outputs)
    if missing:
        raise SelftestFailed(f"stack {stack} has no output {', '.join(sorted(missing))}")
    return outputs


def manifest_lines(images_uri: str) -> list[str]:
    """The output manifest of a finished bounding-box job for SELFTEST_IMAGES, then one line that
    is not JSON (the conversion must count it and go on)."""
    lines = []
    class_map = {str(i): name for i, name in enumerate(CLASSES)}
    for image in SELFTEST_IMAGES:
        annotations = [{"class_id": b.class_id, "left": b.left, "top": b.top,
                        "width": b.width, "height": b.height} for b in image.boxes]  # fmt: skip
        line = {
            "source-ref": images_uri + image.name,
            LABEL_ATTRIBUTE: {
                "image_size": [{"width": image.width, "height": image.height, "depth": 3}],
                "annotations": annotations,
            },
            f"{LABEL_ATTRIBUTE}-metadata": {
                "objects": [{"confidence": 0.99} for _ in image.boxes],
                "class-map": class_map, "type": "groundtruth/object-detection",
                "human-annotated": "yes", "creation-date": "2026-12-01T00:00:00.000000",
                "job-name": "labeling-job/selftest",
            },
        }  # fmt: skip
        lines.append(json.dumps(line))
    lines.append('{"source-ref": "s3://not/json"')
    return lines


def png(image: SelftestImage) -> bytes:
    """A real PNG (white, each box filled with its class color): readers and Pillow open it."""
    rows = []
    for y in range(image.height):
        row = bytearray(b"\x00")  # filter type None
        for x in range(image.width):
            color = (255, 255, 255)
            for b in image.boxes:
                if b.left <= x < b.left + b.width and b.top <= y < b.top + b.height:
                    color = COLORS[b.class_id % len(COLORS)]
            row += bytes(color)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", image.width, image.height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _put_inputs(s3: Any, bucket: str, inputs: str, manifest_key: str) -> None:
    for image in SELFTEST_IMAGES:
        s3.put_object(Bucket=bucket, Key=inputs + image.name, Body=png(image),
                      ContentType="image/png")  # fmt: skip
    config = {"labels": [{"label": name} for name in CLASSES]}
    s3.put_object(Bucket=bucket, Key=inputs + "labels.json", Body=json.dumps(config).encode())
    sidecar = {"label_attribute": LABEL_ATTRIBUTE,
               "label_config": f"s3://{bucket}/{inputs}labels.json"}  # fmt: skip
    s3.put_object(Bucket=bucket, Key=manifest_key + ".json", Body=json.dumps(sidecar).encode())
    body = "\n".join(manifest_lines(f"s3://{bucket}/{inputs}")) + "\n"
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=body.encode())  # the trigger: last


def _wait_for(s3: Any, bucket: str, key: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in {"404", "NoSuchKey", "NotFound"}:
                raise SelftestFailed(f"cannot read s3://{bucket}/{key}: {exc}") from exc
        time.sleep(POLL_SECONDS)
    raise SelftestFailed(
        f"no s3://{bucket}/{key} after {timeout:.0f} s: see the state machine's executions "
        "and the notification topic"
    )


def check_dataset(s3: Any, bucket: str, dataset: str, images_uri: str) -> int:
    """Every label file holds the generated boxes; report.json counts what was put in (read
    from the dataset's current version, as its users read it)."""
    view = _current_version(s3, bucket, dataset)

    def read(key: str) -> str:
        data = view.read_bytes(key)
        if data is None:
            raise SelftestFailed(f"cannot read {view.location(key)}")
        return str(data.decode("utf-8"))

    report = json.loads(read("report.json"))
    if report.get("images") != len(SELFTEST_IMAGES):
        raise SelftestFailed(
            f"report.json: {report.get('images')} images, not {len(SELFTEST_IMAGES)}"
        )
    if report.get("rejected") != {"malformed_json": 1}:
        raise SelftestFailed(f"report.json: rejected {report.get('rejected')}, expected 1 line")
    if report.get("classes") != list(CLASSES):
        raise SelftestFailed(f"report.json: classes {report.get('classes')}")
    rows = csv.DictReader(io.StringIO(read("images.csv")))
    labels = {row["source_ref"]: row["label"] for row in rows}
    for image in SELFTEST_IMAGES:
        label = labels.get(images_uri + image.name)
        if label is None:
            raise SelftestFailed(f"images.csv has no row for {image.name}")
        compare_label_rows(image, read(label))
    return len(SELFTEST_IMAGES)


def _current_version(s3: Any, bucket: str, dataset: str) -> Any:
    # Imported here: the CLI's startup (which lists this command) stays free of boto3.
    from gt2yolo.versions import VersionView, read_index, read_pointer
    from gt2yolo_aws.s3 import S3Storage

    root = f"s3://{bucket}/{dataset}"
    objects = S3Storage(root, s3, buffered=False)
    pointer = read_pointer(objects)
    if pointer is None:
        raise SelftestFailed(f"{root}current.json is missing or unreadable")
    return VersionView(objects, pointer.version, read_index(objects, pointer.version))


def compare_label_rows(image: SelftestImage, text: str) -> None:
    found = sorted(tuple(float(v) for v in line.split()) for line in text.splitlines() if line)
    expected = sorted(image.expected_rows())
    if len(found) != len(expected) or any(
        int(f[0]) != e[0] or any(abs(a - b) > TOLERANCE for a, b in zip(f[1:], e[1:], strict=True))
        for f, e in zip(found, expected, strict=True)
    ):
        raise SelftestFailed(f"{image.name}: label rows {found}, expected {expected}")


def _print_execution(
    sfn: Any, machine: str, manifest_key: str, timeout: float, out: Callable[[str], None]
) -> None:
    """The execution that converted the manifest: its end state and each state's duration."""
    execution = _find_execution(sfn, machine, manifest_key)
    if execution is None:
        out("(the execution that converted it was not found among the 50 most recent)")
        return
    arn = execution["executionArn"]
    deadline = time.monotonic() + timeout
    while execution["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS / 4)  # _SUCCESS is written by Publish, just before the end
        execution = sfn.describe_execution(executionArn=arn)
    out(f"execution {arn.rsplit(':', 1)[-1]}: {execution['status']}")
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    for name, seconds in state_durations(history):
        out(f"  {name:<24} {seconds:8.2f} s")
    if execution["status"] != "SUCCEEDED":
        raise SelftestFailed(f"the execution ended {execution['status']}")


def _find_execution(sfn: Any, machine: str, manifest_key: str) -> dict[str, Any] | None:
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=machine, PaginationConfig={"MaxItems": 50}
    )
    for page in pages:
        for execution in page["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if manifest_key in described.get("input", ""):
                return dict(described)
    return None


def state_durations(events: Sequence[dict[str, Any]]) -> list[tuple[str, float]]:
    """(state, seconds from entering to leaving it), in the order the states were entered."""
    entered: dict[str, datetime] = {}
    order: list[str] = []
    durations: dict[str, float] = {}
    for event in events:
        if "stateEnteredEventDetails" in event:
            name = event["stateEnteredEventDetails"]["name"]
            entered[name] = event["timestamp"]
            order.append(name)
        elif "stateExitedEventDetails" in event:
            name = event["stateExitedEventDetails"]["name"]
            if name in entered:
                durations[name] = (event["timestamp"] - entered[name]).total_seconds()
    return [(name, durations.get(name, 0.0)) for name in order]


def _delete_all_versions(s3: Any, bucket: str, prefix: str) -> int:
    """Every version and delete marker under the prefix (the bucket is versioned)."""
    removed = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        batch = [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries]
        for start in range(0, len(batch), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": batch[start : start + 1000]})
        removed += len(batch)
    return removed
