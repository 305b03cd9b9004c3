"""Reading a published dataset back as its users see it: one version's files at their keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gt2yolo.versions import (
    POINTER,
    VersionedStorage,
    close_version,
    materialize,
    new_version_id,
)
from gt2yolo_aws.s3 import S3Storage


def version_files(
    client: Any, bucket: str, prefix: str, version: str | None = None
) -> dict[str, bytes]:
    """{dataset key: bytes} of a version of the dataset under `prefix` (the current one when
    none is named): the plain dataset, as a conversion into an empty folder writes it."""
    objects = S3Storage(f"s3://{bucket}/{prefix}", client, buffered=False)
    return dict(materialize(objects, version))


def upload_as_version(
    client: Any, bucket: str, prefix: str, folder: Path, version: str | None = None
) -> str:
    """Put a dataset converted into a local folder under `prefix` as a new (unpublished)
    version, through the storage conversions write versions with; return its id."""
    version = version or new_version_id()
    storage = S3Storage(f"s3://{bucket}/{prefix}", client)
    store = VersionedStorage(storage, version, None)
    try:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            store.write_bytes(path.relative_to(folder).as_posix(), path.read_bytes())
        store.flush()
    finally:
        storage.close()
    close_version(
        S3Storage(f"s3://{bucket}/{prefix}", client, buffered=False), version, store.entries
    )
    return version


def download_datasets(client: Any, bucket: str, prefix: str, target: Path) -> int:
    """Every published dataset under `prefix`, its current version written as a plain folder
    (`target/<name>/`, what `gt2yolo convert --out` writes); return the files written."""
    pointers = [
        key
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if (key := item["Key"]).endswith("/" + POINTER)
    ]
    count = 0
    for pointer in pointers:
        dataset = pointer.removesuffix(POINTER)
        for key, data in version_files(client, bucket, dataset).items():
            path = target / dataset.removeprefix(prefix) / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            count += 1
    return count
