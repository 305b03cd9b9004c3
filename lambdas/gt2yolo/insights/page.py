"""report.html: one self-contained page about a dataset and its labelers.

Self-contained means nothing is fetched: styles inline, charts inline SVG, preview thumbnails
embedded as `data:` URIs (the page works when mailed or downloaded alone), each linking to its
full-size JPEG under `previews/` (works next to the dataset). A Content-Security-Policy that
allows only inline styles and data: images makes any stray reference fail closed, offline.
Every user-provided string (class names, worker ids, file names, details) is escaped.

The sections follow report.json's task section, one `PageSections` each, which each task names
(`gt2yolo.tasks.registry.PAGES`): detection and segmentation datasets share theirs
(`tasks/detect/page.py`: labels per class, per image, their sizes, splits), named for boxes or
for polygons and regions; classification datasets get theirs from `tasks/classify/page.py`. A
detection dataset of video frames (report.json has a `video` section) adds its sequences and
tracks (`tasks/video/page.py`) and shows its previews by sequence. The task pages build on
`parts`, never on this module.
"""

from __future__ import annotations

from html import escape

from gt2yolo.insights.collection import members_section
from gt2yolo.insights.exports import exports_section
from gt2yolo.insights.markup import code, note_paragraphs
from gt2yolo.insights.model import model_section
from gt2yolo.insights.parts import (
    REJECTED_SHOWN,
    PageData,
    PageSections,
    PreviewTile,
    WorkerSection,
    worker_colors,
)
from gt2yolo.report import ReportDocument
from gt2yolo.tasks.registry import PAGES

__all__ = [
    "CSP", "REJECTED_SHOWN", "REPORT_HTML", "PageData", "PageSections", "PreviewTile",
    "WorkerSection", "page_sections", "render_page", "worker_colors",
]  # fmt: skip

REPORT_HTML = "report.html"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2430;background:#fff}
header{background:#1d2430;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c9d1dc}main{padding:8px 28px 40px;max-width:1180px}
section{margin-top:26px}h2{font-size:18px;border-bottom:2px solid #e3e7ee;padding-bottom:4px}
.counts{display:flex;flex-wrap:wrap;gap:10px}.count{border:1px solid #e3e7ee;border-radius:6px;
padding:8px 14px;min-width:110px}.count b{display:block;font-size:22px}
.count span{color:#5b6575;font-size:12px}.grid{display:flex;flex-wrap:wrap;gap:26px}
table{border-collapse:collapse;font-size:13px}th,td{border-bottom:1px solid #e3e7ee;
padding:4px 10px;text-align:left;vertical-align:top}td.n,th.n{text-align:right}
.gallery{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;width:244px}
figure img{width:240px;border:2px solid #e3e7ee;border-radius:4px}figure.flagged img{
border-color:#d9822b}figcaption{font-size:12px;word-break:break-all}.flag{color:#b35c00}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;
vertical-align:-1px}.note{color:#5b6575}
"""


def page_sections(report: ReportDocument) -> PageSections:
    try:
        return PAGES[type(report.section)]
    except KeyError:
        raise ValueError(f"no page for a {type(report.section).__name__}") from None


def render_page(data: PageData, sections: PageSections | None = None) -> str:
    """The page of `sections` (by default, those of the report's task section)."""
    sections = sections or page_sections(data.report)
    parts = [part(data) for part in sections.parts]
    if data.report.collection is not None:
        # A collection's members come after the counts, before the task's own sections.
        parts.insert(1, members_section(data.report.collection))
    if data.report.exports:
        # After the counts (and members): what else this version was written as.
        parts.insert(2 if data.report.collection is not None else 1,
                     exports_section(data.report.exports))  # fmt: skip
    if data.report.model is not None:
        # Right after the counts: the model trained on this version (Model Ready adds it).
        parts.insert(1, model_section(data.report.model))
    report = data.report
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(data.title)} - gt2yolo report</title><style>{_STYLE}</style></head>"
        f"<body><header><h1>{escape(data.title)}</h1><p>{escape(sections.kind(data))} report "
        f"by gt2yolo: label attribute {code(report.label_attribute)}, classes from "
        f"{escape(report.class_source)}</p></header><main>"
        + "".join(parts)
        + note_paragraphs(data.notes)
        + "</main></body></html>\n"
    )
