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

from gt2yolo.storage import ObjectStore, read_or_none

from workflow.errors import ConversionInProgress

LOCK_NAME = "_LOCK"
STALE_AFTER = timedelta(minutes=16)


def acquire(
    store: ObjectStore,
    now: datetime | None = None,
    hold: timedelta = STALE_AFTER,
) -> str:
    """Take the lock of the dataset at `store` (its root); return the token that releases it.

    `hold`: how long the holder may run before its lock counts as crashed (a fan-out conversion
    runs for longer than one Lambda).
    """
    token = uuid.uuid4().hex
    created_at = (now or datetime.now(UTC)).isoformat()
    body = json.dumps(
        {"token": token, "created_at": created_at, "hold_seconds": hold.total_seconds()}
    ).encode()
    if store.create(LOCK_NAME, body):
        return token
    held = _read(store)
    if held is not None and not _stale(held, now):
        raise ConversionInProgress(
            f"{store.location(LOCK_NAME)} is held since {held.get('created_at')}"
        )
    store.write_bytes(LOCK_NAME, body)  # take over a crashed run's lock
    return token


def release(store: ObjectStore, token: str) -> None:
    """Delete the lock if it is still ours (a stale-lock takeover may have replaced it)."""
    held = _read(store)
    if held is not None and held.get("token") == token:
        store.delete_keys([LOCK_NAME])


def _read(store: ObjectStore) -> dict[str, Any] | None:
    raw = read_or_none(store, LOCK_NAME)
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
