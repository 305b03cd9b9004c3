"""report.json's `model` (written by Model Ready): read back typed, and shown on the page right
after the counts, in a page rendered from report.json and spliced into a stored page alike."""

from __future__ import annotations

from typing import Any

from gt2yolo.insights.model import model_section, splice_section
from gt2yolo.insights.page import PageData, render_page
from gt2yolo.insights.stats import DatasetStats
from gt2yolo.tasks.registry import parse_report

EVIL = '<script>alert("x")</script>'
MODEL: dict[str, Any] = {
    "version": "20261202T081500Z-3fa9c1",
    "task": "detect",
    "training_job": "gt2yolo-pets-20261202T081500Z-3fa9c1-0a1b2c3d",
    "model_uri": "s3://b/models/pets/20261202T081500Z-3fa9c1/best.pt",
    "details_uri": "s3://b/models/pets/20261202T081500Z-3fa9c1/model.json",
    "files": {"best.pt": "s3://b/models/pets/20261202T081500Z-3fa9c1/best.pt"},
    "metrics": {"mAP50": 0.75, "recall": 0.5, EVIL: 1},
    "previous_version": "20261101T000000Z-aaaaaa",
    "changes": {"mAP50": 0.05, "recall": -0.125},
    "trained_at": "2026-12-02T09:00:00+00:00",
}


def _report(**extra: Any) -> dict[str, Any]:
    return {"images": 8, "task": "detect", "classes": ["cat"], "label_attribute": "b", **extra}


def _page(report: dict[str, Any]) -> str:
    return render_page(PageData(title="pets", report=parse_report(report), stats=DatasetStats()))


def test_the_model_entry_reads_back_as_written() -> None:
    parsed = parse_report(_report(model=MODEL))
    assert parsed.model is not None
    assert parsed.model.previous_version == "20261101T000000Z-aaaaaa"
    assert parsed.model.changes == {"mAP50": 0.05, "recall": -0.125}
    assert parsed.as_dict()["model"] == MODEL


def test_a_report_without_a_model_writes_none_and_shows_none() -> None:
    assert "model" not in parse_report(_report()).as_dict()
    assert 'id="model"' not in _page(_report())


def test_the_section_lists_each_metric_with_its_signed_change_and_escapes_names() -> None:
    model = parse_report(_report(model=MODEL)).model
    assert model is not None
    html = model_section(model)
    assert "0.7500" in html and "+0.0500" in html and "-0.1250" in html
    assert EVIL not in html and "&lt;script&gt;" in html
    assert "20261101T000000Z-aaaaaa" in html and MODEL["model_uri"] in html


def test_the_first_model_says_so() -> None:
    model = parse_report(_report(model=MODEL | {"previous_version": None, "changes": {}})).model
    assert model is not None
    assert "the first model of this dataset" in model_section(model)


def test_a_rendered_page_has_the_model_right_after_the_counts() -> None:
    page = _page(_report(model=MODEL))
    counts_end = page.index("</section>", page.index('<section id="counts">'))
    assert page.index('<section id="model">') == counts_end + len("</section>")


def test_splicing_into_a_stored_page_gives_the_rendered_page_and_replaces_an_earlier_one() -> None:
    # Given a page stored without a model, and the page rendered with one
    stored, rendered = _page(_report()), _page(_report(model=MODEL))
    model = parse_report(_report(model=MODEL)).model
    assert model is not None
    # When the section is spliced in, twice
    once = splice_section(stored, model_section(model))
    assert once == rendered
    # Then the second splice replaces the first (one section), and a page with neither counts
    # nor a main part is left alone
    assert splice_section(once, model_section(model)) == rendered
    assert splice_section("<html>no page</html>", model_section(model)) is None
