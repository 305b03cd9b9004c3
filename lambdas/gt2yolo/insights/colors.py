"""A stable color per name (class or worker): from a hash of the name, never from its position,
so a class keeps its color when classes are added, removed or reordered, in every report.

The hash picks one of 20 colors chosen to be told apart (Sasha Trubetskoy's list without white
and black) rather than a free hue: two names are then either clearly different or the same
color, never confusingly close. Same-colored classes can happen (20 colors); boxes and charts
always carry the class name too.
"""

from __future__ import annotations

import hashlib

PALETTE = (
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
    "#bfef45", "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
    "#808000", "#ffd8b1", "#000075", "#a9a9a9",
)  # fmt: skip


def name_color(name: str) -> str:
    """`#rrggbb` for a name; the same name gives the same color on every run and machine."""
    digest = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return PALETTE[int.from_bytes(digest, "big") % len(PALETTE)]


def rgb(color: str) -> tuple[int, int, int]:
    """`#rrggbb` -> (r, g, b)."""
    value = int(color.lstrip("#"), 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


def text_on(color: str) -> tuple[int, int, int]:
    """Black or white, whichever reads better on `color` (relative luminance, sRGB weights)."""
    red, green, blue = rgb(color)
    return (0, 0, 0) if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else (255, 255, 255)
