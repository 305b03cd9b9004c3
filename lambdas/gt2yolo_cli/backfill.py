"""`gt2yolo backfill --stack NAME`: have a deployed stack convert the labeling jobs that finished
before it existed.

The command only starts the stack's Backfill state machine (stack output
BackfillStateMachineArn) and watches it: the run goes on in the account if the laptop closes
(start it again with the same options later: what it started is not started twice). While it
runs, a progress bar from the run's log `s3://<bucket>/backfill/<run id>.json`; at the end, one
line per job (started, already converted, skipped with the reason) and the totals.

Needs credentials that may read the stack's outputs, start and describe the Backfill state
machine's executions and read `backfill/` in the stack's bucket.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

COMMAND = "backfill"
POLL_SECONDS = 2.0
BAR_WIDTH = 30
STATE_MACHINE_OUTPUT = "BackfillStateMachineArn"
BUCKET_OUTPUT = "BucketName"
LOG_PREFIX = "backfill/"  # gt2yolo_config.defaults.BACKFILL_PREFIX, as the stack sets it
# The order of the closing table and totals.
OUTCOMES = ("started", "would start", "already converted", "skipped")


class BackfillFailed(Exception):
    """The stack could not be found or the run failed; the message says why."""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        COMMAND,
        help="after `cdk deploy`: convert the account's past labeling jobs through the stack",
        description="Find the account's finished labeling jobs (ListLabelingJobs) and have the "
        "deployed stack convert each, as if it had just finished. The run goes on in the "
        "account; a rerun starts nothing for a job already converted.",
    )
    parser.add_argument("--stack", required=True, help="the stack name (outputs: BucketName...)")
    parser.add_argument("--since", type=_date, metavar="DATE",
                        help="only jobs created after DATE (ISO 8601, e.g. 2024-01-31; UTC "
                        "unless it says otherwise)")  # fmt: skip
    parser.add_argument("--name-prefix", default="", metavar="P",
                        help="only jobs whose name starts with P")  # fmt: skip
    parser.add_argument("--status", default="Completed", metavar="S[,S]",
                        help="Completed, Stopped or both, comma separated (default Completed)")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true",
                        help="list and classify the jobs, print what would start, start nothing")  # fmt: skip
    parser.add_argument("--region", help="the stack's region (default: your AWS configuration)")
    parser.add_argument("--timeout", type=float, default=6 * 3600.0, metavar="SECONDS",
                        help="stop watching after this long (the run goes on; default 6 h)")  # fmt: skip
    parser.add_argument("--poll", type=float, default=POLL_SECONDS, metavar="SECONDS",
                        help=argparse.SUPPRESS)  # fmt: skip


def _date(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    # Imported here: every `gt2yolo` command builds this parser, and boto3 costs ~0.2 s to load.
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
    from pydantic import ValidationError
    from workflow.backfill import BackfillRun

    try:
        run = BackfillRun(
            run_id=new_run_id(),
            statuses=tuple(s.strip() for s in args.status.split(",") if s.strip()),
            name_prefix=args.name_prefix,
            since=args.since,
            dry_run=args.dry_run,
        )
    except ValidationError as exc:
        print(f"gt2yolo: error: {_first_error(exc)}", file=sys.stderr)
        return 2
    session = boto3.session.Session(region_name=args.region)
    try:
        log = watch(session, args.stack, run, args.timeout, args.poll, sys.stderr)
    except BackfillFailed as exc:
        print(f"gt2yolo: error: backfill failed: {exc}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as exc:
        print(f"gt2yolo: error: backfill failed: AWS: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nstopped watching; backfill {run.run_id} goes on in the account",
              file=sys.stderr)  # fmt: skip
        return 130
    for line in closing_table(log):
        out(line)
    return 0


def new_run_id() -> str:
    """Sortable by start time, unique: also the name of the Backfill execution."""
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


def _first_error(exc: Any) -> str:
    errors = exc.errors()
    return str(errors[0]["msg"]).removeprefix("Value error, ") if errors else str(exc)


def watch(
    session: Any, stack: str, run: Any, timeout: float, poll: float, progress: TextIO
) -> dict[str, Any]:
    """Start the run in the stack, show its progress, return its log when it ends."""
    outputs = stack_outputs(session.client("cloudformation"), stack)
    sfn, s3 = session.client("stepfunctions"), session.client("s3")
    bucket = outputs[BUCKET_OUTPUT]
    started = sfn.start_execution(
        stateMachineArn=outputs[STATE_MACHINE_OUTPUT],
        name=run.run_id,
        input=json.dumps({"run": run.model_dump(mode="json")}),
    )
    where = f"s3://{bucket}/{LOG_PREFIX}{run.log_key}"
    print(f"backfill {run.run_id} started in stack {stack} (log: {where})", file=progress)
    deadline = time.monotonic() + timeout
    while True:
        status = sfn.describe_execution(executionArn=started["executionArn"])
        log = read_log(s3, bucket, LOG_PREFIX + run.log_key)
        if log is not None:
            print(f"\r{progress_bar(log)}", end="", file=progress, flush=True)
        if status["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise BackfillFailed(f"still running after {timeout:g} s; it goes on: see {where}")
        time.sleep(poll)
    print(file=progress)
    if status["status"] != "SUCCEEDED" or log is None or not log.get("done"):
        cause = status.get("cause") or status.get("error") or status["status"]
        raise BackfillFailed(f"run {run.run_id} {status['status']}: {cause}")
    return log


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    from botocore.exceptions import ClientError

    try:
        [described] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        raise BackfillFailed(f"cannot read the stack {stack}: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    missing = {STATE_MACHINE_OUTPUT, BUCKET_OUTPUT} - set(outputs)
    if missing:
        raise BackfillFailed(
            f"stack {stack} has no output {', '.join(sorted(missing))} (deployed before "
            "backfill existed? run `cdk deploy` again)"
        )
    return outputs


def read_log(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            return None  # the listing step has not written it yet
        raise
    log: dict[str, Any] = json.loads(body)
    return log


def progress_bar(log: dict[str, Any]) -> str:
    total = int(log.get("total", 0))
    done = len(log.get("results", []))
    filled = BAR_WIDTH * done // total if total else BAR_WIDTH
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} jobs"


def closing_table(log: dict[str, Any]) -> list[str]:
    """One line per job, then the totals, then what a rerun would do."""
    results = log.get("results", [])
    width = max([len("job"), *(len(r["job"]) for r in results)])
    lines = [f"{'job':<{width}}  outcome            reason"]
    order = {outcome: index for index, outcome in enumerate(OUTCOMES)}
    for result in sorted(results, key=lambda r: (order.get(r["outcome"], 9), r["job"])):
        lines.append(f"{result['job']:<{width}}  {result['outcome']:<17}  {result['reason']}")
    counts = {outcome: 0 for outcome in OUTCOMES}
    for result in results:
        counts[result["outcome"]] = counts.get(result["outcome"], 0) + 1
    said = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n or outcome == "started")
    lines.append(f"{len(results)} jobs: {said}")
    if log.get("run", {}).get("dry_run"):
        lines.append("dry run: nothing was started")
    elif not counts["started"]:
        lines.append("nothing new to start: every job is already converted or skipped")
    return lines
