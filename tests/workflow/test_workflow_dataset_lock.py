"""The dataset lock on the in-memory store: one holder, a crashed holder's lock is taken over."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from gt2yolo.memory_store import MemoryObjects
from workflow import dataset_lock
from workflow.errors import ConversionInProgress

ROOT = "s3://stack-bucket/datasets/pets/"


def test_given_a_held_lock_when_another_acquires_then_conversion_in_progress() -> None:
    store = MemoryObjects().at(ROOT)
    token = dataset_lock.acquire(store)
    with pytest.raises(ConversionInProgress, match=r"datasets/pets/_LOCK is held since"):
        dataset_lock.acquire(store)
    assert json.loads(store.read_bytes(dataset_lock.LOCK_NAME))["token"] == token


def test_given_a_stale_lock_when_acquired_then_it_is_taken_over() -> None:
    store = MemoryObjects().at(ROOT)
    stale = dataset_lock.acquire(store, now=datetime.now(UTC) - timedelta(minutes=17))
    token = dataset_lock.acquire(store)
    assert token != stale
    assert json.loads(store.read_bytes(dataset_lock.LOCK_NAME))["token"] == token


def test_a_fan_out_hold_outlasts_the_single_lambda_limit() -> None:
    store = MemoryObjects().at(ROOT)
    dataset_lock.acquire(store, now=datetime.now(UTC) - timedelta(hours=1), hold=timedelta(hours=2))
    with pytest.raises(ConversionInProgress):
        dataset_lock.acquire(store)


def test_release_deletes_only_its_own_lock() -> None:
    store = MemoryObjects().at(ROOT)
    token = dataset_lock.acquire(store)
    dataset_lock.release(store, "someone-else")
    assert store.exists(dataset_lock.LOCK_NAME)
    dataset_lock.release(store, token)
    assert not store.exists(dataset_lock.LOCK_NAME)


def test_an_unreadable_lock_counts_as_crashed() -> None:
    store = MemoryObjects().at(ROOT)
    store.write_bytes(dataset_lock.LOCK_NAME, b"not json")
    assert dataset_lock.acquire(store)
