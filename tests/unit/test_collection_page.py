"""The report page's section of a collection: every member with its counts, escaped."""

from __future__ import annotations

from gt2yolo.insights.collection import members_section
from gt2yolo.report import CollectionMember, CollectionSummary


def _summary(**changes: object) -> CollectionSummary:
    members = (
        CollectionMember("parts-batch-1", "labeling-job", "2024-03-04T17:30:00+00:00", 12, 7, 2, 3),
        CollectionMember("manifests/parts/<b>2.manifest", "manifest-drop",
                         "2024-06-02T17:30:00+00:00", 15, 13, 2, 0),
    )  # fmt: skip
    fields: dict[str, object] = {"name": "parts", "on_overlap": "latest", "members": members,
                                 "new_classes": ("hexagon",), "removed": (), "overlaps": 3}  # fmt: skip
    fields.update(changes)
    return CollectionSummary(**fields)  # type: ignore[arg-type]


def test_the_members_section_lists_each_member_with_its_counts_in_completion_order() -> None:
    page = members_section(_summary())
    first, second = page.index("parts-batch-1"), page.index("2.manifest")
    assert first < second
    assert '<td class="n">7</td>' in page and '<td class="n">13</td>' in page
    assert "3 lines superseded" in page and "<code>hexagon</code>" in page


def test_member_names_are_escaped_on_the_page() -> None:
    page = members_section(_summary())
    assert "<b>2" not in page and "&lt;b&gt;2.manifest" in page


def test_members_left_out_are_named() -> None:
    page = members_section(_summary(removed=("parts-batch-0",), new_classes=()))
    assert "Left out" in page and "parts-batch-0" in page and "appended" not in page
