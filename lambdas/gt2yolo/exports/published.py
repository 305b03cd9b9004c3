"""A published version's exports, each image named where that version stores it.

A conversion writes its exports among the version's own files (`versions/<v>/exports/...`),
naming images by their dataset key (`images/train/a.jpg`): the plain dataset, as a conversion
into an empty folder writes it (and `materialize` reads it back). In the bucket a version's image
lives at `files/<w>/<key>`, under the version that first wrote it, so once the version is closed
(its index final, pairs colocated) each export gets a root copy beside the version's lists:

    <v>.coco.<split>.json       file_name `files/<w>/images/<split>/<path>` (from the root)
    <v>.rekognition.<name>      source-ref `s3://bucket/datasets/<name>/files/<w>/...`
    <v>.sagemaker.<name>

Root keys starting with the version id are the version's entry files: collected with it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

from gt2yolo.errors import ConversionError
from gt2yolo.exports.formats import EXPORTS_PREFIX, ExportFormat
from gt2yolo.exports.writer import ROWS_NAME, json_text
from gt2yolo.storage import ObjectStore


class _Stored:
    """Where the version stores a dataset key (its index: key -> version, digest)."""

    def __init__(self, objects: ObjectStore, entries: Mapping[str, Any]) -> None:
        self.objects = objects
        self.entries = entries

    def key(self, key: str) -> str:
        stored = self.entries.get(key)
        # A key the version does not hold (no images copied) keeps its dataset key.
        return f"files/{stored.version}/{key}" if stored is not None else key


def entry_name(version: str, export_key: str) -> str:
    """`exports/coco/train.json` of version v -> `<v>.coco.train.json`."""
    export, _, name = export_key.removeprefix(EXPORTS_PREFIX).partition("/")
    return f"{version}.{export}.{name}"


def publish_exports(
    objects: ObjectStore, version: str, entries: Mapping[str, Any], base: str | None
) -> list[str]:
    """Write the root copy of each of the version's exports; return their keys.

    `base`: the S3 folder the manifests' source-refs start with (the dataset's root)."""
    own = f"versions/{version}/"
    stored = _Stored(objects, entries)
    written = []
    for key in sorted(objects.list_keys(own + EXPORTS_PREFIX)):
        export_key = key[len(own) :]
        export, _, name = export_key.removeprefix(EXPORTS_PREFIX).partition("/")
        if name.startswith(ROWS_NAME.split("{", 1)[0]):
            continue  # a fan-out chunk's rows (never left behind by a finished merge)
        with objects.open_binary(key) as stream:
            lines = io.TextIOWrapper(stream, encoding="utf-8", newline="\n")
            rewritten = (
                coco_lines(lines, stored)
                if export == ExportFormat.COCO
                else manifest_lines(lines, stored, base)
            )
            target = entry_name(version, export_key)
            with objects.open_text(target) as out:
                for line in rewritten:
                    out.write(line)
        written.append(target)
    return written


def coco_lines(lines: Iterator[str], stored: _Stored) -> Iterator[str]:
    """A COCO file of ours with each image's file_name where the version stores it. The writer
    puts one image per line between `"images":[` and `"annotations":[`."""
    in_images = False
    for line in lines:
        if line.startswith('"images":['):
            in_images = line.rstrip("\n") == '"images":['
        elif line.startswith('"annotations":['):
            in_images = False
        elif in_images:
            end = line.rindex("}") + 1
            image = json.loads(line[:end])
            image["file_name"] = stored.key(image["file_name"])
            yield json_text(image) + line[end:]
            continue
        yield line


def manifest_lines(lines: Iterator[str], stored: _Stored, base: str | None) -> Iterator[str]:
    """JSON Lines whose `source-ref` names an image in the dataset: named where it is stored."""
    for line in lines:
        if not line.strip():
            continue
        entry = json.loads(line)
        ref = entry.get("source-ref")
        if base is None or not isinstance(ref, str) or not ref.startswith(base):
            raise ConversionError(f"an export line names {ref!r}, not an image under {base}")
        entry["source-ref"] = base + stored.key(ref[len(base) :])
        yield json_text(entry) + "\n"
