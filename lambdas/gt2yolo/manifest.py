"""Reading output manifests: one JSON Lines record -> a typed record or a rejection.

Line layout (Ground Truth output): the input keys (`source-ref`, pass-through keys) plus
`<attr>` and `<attr>-metadata` for every job in a chain. Only the chosen label attribute is read.
"""

from __future__ import annotations

import codecs
import json
import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from gt2yolo.classes import ClassList
from gt2yolo.errors import ConversionError
from gt2yolo.excerpts import shortened, shown
from gt2yolo.nesting import MAX_NESTING, nesting_exceeds
from gt2yolo.paths import InvalidSourceRef, UnsafeSourceRef, source_ref_segments
from gt2yolo.records import (
    ClassifiedImage,
    LabeledImage,
    LineOrigin,
    LineRejection,
    Rejected,
    RejectedLine,
    SegmentedImage,
    VideoSequence,
)
from gt2yolo.task_types import LabelTask, task_of_metadata_type

# orjson, when installed, decodes a line 2 to 3 times faster than json. It is optional: the core
# stays standard-library only (Lambda and the CLI share it as is) and works the same without it.
_fast_loads: Callable[[bytes], Any] | None
_FastDecodeError: type[Exception]
try:
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    _fast_loads, _FastDecodeError = None, ValueError
else:
    _fast_loads, _FastDecodeError = orjson.loads, orjson.JSONDecodeError

# Where orjson and json could disagree on an input orjson accepts, json decides:
# - integers beyond 64 bits: orjson returns a float, json an exact int (so any run of 19 digits);
# - nesting deeper than Python's recursion limit: json raises RecursionError, orjson (up to 1024
#   levels) would not. 500 brackets stay far below both limits.
# Everything orjson rejects (NaN, Infinity, 1e400, lone surrogates, a BOM, invalid UTF-8, ...)
# goes to json too, so acceptance, values and error messages are exactly the standard library's.
_DIGITS_AND_BRACKETS = bytes.maketrans(b"0123456789[", b"0000000000{")
_LONG_DIGIT_RUN = b"0" * 19
_MAX_FAST_BRACKETS = 500


def decode_json(raw: bytes | str) -> Any:
    """json.loads(raw), exactly; faster through orjson for lines where it provably agrees."""
    if _fast_loads is not None and type(raw) is bytes:
        scanned = raw.translate(_DIGITS_AND_BRACKETS)
        if _LONG_DIGIT_RUN not in scanned and scanned.count(b"{") < _MAX_FAST_BRACKETS:
            try:
                return _fast_loads(raw)
            except _FastDecodeError:
                pass  # json.loads below accepts it (NaN, ...) or raises its own error
    return json.loads(raw)


METADATA_SUFFIX = "-metadata"


class ManifestSource(Protocol):
    """A manifest that can be streamed line by line, more than once (two passes)."""

    @property
    def name(self) -> str: ...

    def lines(self) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class LineRules:
    """Which attribute holds the labels, which verification verdicts keep a line, and the
    reader of the task (from the task registry) that turns an accepted line into its record.

    `derived_classes`: the class list the survey derived from the lines' class-maps (no label
    config); a line whose class-map disagrees with it is rejected (`class_map_conflict`).
    """

    label_attribute: str
    verification_attribute: str | None = None
    accepted_verdicts: frozenset[str] = field(default_factory=lambda: frozenset({"good"}))
    derived_classes: ClassList | None = None
    task: LabelTask = LabelTask.BOUNDING_BOX
    reader: TaskReader = field(kw_only=True)


_Reject = Rejected
_MALFORMED = LineRejection.MALFORMED_JSON


# A rejected line's source-ref is listed as is up to this length (valid ones are far shorter).
MAX_SHOWN_SOURCE_REF = 2048


def load_line(raw: bytes | str) -> dict[str, Any]:
    """Decode one JSON Lines record; raises _Reject for anything that is not a JSON object."""
    try:
        if _fast_loads is not None and type(raw) is bytes:
            # nesting_exceeds and decode_json, sharing one scan of the line: its count of `{`
            # after the translation is the count of `[` and `{` both.
            scanned = raw.translate(_DIGITS_AND_BRACKETS)
            brackets = scanned.count(b"{")
            if brackets > MAX_NESTING and nesting_exceeds(raw):
                raise _Reject(_MALFORMED, f"nested deeper than {MAX_NESTING} levels")
            if _LONG_DIGIT_RUN in scanned or brackets >= _MAX_FAST_BRACKETS:
                record = json.loads(raw)
            else:
                try:
                    record = _fast_loads(raw)
                except _FastDecodeError:  # json.loads accepts it (NaN, ...) or says why not
                    record = json.loads(raw)
        else:
            if nesting_exceeds(raw):
                raise _Reject(_MALFORMED, f"nested deeper than {MAX_NESTING} levels")
            record = decode_json(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError among them
        raise _Reject(LineRejection.MALFORMED_JSON, _not_json(raw, exc)) from None
    if not isinstance(record, dict):
        raise _Reject(LineRejection.NOT_AN_OBJECT, f"a JSON {type(record).__name__}, not an object")
    return record


def _not_json(raw: bytes | str, exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "not JSON: nested too deep"
    if isinstance(raw, bytes) and b"\x00" in raw:
        return "not JSON: holds NUL bytes (UTF-16 or UTF-32 text? manifests are UTF-8)"
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return f"not JSON: {shortened(str(exc), 200)}"
    # json.loads refuses integers longer than the interpreter's int-to-string digit limit.
    return f"not JSON: an integer of more than {sys.get_int_max_str_digits()} digits"


# What a line of each task becomes once the common rules accepted it.
AcceptedLine = LabeledImage | SegmentedImage | ClassifiedImage | VideoSequence


def parse_line(
    raw: bytes | str, origin: LineOrigin, rules: LineRules
) -> AcceptedLine | RejectedLine:
    """Apply the line rules: an accepted image with its drawn boxes, or a counted rejection."""
    source_ref: str | None = None
    try:
        record = load_line(raw)
        source_ref = _source_ref(record)
        segments = _segments(source_ref)
        _check_labeled(record, rules)
        _check_task(record, rules)
        _check_verified(record, rules)
        _check_class_map(record, rules)
        return rules.reader.read(record, source_ref, segments, origin, rules.label_attribute)
    except _Reject as rejection:
        shown_ref = None if source_ref is None else shortened(source_ref, MAX_SHOWN_SOURCE_REF)
        return RejectedLine(
            rejection.reason, shortened(rejection.detail), origin, shown_ref, rejection.other_task
        )


def _source_ref(record: dict[str, Any]) -> str:
    source_ref = record.get("source-ref")
    if not isinstance(source_ref, str):
        raise _Reject(LineRejection.MISSING_SOURCE_REF, 'no "source-ref" string')
    return source_ref


def _segments(source_ref: str) -> tuple[str, ...]:
    try:
        # Kept on the image: the dataset path needs them again (computed once per line).
        return source_ref_segments(source_ref)
    except UnsafeSourceRef as exc:
        raise _Reject(LineRejection.UNSAFE_PATH, str(exc)) from None
    except InvalidSourceRef as exc:
        raise _Reject(LineRejection.INVALID_SOURCE_REF, str(exc)) from None


def _check_labeled(record: dict[str, Any], rules: LineRules) -> None:
    attribute = rules.label_attribute
    metadata = record.get(attribute + METADATA_SUFFIX)
    if isinstance(metadata, dict) and "failure-reason" in metadata:
        reason = metadata["failure-reason"]
        raise _Reject(
            LineRejection.FAILED_OBJECT,
            shortened(reason) if isinstance(reason, str) else shown(reason),
        )
    if attribute not in record:
        raise _Reject(LineRejection.NOT_LABELED, f'no "{attribute}" attribute on this line')


def _check_task(record: dict[str, Any], rules: LineRules) -> None:
    """A line typed as another task is counted out, not read by the wrong reader (untyped lines,
    of custom workflows, are read as the dataset's task)."""
    found = task_of_metadata_type(metadata_type(record, rules.label_attribute))
    if found is not None and found is not rules.task:
        raise _Reject(
            LineRejection.WRONG_TASK,
            f"labels of type {found} ({found.description}); this dataset is "
            f"{rules.task} ({rules.task.description})",
            other_task=str(found),
        )


def _check_verified(record: dict[str, Any], rules: LineRules) -> None:
    attribute = rules.verification_attribute
    if attribute is None:
        return
    metadata = record.get(attribute + METADATA_SUFFIX)
    verdict = metadata.get("class-name") if isinstance(metadata, dict) else None
    if not isinstance(verdict, str):
        raise _Reject(LineRejection.NOT_VERIFIED, f'no "{attribute}" verdict on this line')
    if verdict not in rules.accepted_verdicts:
        raise _Reject(LineRejection.VERIFICATION_REJECTED, f"verdict {shown(verdict)}")


def _check_class_map(record: dict[str, Any], rules: LineRules) -> None:
    classes = rules.derived_classes
    if classes is None:
        return
    # The same class-maps the survey derived the class list from (of lines typed as the task).
    class_map = class_map_of(record, rules.label_attribute, rules.task, rules.reader)
    if class_map:
        conflict = classes.class_map_conflict(class_map)
        if conflict is not None:
            raise _Reject(LineRejection.CLASS_MAP_CONFLICT, conflict)


def is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float range (a JSON number of 400 digits)
        return False


def confidence(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and is_number(value) else None


def metadata_type(record: dict[str, Any], attribute: str) -> object:
    metadata = record.get(attribute + METADATA_SUFFIX)
    return metadata.get("type") if isinstance(metadata, dict) else None


def labeled_attributes(record: dict[str, Any]) -> Iterator[tuple[str, LabelTask]]:
    """Attributes on this line whose metadata says they hold labels of a task we convert."""
    for key, value in record.items():
        if key.endswith(METADATA_SUFFIX) and isinstance(value, dict):
            task = task_of_metadata_type(value.get("type"))
            if task is not None:
                yield key[: -len(METADATA_SUFFIX)], task


def class_map_of(
    record: dict[str, Any], attribute: str, task: LabelTask, reader: TaskReader
) -> dict[str, Any] | None:
    """The line's own id -> name map of the attribute, if its metadata is typed as `task`."""
    metadata = record.get(attribute + METADATA_SUFFIX)
    if not isinstance(metadata, dict) or metadata.get("type") != task:
        return None
    return reader.class_map(record, attribute, metadata)


class TaskReader(Protocol):
    """The reader of one Ground Truth task: its lines' label attribute -> a typed record."""

    def read(
        self,
        record: dict[str, Any],
        source_ref: str,
        segments: tuple[str, ...],
        origin: LineOrigin,
        attribute: str,
    ) -> AcceptedLine:
        """The accepted line's record; raises Rejected."""
        ...

    def class_map(
        self, record: dict[str, Any], attribute: str, metadata: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The line's class ids -> names, as a bounding-box class-map would give them."""
        ...


# Byte order marks of encodings json.loads would guess per line: a manifest starting with one is
# refused whole (its lines, split at b"\n", would be read half right). UTF-32 first: its LE mark
# begins with UTF-16's.
_FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32-LE"),
    (codecs.BOM_UTF32_BE, "UTF-32-BE"),
    (codecs.BOM_UTF16_LE, "UTF-16-LE"),
    (codecs.BOM_UTF16_BE, "UTF-16-BE"),
)


def numbered_lines(source: ManifestSource) -> Iterator[tuple[LineOrigin, bytes]]:
    """Non-blank lines with their 1-based line numbers (blank lines carry no object).

    A line holding only whitespace, or a UTF-8 byte order mark and whitespace, is blank. A
    source that is a slice of a manifest (a fan-out chunk) says where it starts: `first_line`.
    """
    start = getattr(source, "first_line", 1)
    for number, raw in enumerate(source.lines(), start=start):
        if number == 1:
            _require_utf8(raw, source.name)
            _require_line_feeds(raw, source.name)
        # `raw.strip()` without copying the line: bytes.isspace() tests the same ASCII whitespace.
        if raw and not raw.isspace():
            if raw.startswith(codecs.BOM_UTF8) and (len(raw) == 3 or raw[3:].isspace()):
                continue
            yield LineOrigin(source.name, number), raw


# An object's end, then a CR (and whitespace), then an object's start: never one JSON text (two
# values need a comma between them; a raw CR is no string's character), but a manifest whose
# lines end with CR only (old Mac, some exporters), which a split at b"\n" reads as one line.
_CR_BETWEEN_OBJECTS = re.compile(rb"\}[ \t]*\r[ \t\r]*\{")


def _require_line_feeds(first_line: bytes, name: str) -> None:
    """Refuse a manifest with CR-only line ends (its first "line" is then the whole file)."""
    if b"\r" in first_line and _CR_BETWEEN_OBJECTS.search(first_line):
        raise ConversionError(
            f"{name} uses CR-only line ends (its lines end with \\r, not \\n or \\r\\n): "
            "manifests are JSON Lines; convert it first, e.g. tr '\\r' '\\n' < IN > OUT"
        )


def _require_utf8(first_line: bytes, name: str) -> None:
    for mark, encoding in _FOREIGN_BOMS:
        if first_line.startswith(mark):
            raise ConversionError(
                f"{name} is {encoding} text (it starts with that byte order mark); manifests "
                f"are UTF-8 JSON Lines: convert it first, e.g. iconv -f {encoding} -t UTF-8"
            )
