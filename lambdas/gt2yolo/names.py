"""Unique dataset names: every distinct image converts, whatever its neighbours are called.

An image's natural dataset path (`paths.dataset_path`) can share its label file with another
image's, ignoring case: `x.jpg` and `x.png` both want `x.txt`, `Cat.jpg` and `cat.jpg` want
`Cat.txt` and `cat.txt` (one file on macOS and Windows), `z` and `z.jpg` both want `z.txt`.
The rule, which depends only on the input's lines and never on their order:

1. Images whose label paths are equal ignoring case (`paths.name_key`) form a group. In each
   group, ordered by source-ref (code point order), the first keeps its natural path.
2. Every later image, taken in source-ref order over the whole dataset, gets the first free
   `<stem>~<n>.<ext>` for n = 2, 3, ... (`paths.numbered_path`): free means no other line's
   source-ref has that label path naturally (whether or not that line converts) and no image
   got it before in this order.
3. The same source-ref on two accepted lines is one image labeled twice: an error by default
   (`--on-duplicate error`), or the first or last such line in input order is kept and the
   others are rejected as `duplicate_source_ref`.

Where it runs: the survey (pass 1) notes an 8-byte digest of every source-ref's natural label
path. Only when a digest repeats does a naming pass read the lines again, parse just the lines
whose digests repeat, and decide the names: the renames and the dropped lines travel with the
survey (and the fan-out plan), so a chunk converting alone names its images as a single pass.
Everything is decided before the first file is written.
"""

from __future__ import annotations

import hashlib
import re
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise
from typing import Any

from gt2yolo.errors import ConversionError
from gt2yolo.manifest import (
    LineRules,
    ManifestSource,
    _Reject,
    load_line,
    numbered_lines,
    parse_line,
)
from gt2yolo.paths import (
    S3_SCHEME,
    InvalidSourceRef,
    dataset_path,
    folder_prefix,
    label_path,
    name_key,
    numbered_path,
    plain_key,
    source_ref_segments,
)
from gt2yolo.records import LineOrigin, RejectedLine

DUPLICATE_HINT = "Keep one with --on-duplicate first|last, or remove the extra lines"


class OnDuplicate(StrEnum):
    """What to do with a source-ref that two accepted lines label."""

    ERROR = "error"
    FIRST = "first"
    LAST = "last"


@dataclass(frozen=True)
class DatasetNames:
    """The survey's decisions about names: the exceptions to the natural paths."""

    # source-ref -> its dataset path (folder layout) where it is not the natural one.
    renamed: Mapping[str, str] = field(default_factory=dict)
    # (manifest, line) of a duplicate line left out -> why (which line was kept instead).
    dropped: Mapping[tuple[str, int], str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "renamed": dict(self.renamed),
            "dropped": [[manifest, line, kept] for (manifest, line), kept in self.dropped.items()],
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> DatasetNames:
        return cls(
            dict(document["renamed"]),
            {(str(m), int(n)): str(kept) for m, n, kept in document["dropped"]},
        )


# Digests are kept in 256 slices by their top byte: sorting 1M at once would hold 1M Python
# ints (~40 MB) next to the 8 MB array; a slice holds ~1/256 of them.
_SLICES = 256
_SLICE_SHIFT = 56


class NaturalNames:
    """Digests of every source-ref's natural label path (full path, ignoring case): the survey's
    per-image state, 8 bytes each. Which of them repeat, and whether a name is among them."""

    def __init__(self) -> None:
        self._slices = [array("Q") for _ in range(_SLICES)]

    def add_line(self, raw: bytes) -> None:
        self.add(listed_source_refs(raw))

    def add(self, source_refs: list[str]) -> None:
        """The line's `listed_source_refs`, when the caller has them already."""
        for source_ref in source_refs:
            digest = natural_digest(source_ref)
            if digest is not None:
                self._slices[digest >> _SLICE_SHIFT].append(digest)

    def seal(self) -> set[int]:
        """Sort the digests (for `__contains__`); return those that occur more than once."""
        repeated: set[int] = set()
        for index, part in enumerate(self._slices):
            ordered = array("Q", sorted(part))
            repeated.update(a for a, b in pairwise(ordered) if a == b)
            self._slices[index] = ordered
        return repeated

    def __contains__(self, digest: int) -> bool:
        part = self._slices[digest >> _SLICE_SHIFT]
        at = bisect_left(part, digest)
        return at < len(part) and part[at] == digest

    def __len__(self) -> int:
        return sum(len(part) for part in self._slices)


def name_digest(key: str) -> int:
    return _from_bytes(_blake2b(key.encode(), digest_size=8).digest(), "big")


# Bound once: name_digest runs for every line of the survey.
_blake2b = hashlib.blake2b
_from_bytes = int.from_bytes


def natural_digest(source_ref: str) -> int | None:
    """Digest of the source-ref's natural label path over all its segments (bucket included):
    two source-refs below one common folder share it exactly when their dataset label paths are
    equal ignoring case. None for a source-ref no line with it could convert."""
    body = source_ref[_SCHEME_LENGTH:]
    if (
        source_ref.startswith(S3_SCHEME)
        and body.isascii()
        and body.isprintable()
        and plain_key(body)
    ):
        # What the general path below gives for such keys, at a third of its cost (per line).
        return name_digest(label_path(body).lower())
    try:
        segments = source_ref_segments(source_ref)
    except InvalidSourceRef:
        return None
    return name_digest(name_key(label_path(dataset_path(segments, ()))))


_SCHEME_LENGTH = len(S3_SCHEME)


_SOURCE_REF_KEY = b'"source-ref"'
# JSON whitespace, `:`, JSON whitespace and the opening quote of the value.
_KEY_TO_VALUE = re.compile(rb'[ \t\n\r]*:[ \t\n\r]*"')
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def listed_source_refs(raw: bytes) -> list[str]:
    """Every source-ref the line may hold: a superset of what decoding it would give, read from
    the bytes alone (the same answer whether or not the survey decodes the line).

    Without a backslash a JSON string is its bytes as they stand, and a top-level `source-ref`
    key is a literal `"source-ref"` followed by `:` and its string: every such occurrence is
    taken (nested ones too, which only makes the set larger). Lines with escapes, NULs or a
    UTF-16 byte order mark are decoded.
    """
    return source_refs_at(raw, source_ref_starts(raw))


def source_ref_starts(raw: bytes) -> list[int] | None:
    """Where the string after each `"source-ref"` key (and `:`) starts, in a line without
    escapes, NULs or a UTF-16 byte order mark; None for other lines (only decoding tells).

    One scan serves both of the survey's uses of a line: its natural names (`source_refs_at`)
    and the skim (whether every source-ref starts with the common folder so far).
    """
    if b"\\" in raw or b"\x00" in raw or raw.startswith(_UTF16_BOMS):
        return None
    starts: list[int] = []
    at = raw.find(_SOURCE_REF_KEY)
    while at != -1:
        value = _KEY_TO_VALUE.match(raw, at + len(_SOURCE_REF_KEY))
        if value is not None:
            starts.append(value.end())
        at = raw.find(_SOURCE_REF_KEY, at + 1)
    return starts


def source_refs_at(raw: bytes, starts: list[int] | None) -> list[str]:
    """`listed_source_refs(raw)`, given `source_ref_starts(raw)`."""
    if starts is None:
        try:
            record = load_line(raw)
        except _Reject:
            return []
        source_ref = record.get("source-ref")
        return [source_ref] if isinstance(source_ref, str) else []
    found: list[str] = []
    for start in starts:
        end = raw.find(b'"', start)
        if end != -1:
            with suppress(UnicodeDecodeError):
                found.append(raw[start:end].decode("utf-8"))
    return found


@dataclass
class _Claim:
    source_ref: str
    origin: LineOrigin
    path: str  # natural dataset path


def decide_names(
    sources: Sequence[ManifestSource],
    rules: LineRules,
    common: Sequence[str],
    natural: NaturalNames,
    on_duplicate: OnDuplicate,
    hint: str = DUPLICATE_HINT,
) -> DatasetNames:
    """The naming pass: runs only when natural label paths repeat; raises ConversionError for
    a source-ref labeled twice under `OnDuplicate.ERROR` (ending with `hint`)."""
    repeated = natural.seal()
    if not repeated:
        return DatasetNames()
    claims = _claims(sources, rules, common, repeated)
    kept, dropped = _one_line_per_source_ref(claims, on_duplicate, hint)
    renamed = _renames(kept, common, natural)
    return DatasetNames(renamed, dropped)


def _claims(
    sources: Sequence[ManifestSource], rules: LineRules, common: Sequence[str], repeated: set[int]
) -> list[_Claim]:
    """The accepted lines whose natural label path repeats, in input order."""
    claims: list[_Claim] = []
    for source in sources:
        for origin, raw in numbered_lines(source):
            if not any(natural_digest(ref) in repeated for ref in listed_source_refs(raw)):
                continue
            image = parse_line(raw, origin, rules)
            if not isinstance(image, RejectedLine):
                segments = image.segments or source_ref_segments(image.source_ref)
                path = dataset_path(segments, common)
                claims.append(_Claim(image.source_ref, origin, path))
    return claims


def _one_line_per_source_ref(
    claims: list[_Claim], on_duplicate: OnDuplicate, hint: str
) -> tuple[list[_Claim], dict[tuple[str, int], str]]:
    by_ref: dict[str, list[_Claim]] = defaultdict(list)
    for claim in claims:
        by_ref[claim.source_ref].append(claim)
    repeated = {ref: lines for ref, lines in by_ref.items() if len(lines) > 1}
    if repeated and on_duplicate is OnDuplicate.ERROR:
        shown = "; ".join(
            f"{ref} ({', '.join(_where(c.origin) for c in lines)})"
            for ref, lines in sorted(repeated.items())[:3]
        )
        raise ConversionError(
            f"{len(repeated)} image(s) labeled on more than one line: {shown}. {hint}"
        )
    dropped: dict[tuple[str, int], str] = {}
    kept: list[_Claim] = []
    for lines in by_ref.values():
        keep = lines[0] if on_duplicate is OnDuplicate.FIRST else lines[-1]
        kept.append(keep)
        for claim in lines:
            if claim is not keep:
                dropped[(claim.origin.manifest, claim.origin.line)] = (
                    f"the same source-ref as {_where(keep.origin)}, kept by --on-duplicate "
                    f"{on_duplicate}"
                )
    return kept, dropped


def _renames(kept: list[_Claim], common: Sequence[str], natural: NaturalNames) -> dict[str, str]:
    groups: dict[str, list[_Claim]] = defaultdict(list)
    for claim in kept:
        groups[name_key(label_path(claim.path))].append(claim)
    later = sorted(
        (claim for group in groups.values() if len(group) > 1
         for claim in sorted(group, key=_by_source_ref)[1:]),
        key=_by_source_ref,
    )  # fmt: skip
    prefix = folder_prefix(common)
    given: set[str] = set()
    renamed: dict[str, str] = {}
    for claim in later:
        number = 2
        while True:
            candidate = numbered_path(claim.path, number)
            key = name_key(label_path(candidate))
            if key not in given and name_digest(name_key(prefix) + key) not in natural:
                break
            number += 1
        given.add(key)
        renamed[claim.source_ref] = candidate
    return renamed


def _by_source_ref(claim: _Claim) -> str:
    return claim.source_ref


def _where(origin: LineOrigin) -> str:
    return f"{origin.manifest}:{origin.line}"


__all__ = [
    "DatasetNames", "NaturalNames", "OnDuplicate", "decide_names", "listed_source_refs",
    "source_ref_starts", "source_refs_at",
]  # fmt: skip
