"""One contract, three adapters: the folder, S3 (moto in-process) and the in-memory fake answer
every operation of the object-store port alike, a missing key included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gt2yolo.memory_store import MemoryObjects
from gt2yolo.storage import (
    LocalStorage,
    ObjectMissing,
    ObjectStore,
    StoredManifest,
    read_or_none,
    remove_prefix,
    text_lines,
)

BUCKET = "contract-bucket"


@pytest.fixture
def s3_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from gt2yolo_aws.s3 import s3_client as make_client
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        client = make_client(4)
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture(params=["folder", "s3", "s3-buffered", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    made: ObjectStore
    if request.param == "folder":
        made = LocalStorage(tmp_path / "root")
    elif request.param.startswith("s3"):
        from gt2yolo_aws.s3 import S3Storage

        client = request.getfixturevalue("s3_client")
        made = S3Storage(f"s3://{BUCKET}/root/", client, 4, buffered=request.param == "s3-buffered")
    else:
        made = MemoryObjects().at(f"s3://{BUCKET}/root/")
    yield made
    made.close()


def test_a_written_object_reads_back_after_flush(store: ObjectStore) -> None:
    store.write_bytes("labels/train/a.txt", b"0 0.5 0.5 0.1 0.1\n")
    store.flush()
    assert store.read_bytes("labels/train/a.txt") == b"0 0.5 0.5 0.1 0.1\n"
    assert store.exists("labels/train/a.txt")


def test_a_missing_key_is_objectmissing_for_every_read(store: ObjectStore) -> None:
    with pytest.raises(ObjectMissing):
        store.read_bytes("nope.txt")
    with pytest.raises(ObjectMissing), store.open_binary("nope.txt"):
        pass
    with pytest.raises(ObjectMissing):
        store.stat("nope.txt")
    assert not store.exists("nope.txt")
    assert read_or_none(store, "nope.txt") is None
    assert list(text_lines(store, "nope.txt")) == []


def test_a_copy_from_a_missing_key_is_objectmissing(store: ObjectStore) -> None:
    with pytest.raises(ObjectMissing):
        store.copy_keys([("nope.txt", "copy.txt")])
    assert not store.exists("copy.txt")


def test_a_missing_key_is_also_a_filenotfounderror(store: ObjectStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.read_bytes("nope.txt")


def test_listing_is_by_string_prefix_in_key_order(store: ObjectStore) -> None:
    for key in ["versions/v2/a", "versions/v1/b", "versions/v1/a", "versions/v10/a", "other"]:
        store.write_bytes(key, key.encode())
    store.flush()
    assert list(store.list_keys("versions/v1")) == [
        "versions/v1/a", "versions/v1/b", "versions/v10/a",
    ]  # fmt: skip
    assert list(store.list_keys("versions/v1/")) == ["versions/v1/a", "versions/v1/b"]
    assert list(store.list_folders("versions/")) == ["v1", "v10", "v2"]
    assert list(store.list_keys("absent/")) == []


def test_copy_delete_and_remove_prefix(store: ObjectStore) -> None:
    store.write_bytes("a/x", b"x")
    store.write_bytes("a/y", b"y")
    store.flush()
    store.copy_keys([("a/x", "b/x")])
    assert store.read_bytes("b/x") == b"x"
    store.delete_keys(["a/x", "a/never"])  # an absent key is no error
    assert list(store.list_keys("")) == ["a/y", "b/x"]
    remove_prefix(store, "a/")
    assert list(store.list_keys("")) == ["b/x"]
    assert list(store.list_folders("")) == ["b"]


def test_create_writes_only_where_nothing_is(store: ObjectStore) -> None:
    assert store.create("_LOCK", b"first")
    assert not store.create("_LOCK", b"second")
    assert store.read_bytes("_LOCK") == b"first"
    store.delete_keys(["_LOCK"])
    assert store.create("_LOCK", b"third")


def test_an_object_is_replaced_whole(store: ObjectStore) -> None:
    store.write_bytes("k", b"a long first body")
    store.flush()
    store.write_bytes("k", b"short")
    store.flush()
    assert store.read_bytes("k") == b"short"
    assert store.stat("k").size == 5


def test_ranged_reads_and_an_empty_object(store: ObjectStore) -> None:
    store.write_bytes("m", b"0123456789")
    store.write_bytes("empty", b"")
    store.flush()
    with store.open_binary("m", 2, 5) as stream:
        assert stream.read() == b"234"
    with store.open_binary("m", 7) as stream:
        assert stream.read() == b"789"
    with store.open_binary("empty", 0, 10) as stream:
        assert stream.read() == b""
    assert store.stat("empty").size == 0


def test_text_streams_are_utf8_with_newline_ends(store: ObjectStore) -> None:
    with store.open_text("annot.csv") as text:
        text.write("name\nkatze\u00e4\n")
    store.flush()
    assert store.read_bytes("annot.csv") == "name\nkatze\u00e4\n".encode()
    assert list(text_lines(store, "annot.csv")) == ["name\n", "katze\u00e4\n"]


def test_the_etag_names_the_bytes(store: ObjectStore) -> None:
    store.write_bytes("a", b"same")
    store.write_bytes("b", b"other")
    store.flush()
    assert store.stat("a").etag != store.stat("b").etag


def test_a_stored_manifest_streams_lines_and_ranges(store: ObjectStore) -> None:
    store.write_bytes("x.manifest", b'{"a": 1}\n{"b": "\r"}\n{"c": 3}')
    store.flush()
    manifest = StoredManifest(store, "x.manifest")
    assert list(manifest.lines()) == [b'{"a": 1}\n', b'{"b": "\r"}\n', b'{"c": 3}']
    assert list(manifest.lines_between(9, 20)) == [b'{"b": "\r"}\n']
    assert list(manifest.lines_between(5, 5)) == []
    assert manifest.name == store.location("x.manifest")


def test_keys_may_not_leave_the_root_of_a_folder(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    for key in ["../x", "a/../../x", "/etc/passwd", "a//b"]:
        with pytest.raises(ValueError):
            store.write_bytes(key, b"")
        with pytest.raises(ValueError):
            store.read_bytes(key)


def test_the_fake_has_no_folders_a_key_and_its_prefix_coexist() -> None:
    # S3 holds "a/b" and "a/b/c" side by side; a folder could not.
    store = MemoryObjects().at(f"s3://{BUCKET}/")
    store.write_bytes("a/b", b"1")
    store.write_bytes("a/b/c", b"2")
    assert list(store.list_keys("a/")) == ["a/b", "a/b/c"]
    assert list(store.list_folders("a/")) == ["b"]
