"""The report page's section of the exports: each format's files and what they hold, what was
left out and why, or why the dataset's task has no form of the format."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from gt2yolo.insights.markup import code, section, table
from gt2yolo.report import ExportEntry


def exports_section(exports: Sequence[ExportEntry]) -> str:
    rows: list[tuple[object, ...]] = []
    notes: list[str] = []
    for entry in exports:
        if not entry.written:
            notes.append(f"{code(entry.name)}: not written: {escape(entry.reason)}.")
            continue
        for key, counts in entry.files.items():
            held = ", ".join(f"{count} {what}" for what, count in counts.items())
            rows.append((entry.name, key, held))
        if entry.excluded:
            listed = ", ".join(f"{reason} ({n})" for reason, n in entry.excluded.items())
            notes.append(
                f"{code(entry.name)}: {sum(entry.excluded.values())} image(s) left out, as the "
                f"format's limits require: {escape(listed)}."
            )
    body = "".join(f'<p class="note">{note}</p>' for note in notes)
    if rows:
        body = table(("format", "file", "holds"), rows, numeric=set()) + body
    return section("exports", "Exports", body)
