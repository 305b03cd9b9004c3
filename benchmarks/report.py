"""Medians, ratios, the targets of issue 5, and the table as text, Markdown and JSON."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure import CONTENDER_NAMES, RunResult

FLOOR_RATIO_TARGET = 1.3
FLOOR_RATIO_SIZE = 100_000
BASELINE_SPEEDUP_TARGET = 10.0
BASELINE_SPEEDUP_SIZE = 10_000
RSS_TARGET_MB = 150.0
RSS_TARGET_SIZE = 1_000_000


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
    return [_floor_target(rows), _baseline_target(rows), _rss_target(rows)]


def _floor_target(rows: Sequence[Row]) -> Target:
    name = f"ours <= {FLOOR_RATIO_TARGET}x floor wall time at {FLOOR_RATIO_SIZE:,} lines"
    ours = _find(rows, FLOOR_RATIO_SIZE, "ours")
    if ours is None or ours.x_floor is None:
        return Target(name, "NOT RUN", "ours and floor were not both run at this size")
    status = "PASS" if ours.x_floor <= FLOOR_RATIO_TARGET else "FAIL"
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


def write_outputs(
    folder: Path,
    machine: dict[str, Any],
    results: Sequence[RunResult],
    rows: Sequence[Row],
    targets: Sequence[Target],
    extra: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine,
        "rows": [asdict(row) for row in rows],
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
        "",
        markdown_table(rows),
        "",
        *(f"- **{t.status}** {t.name}: {t.detail}" for t in targets),
        *_s3_lines((extra or {}).get("s3")),
    ]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return json_path, md_path


def _s3_lines(s3: dict[str, Any] | None) -> list[str]:
    """The S3 benchmark's PASS/FAIL lines, one per added-latency scenario."""
    return list(s3["markdown"]) if s3 else []
