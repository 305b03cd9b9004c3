"""Skimming the survey: with the attribute and classes given, a line whose top-level source-ref
starts with the common folder so far is not decoded; the survey's answer is exactly the same."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import pytest
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.errors import ConversionError
from gt2yolo.manifest import _Reject, load_line
from gt2yolo.names import listed_source_refs
from gt2yolo.survey import Survey, survey_manifests
from gt_builders import box, label_config, record
from hypothesis import given, settings
from hypothesis import strategies as st

CLASSES = class_list_from_label_config(label_config("cat", "dog"), "data.json")


class Lines:
    def __init__(self, name: str, lines: Sequence[bytes]) -> None:
        self.name = name
        self._lines = list(lines)

    def lines(self) -> Iterator[bytes]:
        yield from self._lines


def _survey(manifests: Sequence[Lines], skim: bool) -> Survey | str:
    try:
        return survey_manifests(manifests, "boxes", CLASSES, skim=skim)
    except ConversionError as exc:
        return f"error: {exc}"


FOLDERS = ["a/b", "a/b/c", "a/x", "a", "images", "a/b./c", "ü/b"]
REFS = st.one_of(
    st.builds(lambda f, n: f"s3://bucket/{f}/{n}.jpg", st.sampled_from(FOLDERS), st.integers(0, 9)),
    st.sampled_from(["s3://other/z.jpg", "s3://bucket", "https://bucket/a/b/x.jpg", "s3://bucket/a/b/",
                     "s3://bucket/a/../b/x.jpg", "s3://bucket/a/b/\\ud800.jpg", 42, None]),
)  # fmt: skip


TYPES = [
    "groundtruth/object-detection", "groundtruth/object-detection",
    "groundtruth/image-classification", "groundtruth/semantic-segmentation", "custom/boxes",
]  # fmt: skip


@st.composite
def manifest_line(draw: st.DrawFn) -> bytes:
    """A line as a manifest may hold it: valid or not, escaped or not, nested refs, duplicates."""
    source_ref = draw(REFS)
    entry = record(str(source_ref), [box()])
    if source_ref is None:
        del entry["source-ref"]
    elif not isinstance(source_ref, str):
        entry["source-ref"] = source_ref
    if draw(st.booleans()):
        del entry["boxes-metadata"]
    else:  # the type of this job, of other jobs' tasks (rejected wrong_task), of none we know
        entry["boxes-metadata"]["type"] = draw(st.sampled_from(TYPES))
    if draw(st.booleans()):
        entry["nested"] = {"source-ref": draw(REFS)}
    text = json.dumps(entry, ensure_ascii=draw(st.booleans()))
    if source_ref is not None and "\\ud800" in str(source_ref):
        text = text.replace("\\\\ud800", "\\ud800")  # a real lone surrogate, not its spelling
    return _spelled(draw, text)


def _spelled(draw: st.DrawFn, text: str) -> bytes:
    """The same line in another JSON spelling, or damaged."""
    form = draw(
        st.sampled_from(
            [
                "plain",
                "escaped slash",
                "escaped key",
                "spaced",
                "duplicate",
                "broken",
                "list",
                "utf16",
            ]
        )
    )
    if form == "escaped slash":
        text = text.replace("/", "\\/")
    elif form == "escaped key":
        text = text.replace('"source-ref"', '"source\\u002dref"')
    elif form == "spaced":
        text = text.replace('"source-ref": ', '"source-ref" :\t ')
    elif form == "duplicate":
        text = text.replace("{", f'{{"source-ref": "{draw(REFS)}", ', 1)
    elif form == "broken":
        text = text[: draw(st.integers(0, len(text)))]
    elif form == "list":
        text = f"[{text}]"
    if form == "utf16":
        return text.encode("utf-16")
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=300, deadline=None)
@given(first=st.lists(manifest_line(), max_size=12), second=st.lists(manifest_line(), max_size=6))
def test_a_skimmed_survey_equals_a_survey_that_decodes_every_line(
    first: list[bytes], second: list[bytes]
) -> None:
    # Given one or two manifests of any lines
    for manifests in ([Lines("one", first)], [Lines("one", first), Lines("two", second)]):
        # When surveying with and without skimming
        # Then the common folder, line count, attribute and task (or the error) are the same
        assert _survey(manifests, skim=True) == _survey(manifests, skim=False)


@pytest.mark.parametrize(
    "second_line",
    [
        b'{"source-ref": "s3://bucket/other/x.jpg"}',
        b'{"source-ref": "s3:\\/\\/bucket\\/other\\/x.jpg"}',
        b'{"source\\u002dref": "s3://bucket/other/x.jpg"}',
        b'{"source-ref" :  "s3://bucket/other/x.jpg", "boxes": 1}',
        b'{"source-ref": "s3://bucket/a/b/x.jpg", "source-ref": "s3://bucket/other/x.jpg"}',
        b'\xef\xbb\xbf{"source-ref": "s3://bucket/other/x.jpg"}',
    ],
    ids=["plain", "escaped", "escaped key", "spaced", "duplicate key", "byte order mark"],
)
def test_a_line_outside_the_common_folder_still_shortens_it_when_skimming(
    second_line: bytes,
) -> None:
    # Given a line setting the common folder, then a line outside it (in any JSON spelling)
    first = json.dumps(record("s3://bucket/a/b/x.jpg", [box()], attr="boxes")).encode()
    # When surveying with skimming
    survey = survey_manifests([Lines("m", [first, second_line])], "boxes", CLASSES)
    # Then the common folder is the shared part
    assert survey.common_folder == ("bucket",)


def test_a_source_ref_in_a_nested_object_or_an_invalid_line_does_not_shorten_the_common_folder() -> (
    None
):
    # Given lines whose only other source-refs are nested or on lines that are no JSON object
    lines = [
        json.dumps(record("s3://bucket/a/b/x.jpg", [box()], attr="boxes")).encode(),
        b'{"nested": {"source-ref": "s3://elsewhere/y.jpg"}, "source-ref": "s3://bucket/a/b/y.jpg"}',
        b'{"source-ref": "s3://elsewhere/y.jpg", ',
        b'[{"source-ref": "s3://elsewhere/y.jpg"}]',
    ]
    # When surveying, skimmed or not
    # Then the common folder is the one of the valid top-level source-refs
    for skim in (True, False):
        survey = survey_manifests([Lines("m", lines)], "boxes", CLASSES, skim=skim)
        assert survey.common_folder == ("bucket", "a", "b")


@settings(max_examples=300, deadline=None)
@given(raw=manifest_line())
def test_the_source_refs_read_from_a_lines_bytes_include_the_one_decoding_gives(
    raw: bytes,
) -> None:
    # Given any line (names of colliding images are decided from what the survey reads from the
    # bytes, skimmed or not; a source-ref missing there could take another image's name)
    try:
        decoded = load_line(raw).get("source-ref")
    except _Reject:
        decoded = None
    # When the survey reads the line's source-refs
    listed = list(listed_source_refs(raw))
    # Then the top-level source-ref json.loads gives is among them
    if isinstance(decoded, str):
        assert decoded in listed
