"""A stable color per name (class or worker): from a hash of the name, never from its position,
so a class keeps its color when classes are added, removed or reordered."""

from __future__ import annotations

import colorsys
import hashlib

# Strong saturation and mid lightness: readable on photos and on the page's white background.
# Three lightness steps (from other bits of the hash) keep neighbouring hues apart.
_LIGHTNESS = (0.36, 0.46, 0.56)
_SATURATION = 0.75


def name_color(name: str) -> str:
    """`#rrggbb` for a name; the same name gives the same color on every run and machine."""
    digest = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=5).digest()
    hue = int.from_bytes(digest[:4], "big") / 2**32
    lightness = _LIGHTNESS[digest[4] % len(_LIGHTNESS)]
    red, green, blue = colorsys.hls_to_rgb(hue, lightness, _SATURATION)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def rgb(color: str) -> tuple[int, int, int]:
    """`#rrggbb` -> (r, g, b)."""
    value = int(color.lstrip("#"), 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF
