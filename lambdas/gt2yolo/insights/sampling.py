"""Which images get a preview: a stable sample, plus every image whose boxes the rules changed.

The sample is the images with the smallest keyed BLAKE2b hash of their source-ref: the same
images on every run and machine, independent of manifest order, and mostly the same when a
job grows. The key differs from the split's hash on purpose: unkeyed, the smallest hashes are
exactly the first images of the val split, and the sample would never show train.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable
from dataclasses import dataclass

from gt2yolo.insights.dataset import ImageRow

DEFAULT_SAMPLE = 50
# Bounds the work of one report when a whole job was clamped (e.g. a wrong image size):
# beyond it, flagged images are counted, not drawn.
DEFAULT_FLAGGED_LIMIT = 500
_KEY = b"gt2yolo-previews"


def preview_rank(source_ref: str) -> int:
    """The image's place in the sample order (smaller comes first)."""
    digest = hashlib.blake2b(source_ref.encode("utf-8", "surrogatepass"), digest_size=8, key=_KEY)
    return int.from_bytes(digest.digest(), "big")


@dataclass(frozen=True)
class PreviewChoice:
    flagged: tuple[ImageRow, ...]  # clamped or dropped boxes, by image path
    sample: tuple[ImageRow, ...]  # the stable sample (flagged ones excluded), by image path
    flagged_total: int

    @property
    def images(self) -> tuple[ImageRow, ...]:
        return self.flagged + self.sample

    @property
    def flagged_not_drawn(self) -> int:
        return self.flagged_total - len(self.flagged)


def choose_previews(
    rows: Iterable[ImageRow],
    sample_size: int = DEFAULT_SAMPLE,
    flagged_limit: int = DEFAULT_FLAGGED_LIMIT,
) -> PreviewChoice:
    """One streamed pass; memory bounded by sample_size + flagged_limit rows."""
    sample: list[tuple[int, str, ImageRow]] = []  # a max-heap (negated rank) of the smallest
    flagged: list[ImageRow] = []
    flagged_total = 0
    for row in rows:
        if row.flagged:
            flagged_total += 1
            if len(flagged) < flagged_limit:
                flagged.append(row)
            continue
        if sample_size <= 0:
            continue
        entry = (-preview_rank(row.source_ref), row.source_ref, row)
        if len(sample) < sample_size:
            heapq.heappush(sample, entry)
        elif entry[0] > sample[0][0]:
            heapq.heapreplace(sample, entry)
    return PreviewChoice(
        flagged=tuple(sorted(flagged, key=lambda r: r.image)),
        sample=tuple(sorted((e[2] for e in sample), key=lambda r: r.image)),
        flagged_total=flagged_total,
    )
