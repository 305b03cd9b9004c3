"""Train/val/test split by a stable hash of the source-ref.

A hash, not a random draw: the same image lands in the same split on every rerun and on every
machine, so adding a labeling job to a dataset never moves old images between train and val.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from gt2yolo.errors import ConversionError


class Split(StrEnum):
    TRAIN = "train"
    VAL = "val"
    TEST = "test"


@dataclass(frozen=True, slots=True)
class SplitFractions:
    """Fractions of images for val and test; train takes the rest."""

    val: float = 0.2
    test: float = 0.0

    def __post_init__(self) -> None:
        if not (0.0 <= self.val < 1.0 and 0.0 <= self.test < 1.0):
            raise ConversionError(
                f"split fractions must lie in [0, 1): got val={self.val}, test={self.test}"
            )
        if self.val + self.test >= 1.0:
            raise ConversionError(
                f"val + test fractions must leave images for training: got {self.val + self.test}"
            )

    def splits(self) -> tuple[Split, ...]:
        """The splits this dataset has, in the order their lists are written."""
        return (Split.TRAIN, Split.VAL) + ((Split.TEST,) if self.test > 0 else ())


def stable_unit(source_ref: str) -> float:
    """A number in [0, 1) that depends only on the source-ref (BLAKE2b, 64 bits)."""
    digest = hashlib.blake2b(source_ref.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def assign_split(source_ref: str, fractions: SplitFractions) -> Split:
    u = stable_unit(source_ref)
    if u < fractions.val:
        return Split.VAL
    if u < fractions.val + fractions.test:
        return Split.TEST
    return Split.TRAIN
