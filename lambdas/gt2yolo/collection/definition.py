"""A collection's definition: which labeling jobs and dropped manifests feed one dataset.

The stack's context `collections` (cdk.json) lists them:

    [{"name": "parts", "jobs": ["parts-batch-*"], "manifests": ["manifests/parts/*.manifest"],
      "onOverlap": "latest", "classes": ["bolt", "nut"]}]

Patterns are globs (`*`, `?`, `[...]`, case-sensitive, as job names and S3 keys are). A job
pattern matches the whole job name. A manifest pattern matches a bucket key segment by segment:
`*` never crosses a `/`, a `**` segment matches any number of folders, so
`manifests/parts/*.manifest` takes the batches dropped there and nothing below.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase

from gt2yolo.errors import ConversionError
from gt2yolo.names import OnDuplicate


class CollectionError(ConversionError):
    """A collection definition (or a collection's state) that cannot be used as written."""


class OnOverlap(StrEnum):
    """An image labeled in several members: whose labels the dataset keeps."""

    LATEST = "latest"  # the member that completed last
    FIRST = "first"  # the member that completed first
    ERROR = "error"  # refuse the version, naming both members and the image

    @property
    def on_duplicate(self) -> OnDuplicate:
        """The conversion's rule over members given in completion order."""
        return _ON_DUPLICATE[self]


_ON_DUPLICATE = {
    OnOverlap.LATEST: OnDuplicate.LAST,
    OnOverlap.FIRST: OnDuplicate.FIRST,
    OnOverlap.ERROR: OnDuplicate.ERROR,
}

# A collection's name is its dataset's folder (`datasets/<name>/`) and its label attribute: one
# plain path segment that S3, a laptop's file system and a Lambda event all keep as is.
DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_KEYS = {"name", "jobs", "manifests", "onOverlap", "classes"}
MAX_PATTERNS = 100


@dataclass(frozen=True)
class CollectionDefinition:
    name: str
    jobs: tuple[str, ...] = ()
    manifests: tuple[str, ...] = ()
    on_overlap: OnOverlap = OnOverlap.LATEST
    # A pinned class order: these classes get ids 0, 1, ... whatever the members' configs say.
    classes: tuple[str, ...] = ()

    def as_context(self) -> dict[str, object]:
        """The definition as cdk.json gives it (parse_collections reads it back unchanged)."""
        return {
            "name": self.name,
            "jobs": list(self.jobs),
            "manifests": list(self.manifests),
            "onOverlap": str(self.on_overlap),
            "classes": list(self.classes),
        }

    def has_job(self, name: str) -> bool:
        return any(fnmatchcase(name, pattern) for pattern in self.jobs)

    def has_manifest(self, key: str) -> bool:
        return any(_key_matches(key.split("/"), pattern.split("/")) for pattern in self.manifests)


def _key_matches(segments: Sequence[str], pattern: Sequence[str]) -> bool:
    if not pattern:
        return not segments
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_key_matches(segments[i:], rest) for i in range(len(segments) + 1))
    return bool(segments) and fnmatchcase(segments[0], head) and _key_matches(segments[1:], rest)


def parse_collections(value: object) -> tuple[CollectionDefinition, ...]:
    """The context value `collections`, validated: a list of definitions with unique names."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise CollectionError(
            f"collections must be a list of objects like "
            f'{{"name": "parts", "jobs": ["parts-batch-*"]}}, not {_shown(value)}'
        )
    definitions = tuple(_definition(entry, i) for i, entry in enumerate(value))
    seen: dict[str, int] = {}
    for i, definition in enumerate(definitions):
        other = seen.setdefault(definition.name, i)
        if other != i:
            raise CollectionError(
                f"collections[{other}] and collections[{i}] are both named {definition.name!r}: "
                "a collection's name is its dataset, give each its own"
            )
    return definitions


def _definition(entry: object, position: int) -> CollectionDefinition:
    where = f"collections[{position}]"
    if not isinstance(entry, dict):
        raise CollectionError(f"{where} is {_shown(entry)}, not an object")
    name = entry.get("name")
    if not isinstance(name, str) or not DATASET_NAME.fullmatch(name):
        raise CollectionError(
            f"{where}: name {_shown(name)} is not a dataset name (1 to 128 of A-Z a-z 0-9 . _ -, "
            "starting with a letter or digit)"
        )
    where = f"collections[{position}] ({name})"
    unknown = sorted(str(k) for k in set(entry) - _KEYS)
    if unknown:
        raise CollectionError(f"{where}: unknown key(s) {unknown}; known: {sorted(_KEYS)}")
    jobs = _texts(entry, "jobs", where)
    manifests = _texts(entry, "manifests", where)
    if not jobs and not manifests:
        raise CollectionError(f"{where}: give at least one pattern in jobs or manifests")
    for pattern in manifests:
        if pattern.startswith(("/", "s3://")):
            raise CollectionError(
                f"{where}: manifest pattern {pattern!r} must be a key in the bucket "
                '(like "manifests/parts/*.manifest"), not a path or URI'
            )
    classes = _texts(entry, "classes", where)
    _require_usable_classes(classes, where)
    return CollectionDefinition(name, jobs, manifests, _on_overlap(entry, where), classes)


def _texts(entry: dict[str, object], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise CollectionError(
            f"{where}: {key} must be a list of non-empty strings, not {_shown(value)}"
        )
    if len(value) > MAX_PATTERNS and key != "classes":
        raise CollectionError(f"{where}: {len(value)} {key} patterns (at most {MAX_PATTERNS})")
    return tuple(value)


def _require_usable_classes(classes: tuple[str, ...], where: str) -> None:
    twice = sorted({c for c in classes if classes.count(c) > 1})
    if twice:
        raise CollectionError(f"{where}: classes names {', '.join(twice)} more than once")
    broken = [c for c in classes if c.splitlines() != [c] or not c.strip()]
    if broken:
        raise CollectionError(f"{where}: class {_shown(broken[0])} is empty or holds a line break")


def _on_overlap(entry: dict[str, object], where: str) -> OnOverlap:
    value = entry.get("onOverlap", str(OnOverlap.LATEST))
    try:
        return OnOverlap(str(value) if isinstance(value, str) else "")
    except ValueError:
        known = " | ".join(str(v) for v in OnOverlap)
        raise CollectionError(f"{where}: onOverlap {_shown(value)} is not one of {known}") from None


def collection_of_job(
    definitions: Sequence[CollectionDefinition], job: str
) -> CollectionDefinition | None:
    """The one collection a labeling job feeds, or None (the job is its own dataset)."""
    return _only(definitions, [d for d in definitions if d.has_job(job)], f"job {job!r}")


def collection_of_manifest(
    definitions: Sequence[CollectionDefinition], key: str
) -> CollectionDefinition | None:
    """The one collection a dropped manifest (its bucket key) feeds, or None."""
    return _only(definitions, [d for d in definitions if d.has_manifest(key)], f"manifest {key!r}")


def _only(
    definitions: Sequence[CollectionDefinition], found: list[CollectionDefinition], what: str
) -> CollectionDefinition | None:
    if len(found) > 1:
        names = " and ".join(repr(d.name) for d in found)
        raise CollectionError(
            f"{what} is matched by collections {names}: an image set feeds one dataset, "
            "narrow the patterns"
        )
    return found[0] if found else None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
