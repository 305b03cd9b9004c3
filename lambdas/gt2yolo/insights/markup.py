"""The page's building blocks: sections, tables, class swatches. User text is always escaped;
markup built here is marked `Html` so a table cell does not escape it twice."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from gt2yolo.insights.colors import name_color


class Html(str):
    """Markup built here (already escaped), as opposed to user text."""


def code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int]) -> str:
    head = "".join(
        f'<th class="n">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(str(v))}</td>' if i in numeric else f"<td>{cell(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def cell(value: Any) -> str:
    return str(value) if isinstance(value, Html) else escape(str(value))


def swatch(name: str, color: str | None = None) -> Html:
    fill = color or name_color(name)
    return Html(f'<span class="swatch" style="background:{fill}"></span>{escape(name)}')


def count_tiles(counts: Sequence[tuple[str, Any]]) -> str:
    """The row of big numbers at the top of the page."""
    tiles = "".join(
        f'<div class="count" data-count="{escape(name)}"><b>{value}</b>'
        f"<span>{escape(name)}</span></div>"
        for name, value in counts
    )
    return section("counts", "Counts", f'<div class="counts">{tiles}</div>')


def note_paragraphs(texts: Sequence[str]) -> str:
    return "".join(f'<p class="note">{escape(text)}</p>' for text in texts)
