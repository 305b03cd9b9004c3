"""The report page's section of the model trained on the version (report.json's `model`): its
metrics against the dataset's previous model, and where its files are.

Model Ready adds it to a published version's page (`splice_section`: the stored page keeps its
previews and workers; the section replaces an earlier one), and `render_page` renders it from
report.json, both right after the counts.
"""

from __future__ import annotations

import math
from html import escape

from gt2yolo.insights.markup import code, section, table
from gt2yolo.report import ModelEntry

MODEL_ANCHOR = "model"
_OPEN = f'<section id="{MODEL_ANCHOR}">'
_COUNTS = '<section id="counts">'
_CLOSE = "</section>"
_MAIN = "<main>"


def signed(change: float) -> str:
    """A change as `+0.0123` / `-0.0040` (four places, as the metrics are shown)."""
    return f"{change:+.4f}"


def model_section(entry: ModelEntry) -> str:
    """One section, never one nested in it (the splice finds its end by the first `</section>`)."""
    against = (
        f"against {code(entry.previous_version)}"
        if entry.previous_version
        else "the first model of this dataset"
    )
    rows: list[tuple[object, ...]] = []
    for name, value in entry.metrics.items():
        change = entry.changes.get(name)
        shown = signed(change) if change is not None and math.isfinite(change) else ""
        rows.append((name, f"{value:.4f}", shown))
    files: list[tuple[object, ...]] = [(name, uri) for name, uri in entry.files.items()]
    trained = f", trained {escape(entry.trained_at)}" if entry.trained_at else ""
    body = (
        f"<p>{escape(entry.task or 'YOLO')} model of version {code(entry.version)} by training "
        f"job {code(entry.training_job)}{trained}: {code(entry.model_uri)}</p>"
        + (
            table(("metric", "value", "change"), rows, numeric={1, 2})
            if rows
            else '<p class="note">The job reported no metrics.</p>'
        )
        + f'<p class="note">Metrics {against}.</p>'
        + (table(("file", "location"), files, numeric=set()) if files else "")
        + f'<p class="note">Details: {code(entry.details_uri)}</p>'
    )
    return section(MODEL_ANCHOR, "Model", body)


def splice_section(page: str, html: str) -> str | None:
    """`page` with its model section replaced by `html` (or, without one, `html` inserted after
    the counts, else at the start of the main part); None when the page has neither."""
    start = page.find(_OPEN)
    if start >= 0:
        end = page.find(_CLOSE, start)
        if end < 0:
            return None
        return page[:start] + html + page[end + len(_CLOSE) :]
    counts = page.find(_COUNTS)
    if counts >= 0:
        end = page.find(_CLOSE, counts)
        if end >= 0:
            at = end + len(_CLOSE)
            return page[:at] + html + page[at:]
    main = page.find(_MAIN)
    if main < 0:
        return None
    at = main + len(_MAIN)
    return page[:at] + html + page[at:]
