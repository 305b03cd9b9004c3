"""Small inline SVG charts: no script, no library, nothing fetched; they render offline and
print as they look. Every label is escaped (class names and worker ids come from users)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

BAR_HEIGHT = 20
GAP = 6
FONT = 12
DEFAULT_COLOR = "#4a6fa5"


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    color: str = DEFAULT_COLOR
    text: str | None = None  # shown next to the bar; the value when None


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    color: str
    values: tuple[float, ...]  # one per column


def _text(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) and not value.is_integer() else f"{value:.0f}"


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def bar_chart(title: str, bars: Sequence[Bar], width: int = 640, label_width: int = 170) -> str:
    """Horizontal bars, one row per item, the value written after each bar."""
    top = max((b.value for b in bars), default=0) or 1
    room = width - label_width - 70
    body = []
    for row, bar in enumerate(bars):
        y = row * (BAR_HEIGHT + GAP)
        length = max(bar.value / top * room, 1 if bar.value else 0)
        text = bar.text if bar.text is not None else _text(bar.value)
        body.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" font-size="{FONT}">'
            f"{escape(_short(bar.label))}</text>"
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{escape(bar.color)}"><title>{escape(bar.label)}: {escape(text)}</title></rect>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 15}" font-size="{FONT}">'
            f"{escape(text)}</text>"
        )
    height = max(len(bars), 1) * (BAR_HEIGHT + GAP)
    return _svg(width, height, title, body)


def column_chart(title: str, bars: Sequence[Bar], width: int = 640, height: int = 200) -> str:
    """Vertical bars (a histogram): labels under the columns, values above them."""
    return stacked_chart(
        title,
        [b.label for b in bars],
        [Series("", bars[0].color if bars else DEFAULT_COLOR, tuple(b.value for b in bars))],
        width,
        height,
    )


def stacked_chart(
    title: str, columns: Sequence[str], series: Sequence[Series], width: int = 640,
    height: int = 200,
) -> str:  # fmt: skip
    """Stacked vertical bars: one column per label, one colored part per series."""
    plot_top, plot_bottom = 18, height - 24
    totals = [sum(s.values[i] for s in series) for i in range(len(columns))]
    top = max(totals, default=0) or 1
    step = (width - 20) / max(len(columns), 1)
    bar_width = max(step * 0.7, 2)
    body = []
    for index, label in enumerate(columns):
        x = 10 + index * step + (step - bar_width) / 2
        y = float(plot_bottom)
        for part in series:
            value = part.values[index]
            size = value / top * (plot_bottom - plot_top)
            if value:
                tip = f"{part.name}: {_text(value)}" if part.name else _text(value)
                body.append(
                    f'<rect x="{x:.1f}" y="{y - size:.1f}" width="{bar_width:.1f}" '
                    f'height="{size:.1f}" fill="{escape(part.color)}">'
                    f"<title>{escape(label)} {escape(tip)}</title></rect>"
                )
            y -= size
        centre = x + bar_width / 2
        body.append(
            f'<text x="{centre:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="{FONT}">'
            f"{_text(totals[index])}</text>"
            f'<text x="{centre:.1f}" y="{height - 8}" text-anchor="middle" font-size="{FONT}">'
            f"{escape(_short(label, 12))}</text>"
        )
    body.insert(0, f'<line x1="0" y1="{plot_bottom}" x2="{width}" y2="{plot_bottom}" '
                   'stroke="#999" stroke-width="1"/>')  # fmt: skip
    return _svg(width, height, title, body)


def _short(label: str, limit: int = 26) -> str:
    """Long names are cut for the axis; the full name is in the bar's tooltip and the tables."""
    return label if len(label) <= limit else label[: limit - 1] + "…"
