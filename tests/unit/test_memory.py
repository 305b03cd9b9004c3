"""Memory stays small at any manifest size: lines are streamed, no per-image objects are kept."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO, cast

from gt2yolo import ConversionOptions, convert_manifests
from gt_builders import box, record, ref


class _GeneratedManifest:
    """A manifest whose lines were generated before measuring (so they are not traced)."""

    def __init__(self, lines: list[bytes]) -> None:
        self._lines = lines

    @property
    def name(self) -> str:
        return "generated.manifest"

    def lines(self) -> Iterator[bytes]:
        return iter(self._lines)


class _DiscardingStream:
    def write(self, text: str) -> int:
        return len(text)


class _CountingStorage:
    """Storage that keeps nothing, so only the core's own memory is measured."""

    def __init__(self) -> None:
        self.written = 0

    def write_bytes(self, key: str, data: bytes) -> None:
        self.written += len(data)

    @contextmanager
    def open_text(self, key: str) -> Iterator[TextIO]:
        yield cast(TextIO, _DiscardingStream())

    def flush(self) -> None:
        return None

    def location(self, key: str = "") -> str:
        return f"memory://{key}"


def _lines(count: int) -> list[bytes]:
    """Lines over 50 folders; every 100th is never labeled, boxes wander over the edge."""
    lines = []
    for i in range(count):
        if i % 100 == 99:
            entry = {"source-ref": ref(f"f{i % 50}/{i}.jpg")}
        else:
            entry = record(ref(f"f{i % 50}/{i}.jpg"), [box(i % 3, left=i % 600 - 50)])
        lines.append(json.dumps(entry).encode() + b"\n")
    return lines


def _peak_bytes(count: int) -> tuple[int, dict[str, object]]:
    lines = _lines(count)
    storage = _CountingStorage()
    tracemalloc.start()
    try:
        result = convert_manifests(
            [_GeneratedManifest(lines)], storage, ConversionOptions(label_attribute="boxes")
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result.report


def test_memory_does_not_grow_with_the_number_of_lines() -> None:
    # Given manifests of 1,000 and 6,000 generated lines
    # When converting each while tracing allocations
    small_peak, _ = _peak_bytes(1_000)
    large_peak, report = _peak_bytes(6_000)

    # Then the run really converted the lines
    assert report["images"] == 5_940
    assert report["rejected"] == {"not_labeled": 60}
    # And the peak grows by under 150 bytes per extra line. What legitimately grows: the 8-byte
    # digest per image kept to find duplicate images, and (briefly) a Python int and list slot
    # per digest while sorting them, about 55 bytes in all (measured). Keeping any per-image
    # object exceeds it: a record costs several hundred bytes, and even a short path string kept
    # in a set measured 175 bytes per line.
    per_line = (large_peak - small_peak) / 5_000
    assert per_line < 150, f"{per_line:.0f} bytes per line"
    # And the whole conversion of 6,000 lines stays under 4 MB of traced memory (0.7 MB
    # measured on CPython 3.11), a margin that survives allocator and version differences.
    assert large_peak < 4_000_000, f"peak {large_peak / 1e6:.1f} MB"
