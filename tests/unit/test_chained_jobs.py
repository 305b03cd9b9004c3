"""Chained jobs: one line holds several label attributes; only the chosen ones are read."""

from __future__ import annotations

from gt_builders import Workspace, box, line, record, ref, verification


def _adjusted(first: list[dict[str, int]], adjusted: list[dict[str, int]], status: str) -> str:
    """A line from an adjustment job: the first job's boxes, then the adjusted ones."""
    later = record(ref("x.jpg"), adjusted, attr="adjusted", metadata={"adjustment-status": status})
    extra = {"adjusted": later["adjusted"], "adjusted-metadata": later["adjusted-metadata"]}
    return line(ref(f"{status}.jpg"), first, attr="first", extra_attrs=extra)


def test_only_the_chosen_attribute_of_a_chained_line_is_used(workspace: Workspace) -> None:
    # Given lines of an adjustment job: the original boxes under "first", the adjusted under
    # "adjusted" (metadata with "adjustment-status")
    lines = [
        _adjusted([box(0, left=10)], [box(1, left=200)], "adjusted"),
        _adjusted([box(0, left=10)], [box(0, left=10)], "unadjusted"),
    ]

    # When converting the adjustment attribute
    dataset = workspace.convert(lines, label_attribute="adjusted", classes=["cat", "dog"])

    # Then the adjusted boxes, and only they, are written: adjustment is just another attribute
    assert dataset.label_rows(ref("adjusted.jpg")) == [["1", "0.43", "0.1", "0.06", "0.1"]]
    assert dataset.label_rows(ref("unadjusted.jpg")) == [["0", "0.05", "0.1", "0.06", "0.1"]]
    assert dataset.report["boxes"] == 2


def test_the_first_job_of_a_chain_can_still_be_converted(workspace: Workspace) -> None:
    # Given the same chained lines
    lines = [_adjusted([box(0, left=10)], [box(1, left=200)], "adjusted")]

    # When converting the first job's attribute
    dataset = workspace.convert(lines, label_attribute="first", classes=["cat", "dog"])

    # Then the original boxes are written
    assert dataset.label_rows(ref("adjusted.jpg")) == [["0", "0.05", "0.1", "0.06", "0.1"]]


def test_a_verification_attribute_keeps_only_lines_with_an_accepted_verdict(
    workspace: Workspace,
) -> None:
    # Given boxes verified by a later job: good, bad, and a line the verifier never saw
    lines = [
        line(ref("good.jpg"), [box()], extra_attrs=verification("check", "good")),
        line(ref("bad.jpg"), [box()], extra_attrs=verification("check", "bad")),
        line(ref("unseen.jpg"), [box()]),
    ]

    # When converting with the verification attribute (accepting the default verdict "good")
    dataset = workspace.convert(lines, label_attribute="boxes", verification_attribute="check")

    # Then only the good line is an image; the others are counted by reason
    assert [row["source_ref"] for row in dataset.images] == [ref("good.jpg")]
    assert dataset.report["rejected"] == {"not_verified": 1, "verification_rejected": 1}
    details = {r["source_ref"]: r["reason"] for r in dataset.rejected}
    assert details == {ref("bad.jpg"): "verification_rejected", ref("unseen.jpg"): "not_verified"}


def test_the_accepted_verdicts_are_whatever_the_verification_job_defined(
    workspace: Workspace,
) -> None:
    # Given a verification job with its own verdicts
    lines = [
        line(ref("a.jpg"), [box()], extra_attrs=verification("check", "correct")),
        line(ref("b.jpg"), [box()], extra_attrs=verification("check", "needs-work")),
        line(ref("c.jpg"), [box()], extra_attrs=verification("check", "good")),
    ]

    # When accepting "correct" and "needs-work"
    dataset = workspace.convert(
        lines, verification_attribute="check", accept=["correct", "needs-work"]
    )

    # Then those lines are kept, and "good" is no longer accepted
    assert {row["source_ref"] for row in dataset.images} == {ref("a.jpg"), ref("b.jpg")}
    assert dataset.report["rejected"] == {"verification_rejected": 1}


def test_without_a_verification_attribute_verdicts_are_ignored(workspace: Workspace) -> None:
    # Given a line whose verification verdict is bad
    lines = [line(ref("a.jpg"), [box()], extra_attrs=verification("check", "bad"))]

    # When converting without naming the verification attribute
    dataset = workspace.convert(lines)

    # Then the line is converted
    assert dataset.report["images"] == 1


def test_the_verification_attribute_is_not_a_detection_candidate(workspace: Workspace) -> None:
    # Given a chained line with one detection and one verification attribute
    lines = [line(ref("a.jpg"), [box()], attr="pets", extra_attrs=verification("check", "good"))]

    # When detecting the label attribute
    dataset = workspace.convert(lines, verification_attribute="check")

    # Then the detection attribute is chosen
    assert dataset.report["label_attribute"] == "pets"
