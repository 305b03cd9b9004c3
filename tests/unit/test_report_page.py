"""report.html: self-contained (nothing fetched), escaped, stable colors per class."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

from gt2yolo.insights.colors import name_color
from gt2yolo.insights.page import CSP, PageData, PreviewTile, WorkerSection, render_page
from gt2yolo.insights.stats import DatasetStats
from gt2yolo.insights.workers import Agreement, DailyCount, WorkerSummary
from gt2yolo.tasks.registry import parse_report

EVIL = '<script>alert("x")</script>'


def _page(**overrides: object) -> str:
    report = {
        "images": 3, "boxes": 4, "background_images": 1, "lines": 5, "rejected_lines": 2,
        "rejected": {"malformed_json": 1, "not_labeled": 1}, "dropped_boxes": {"zero_size": 1},
        "clamped_boxes": 1, "classes": ["cat", EVIL], "class_source": "label config",
        "boxes_per_class": {"cat": 3, EVIL: 1}, "images_per_split": {"train": 2, "val": 1},
        "boxes_per_split": {"train": 3, "val": 1}, "label_attribute": "boxes",
    }  # fmt: skip
    worker = WorkerSummary(
        f"private.{EVIL}",
        4,
        6,
        12.0,
        13.5,
        date(2026, 11, 20),
        date(2026, 11, 21),
        Agreement(2, 3, 1, 0, 2.7),
    )
    data = PageData(
        title="pets & <co>",
        report=parse_report(report),
        stats=DatasetStats(),
        rejected=[
            {
                "manifest": "m.manifest",
                "line": 7,
                "reason": "malformed_json",
                "detail": f"bad {EVIL}",
                "source_ref": None,
            }
        ],
        rejected_total=2,
        previews=[
            PreviewTile(
                f"images/train/{EVIL}.jpg", "previews/train/a b#1.jpg", b"\xff\xd8jpeg", 2, 1, 0
            )
        ],
        workers=WorkerSection(
            [worker], [DailyCount(date(2026, 11, 20), worker.worker_id, 4, 6, 54.0)], "s3://b/gt/"
        ),
    )
    for key, value in overrides.items():
        object.__setattr__(data, key, value)
    return render_page(data)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parsed(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    return collector


def test_user_strings_are_escaped_everywhere() -> None:
    page = _page()
    assert "<script" not in page
    assert EVIL not in page
    # ... and still readable as text
    assert EVIL in "".join(_parsed(page).text)


def test_the_page_fetches_nothing() -> None:
    page = _page()
    parsed = _parsed(page)
    assert "script" not in parsed.tags and "link" not in parsed.tags
    # Images are data: URIs; links go to the previews next to the page, nothing else
    assert parsed.urls
    for url in parsed.urls:
        assert url.startswith("data:image/jpeg;base64,") or url.startswith("previews/"), url
    assert not re.search(r"(https?:)?//[a-z0-9]", page.replace("s3://", ""), re.IGNORECASE)
    assert "@import" not in page and "url(" not in page


def test_a_content_security_policy_blocks_any_network_use() -> None:
    page = _page()
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert "default-src 'none'" in CSP and "img-src data:" in CSP


def test_preview_links_are_percent_encoded_relative_paths() -> None:
    parsed = _parsed(_page())
    assert "previews/train/a%20b%231.jpg" in parsed.urls


def test_counts_classes_workers_and_rejections_are_on_the_page() -> None:
    text = " ".join(_parsed(_page()).text)
    for expected in ("images", "clamped boxes", "cat", "malformed_json", "m.manifest",
                     "private.", "0.900", "12.0", "2026-11-20"):  # fmt: skip
        assert expected in text
    assert "1 more in rejected.jsonl" in text


def test_a_class_has_the_same_color_on_every_run_whatever_its_position() -> None:
    assert name_color("cat") == name_color("cat")
    assert re.fullmatch(r"#[0-9a-f]{6}", name_color("cat"))
    assert name_color("cat") != name_color("dog")
    page = _page()
    assert f"background:{name_color('cat')}" in page


def test_the_page_says_when_there_are_no_worker_responses() -> None:
    page = _page(workers=None)
    assert "No worker responses were given." in page


def test_class_colors_come_from_a_palette_of_distinct_colors() -> None:
    from gt2yolo.insights.colors import PALETTE, text_on

    assert len(set(PALETTE)) == len(PALETTE) == 20
    names = [f"class_{i}" for i in range(200)]
    assert {name_color(n) for n in names} == set(PALETTE)  # the hash spreads over the palette
    assert text_on("#ffe119") == (0, 0, 0) and text_on("#000075") == (255, 255, 255)


def test_workers_on_one_page_get_distinct_colors() -> None:
    from gt2yolo.insights.page import worker_colors

    ids = [f"private.us-east-1.{i:06x}" for i in range(20)]
    assert len(set(worker_colors(ids).values())) == 20
    assert worker_colors(ids[:3]) == worker_colors(list(reversed(ids[:3])))
