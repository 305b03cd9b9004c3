"""Medians, ratios, the targets (boxes, masks), tables as text, Markdown, JSON."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure import BOXES, CONTENDER_NAMES, MASKS, RunResult

# Every core (the default) at most the floor's time; one process at most 1.3x.
FLOOR_RATIO_TARGET = 1.0
JOBS1_FLOOR_RATIO_TARGET = 1.3
FLOOR_RATIO_SIZE = 100_000
BASELINE_SPEEDUP_TARGET = 10.0
BASELINE_SPEEDUP_SIZE = 10_000
RSS_TARGET_MB = 150.0
RSS_TARGET_SIZE = 1_000_000
# Segmentation: against the mask floor at the largest size, and peak RSS flat in
# the number of images (the largest size's at most this much above the smallest size's).
MASK_FLOOR_RATIO_TARGET = 1.5
MASK_RSS_GROWTH_TARGET = 0.10


@dataclass(frozen=True)
class Row:
    """One (size, contender): median wall time of its runs, largest peak RSS of its runs."""

    size: int
    contender: str
    runs: int
    wall_s: float
    peak_rss_mb: float | None
    # Set when the baseline was not run at this size: the quadratic fit from this size.
    extrapolated_from: int | None = None
    x_floor: float | None = None
    speedup_vs_baseline: float | None = None
    baseline_extrapolated: bool = False


@dataclass(frozen=True)
class Target:
    name: str
    status: str  # PASS, FAIL or NOT RUN
    detail: str


def summarize(results: Sequence[RunResult], sizes: Sequence[int]) -> list[Row]:
    measured = [_measured_row(results, size, name) for size in sizes for name in CONTENDER_NAMES]
    rows = [row for row in measured if row is not None]
    rows += _extrapolated_baselines(rows, sizes)
    return [_with_ratios(row, rows) for row in sorted(rows, key=_order)]


def _order(row: Row) -> tuple[int, int]:
    return row.size, CONTENDER_NAMES.index(row.contender)


def _measured_row(results: Sequence[RunResult], size: int, contender: str) -> Row | None:
    runs = [r for r in results if r.size == size and r.contender == contender]
    runs = [r for r in runs if r.scenario == BOXES]
    if not runs:
        return None
    wall = statistics.median(r.wall_s for r in runs)
    return Row(size, contender, len(runs), wall, max(r.peak_rss_mb for r in runs))


def _extrapolated_baselines(rows: Sequence[Row], sizes: Sequence[int]) -> list[Row]:
    """The baseline where it was skipped: t(n) = t(m) * (n/m)^2 from the largest measured m."""
    measured = [r for r in rows if r.contender == "baseline"]
    if not measured:
        return []
    anchor = max(measured, key=lambda r: r.size)
    return [
        Row(size, "baseline", 0, anchor.wall_s * (size / anchor.size) ** 2, None, anchor.size)
        for size in sizes
        if size > anchor.size
    ]


def _with_ratios(row: Row, rows: Sequence[Row]) -> Row:
    floor = _find(rows, row.size, "floor")
    baseline = _find(rows, row.size, "baseline")
    return Row(
        **{
            **asdict(row),
            "x_floor": row.wall_s / floor.wall_s if floor else None,
            "speedup_vs_baseline": baseline.wall_s / row.wall_s if baseline else None,
            "baseline_extrapolated": bool(baseline and baseline.extrapolated_from is not None),
        }
    )


def _find(rows: Sequence[Row], size: int, contender: str) -> Row | None:
    return next((r for r in rows if r.size == size and r.contender == contender), None)


def check_targets(rows: Sequence[Row]) -> list[Target]:
    return [
        _floor_target(rows, "ours", FLOOR_RATIO_TARGET),
        _floor_target(rows, "ours-jobs1", JOBS1_FLOOR_RATIO_TARGET),
        _baseline_target(rows),
        _rss_target(rows),
    ]


def _floor_target(rows: Sequence[Row], contender: str, target: float) -> Target:
    name = f"{contender} <= {target}x floor wall time at {FLOOR_RATIO_SIZE:,} lines"
    ours = _find(rows, FLOOR_RATIO_SIZE, contender)
    if ours is None or ours.x_floor is None:
        return Target(name, "NOT RUN", f"{contender} and floor were not both run at this size")
    status = "PASS" if ours.x_floor <= target else "FAIL"
    return Target(name, status, f"measured {ours.x_floor:.2f}x")


def _baseline_target(rows: Sequence[Row]) -> Target:
    name = f"ours >= {BASELINE_SPEEDUP_TARGET:g}x faster than baseline at {BASELINE_SPEEDUP_SIZE:,}"
    ours = _find(rows, BASELINE_SPEEDUP_SIZE, "ours")
    baseline = _find(rows, BASELINE_SPEEDUP_SIZE, "baseline")
    if ours is None or baseline is None or ours.speedup_vs_baseline is None:
        return Target(name, "NOT RUN", "ours and baseline were not both run at this size")
    if baseline.extrapolated_from is not None:
        return Target(name, "NOT RUN", "baseline only extrapolated at this size, not measured")
    status = "PASS" if ours.speedup_vs_baseline >= BASELINE_SPEEDUP_TARGET else "FAIL"
    return Target(name, status, f"measured {ours.speedup_vs_baseline:.1f}x")


def _rss_target(rows: Sequence[Row]) -> Target:
    name = f"ours peak RSS < {RSS_TARGET_MB:g} MB at {RSS_TARGET_SIZE:,} lines"
    ours = _find(rows, RSS_TARGET_SIZE, "ours")
    if ours is None or ours.peak_rss_mb is None:
        return Target(name, "NOT RUN", "1M lines not run (add --with-1m)")
    status = "PASS" if ours.peak_rss_mb < RSS_TARGET_MB else "FAIL"
    return Target(name, status, f"measured {ours.peak_rss_mb:.1f} MB")


HEADER = ("lines", "contender", "runs", "median wall s", "peak RSS MB", "x floor", "vs baseline")


def table_cells(row: Row) -> tuple[str, ...]:
    estimated = row.extrapolated_from is not None
    wall = f"~{row.wall_s:,.1f}" if estimated else f"{row.wall_s:.2f}"
    x_floor = "-" if row.x_floor is None else f"{'~' if estimated else ''}{row.x_floor:.2f}x"
    runs = f"skipped: quadratic, extrapolated from {row.extrapolated_from:,}" if estimated else ""
    return (
        f"{row.size:,}",
        row.contender,
        runs or str(row.runs),
        wall,
        "-" if row.peak_rss_mb is None else f"{row.peak_rss_mb:.1f}",
        x_floor,
        _speedup(row),
    )


def _speedup(row: Row) -> str:
    if row.speedup_vs_baseline is None or row.contender == "baseline":
        return "-"
    # `~` marks a ratio against an extrapolated baseline, never a measured one.
    return f"{'~' if row.baseline_extrapolated else ''}{row.speedup_vs_baseline:,.1f}x faster"


def text_table(rows: Sequence[Row]) -> str:
    cells = [HEADER, *(table_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells
    )


def markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(table_cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def targets_text(targets: Sequence[Target]) -> str:
    return "\n".join(f"{t.status:7}  {t.name}: {t.detail}" for t in targets)


@dataclass(frozen=True)
class MaskRow:
    """One (images, contender) of the segmentation scenario: medians of wall and CPU time,
    largest peak RSS; ratios against the mask floor of the same size."""

    images: int
    contender: str
    runs: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    x_floor: float | None
    cpu_x_floor: float | None
    masks_per_s: float


def summarize_masks(results: Sequence[RunResult]) -> list[MaskRow]:
    runs = [r for r in results if r.scenario == MASKS]
    keys = sorted({(r.size, r.contender) for r in runs}, key=lambda k: (k[0], k[1] != "floor"))
    medians: dict[tuple[int, str], tuple[int, float, float, float]] = {}
    for size, contender in keys:
        mine = [r for r in runs if (r.size, r.contender) == (size, contender)]
        wall = statistics.median(r.wall_s for r in mine)
        cpu = statistics.median(r.cpu_s for r in mine)
        medians[size, contender] = len(mine), wall, cpu, max(r.peak_rss_mb for r in mine)
    rows = []
    for size, contender in keys:
        count, wall, cpu, rss = medians[size, contender]
        floor = medians.get((size, "floor"))
        x_floor, cpu_x_floor = (wall / floor[1], cpu / floor[2]) if floor else (None, None)
        rows.append(
            MaskRow(size, contender, count, wall, cpu, rss, x_floor, cpu_x_floor, size / wall)
        )
    return rows


def check_mask_targets(rows: Sequence[MaskRow]) -> list[Target]:
    ours = sorted((r for r in rows if r.contender == "ours"), key=lambda r: r.images)
    ratio_name = f"segmentation: ours <= {MASK_FLOOR_RATIO_TARGET}x mask floor wall time"
    rss_name = f"segmentation: ours peak RSS flat in images (<= +{MASK_RSS_GROWTH_TARGET:.0%})"
    largest = ours[-1] if ours else None
    if largest is None or largest.x_floor is None or largest.cpu_x_floor is None:
        ratio = Target(ratio_name, "NOT RUN", "ours and the mask floor were not both run")
    else:
        status = "PASS" if largest.x_floor <= MASK_FLOOR_RATIO_TARGET else "FAIL"
        detail = (f"measured {largest.x_floor:.2f}x at {largest.images:,} images "
                  f"(CPU time {largest.cpu_x_floor:.2f}x)")  # fmt: skip
        ratio = Target(ratio_name, status, detail)
    if len(ours) < 2:
        rss = Target(rss_name, "NOT RUN", "ours was not run at two sizes")
    else:
        small, large = ours[0], ours[-1]
        growth = large.peak_rss_mb / small.peak_rss_mb - 1
        status = "PASS" if growth <= MASK_RSS_GROWTH_TARGET else "FAIL"
        detail = (f"{small.peak_rss_mb:.1f} MB at {small.images:,} images, "
                  f"{large.peak_rss_mb:.1f} MB at {large.images:,} ({growth:+.1%})")  # fmt: skip
        rss = Target(rss_name, status, detail)
    return [ratio, rss]


MASK_HEADER = (
    "images", "contender", "runs", "median wall s", "median CPU s", "peak RSS MB", "x floor",
    "CPU x floor", "masks/s",
)  # fmt: skip


def mask_table_cells(row: MaskRow) -> tuple[str, ...]:
    def ratio(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}x"

    return (
        f"{row.images:,}", row.contender, str(row.runs), f"{row.wall_s:.2f}", f"{row.cpu_s:.2f}",
        f"{row.peak_rss_mb:.1f}", ratio(row.x_floor), ratio(row.cpu_x_floor),
        f"{row.masks_per_s:,.0f}",
    )  # fmt: skip


def mask_text_table(rows: Sequence[MaskRow]) -> str:
    cells = [MASK_HEADER, *(mask_table_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(MASK_HEADER))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells
    )


def mask_markdown_table(rows: Sequence[MaskRow]) -> str:
    lines = ["| " + " | ".join(MASK_HEADER) + " |", "|" + "---|" * len(MASK_HEADER)]
    lines += ["| " + " | ".join(mask_table_cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def write_outputs(
    folder: Path,
    machine: dict[str, Any],
    results: Sequence[RunResult],
    rows: Sequence[Row],
    targets: Sequence[Target],
    extra: dict[str, Any] | None = None,
    mask_rows: Sequence[MaskRow] = (),
) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine,
        "rows": [asdict(row) for row in rows],
        "mask_rows": [asdict(row) for row in mask_rows],
        "targets": [asdict(t) for t in targets],
        "runs": [asdict(r) for r in results],
        **(extra or {}),
    }
    json_path = folder / "results.json"
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    md_path = folder / "results.md"
    lines = [
        f"Machine: {machine['cpus']} CPUs, Python {machine['python']}, {machine['platform']}; "
        f"{machine['date']}; seed {machine['seed']}; datasets written to {machine['scratch']}.",
        *(["", markdown_table(rows)] if rows else []),
        *(["", mask_markdown_table(mask_rows)] if mask_rows else []),
        "",
        *(f"- **{t.status}** {t.name}: {t.detail}" for t in targets),
        *_s3_lines((extra or {}).get("s3")),
    ]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return json_path, md_path


def _s3_lines(s3: dict[str, Any] | None) -> list[str]:
    """The S3 benchmark's PASS/FAIL lines, one per added-latency scenario."""
    return list(s3["markdown"]) if s3 else []
