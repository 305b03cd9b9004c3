"""One conversion per dataset at a time, with S3 conditional writes as the lock.

SageMaker may send the same event twice, so two executions can start together. The first to
create `_LOCK` (If-None-Match: *) converts; the other gets ConversionInProgress, which the state
machine retries, and later finds `_SUCCESS` with the same fingerprint: same dataset, no second
notification. A lock older than Lambda's 15-minute limit belongs to a crashed run and is taken
over.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from gt2yolo_aws.s3 import get_if_exists

from workflow.errors import ConversionInProgress

LOCK_NAME = "_LOCK"
STALE_AFTER = timedelta(minutes=16)


def acquire(
    client: Any,
    bucket: str,
    prefix: str,
    now: datetime | None = None,
    hold: timedelta = STALE_AFTER,
) -> str:
    """Take the dataset's lock; return the token that releases it.

    `hold`: how long the holder may run before its lock counts as crashed (a fan-out conversion
    runs for longer than one Lambda).
    """
    token = uuid.uuid4().hex
    created_at = (now or datetime.now(UTC)).isoformat()
    body = json.dumps(
        {"token": token, "created_at": created_at, "hold_seconds": hold.total_seconds()}
    )
    key = prefix + LOCK_NAME
    try:
        client.put_object(Bucket=bucket, Key=key, Body=body.encode(), IfNoneMatch="*")
        return token
    except ClientError as exc:
        if _code(exc) not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
            raise
    held = _read(client, bucket, key)
    if held is not None and not _stale(held, now):
        raise ConversionInProgress(f"s3://{bucket}/{key} is held since {held.get('created_at')}")
    client.put_object(Bucket=bucket, Key=key, Body=body.encode())  # take over a crashed run's lock
    return token


def release(client: Any, bucket: str, prefix: str, token: str) -> None:
    """Delete the lock if it is still ours (a stale-lock takeover may have replaced it)."""
    key = prefix + LOCK_NAME
    held = _read(client, bucket, key)
    if held is not None and held.get("token") == token:
        client.delete_object(Bucket=bucket, Key=key)


def _read(client: Any, bucket: str, key: str) -> dict[str, Any] | None:
    raw = get_if_exists(client, bucket, key)
    if raw is None:
        return None
    try:
        held = json.loads(raw)
    except ValueError:
        return {}
    return held if isinstance(held, dict) else {}


def _stale(held: dict[str, Any], now: datetime | None) -> bool:
    try:
        created = datetime.fromisoformat(str(held["created_at"]))
        hold = timedelta(seconds=float(held.get("hold_seconds", STALE_AFTER.total_seconds())))
    except (KeyError, ValueError, TypeError):
        return True
    return (now or datetime.now(UTC)) - created > hold


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
