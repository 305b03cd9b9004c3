"""The report page's section of a collection's dataset: its members, what each brought, and
what this version changed (classes appended, members left out)."""

from __future__ import annotations

from html import escape

from gt2yolo.insights.markup import code, section, table
from gt2yolo.report import CollectionSummary


def members_section(collection: CollectionSummary) -> str:
    rows = [
        (m.name, m.source, m.completed_at, m.lines, m.images, m.rejected, m.superseded)
        for m in collection.members
    ]
    headers = ("member", "source", "completed", "lines", "images", "rejected", "superseded")
    notes = [
        f"Dataset {code(collection.name)} is the union of {len(rows)} members, in completion "
        f"order; an image labeled in several keeps the labels of the "
        f"{'last' if collection.on_overlap == 'latest' else 'first'} one "
        f"(onOverlap {code(collection.on_overlap)}: {collection.overlaps} lines superseded)."
    ]
    if collection.new_classes:
        listed = ", ".join(code(name) for name in collection.new_classes)
        notes.append(f"Classes appended by this version (no class is renumbered): {listed}.")
    if collection.removed:
        listed = ", ".join(code(name) for name in collection.removed)
        notes.append(f"Left out, no longer in the collection's definition: {listed}.")
    body = "".join(f'<p class="note">{note}</p>' for note in notes)
    return section(
        "members", f"Members of {escape(collection.name)}",
        body + table(headers, rows, numeric={3, 4, 5, 6}),
    )  # fmt: skip
