"""Worker responses of a Ground Truth job -> typed answers -> per-worker and per-day numbers.

Layout (under the job's output folder): `annotations/worker-response/iteration-<n>/
<dataset-object-id>/<timestamp>.json`, each file `{"answers": [{"workerId", "submissionTime",
"timeSpentInSeconds", "answerContent": {"boundingBox": {"boundingBoxes": [...],
"inputImageProperties": {...}}}}]}`. Worker ids are kept exactly as Ground Truth gives them;
nothing else about a worker (identityData) is read.
"""

from __future__ import annotations

import csv
import io
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from gt2yolo.nesting import loads_bounded

WORKER_RESPONSE_FOLDER = "annotations/worker-response/"
WORKERS_CSV = "workers.csv"
WORKERS_DAILY_CSV = "workers_daily.csv"
WORKERS_COLUMNS = (
    "worker_id", "answers", "boxes", "median_seconds", "mean_seconds", "first_day", "last_day",
    "compared_answers", "matched_boxes", "missed_boxes", "extra_boxes", "mean_iou",
)  # fmt: skip
DAILY_COLUMNS = ("day", "worker_id", "answers", "boxes", "active_seconds")
_ITERATION = re.compile(r"^iteration-(\d+)$")


class ResponseFiles(Protocol):
    """Where worker-response files are: yields (key relative to `worker-response/`, bytes)."""

    def files(self) -> Iterator[tuple[str, bytes]]: ...

    def location(self) -> str: ...


@dataclass(frozen=True, slots=True)
class AnswerBox:
    """A box as one worker drew it: pixels, top-left corner, class by name."""

    label: str
    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class WorkerAnswer:
    """One worker's answer for one dataset object."""

    worker_id: str
    object_id: str
    iteration: int
    submitted: datetime  # UTC
    seconds: float | None  # timeSpentInSeconds: active time in the task
    boxes: tuple[AnswerBox, ...]
    image_size: tuple[int, int] | None  # (width, height) the worker saw


class InvalidResponse(ValueError):
    """A worker-response file that does not have the documented shape."""


def object_of(key: str) -> tuple[int, str]:
    """`iteration-1/17/2026-11-20_09:00:00.json` -> (1, "17")."""
    parts = key.strip("/").split("/")
    for index, part in enumerate(parts[:-2]):
        found = _ITERATION.match(part)
        if found:
            return int(found.group(1)), parts[index + 1]
    raise InvalidResponse(f"not under iteration-<n>/<object-id>/: {key}")


def parse_response_file(key: str, body: bytes) -> list[WorkerAnswer]:
    """Every answer of one worker-response file; InvalidResponse when the file is unusable."""
    iteration, object_id = object_of(key)
    try:
        document = loads_bounded(body)
    except ValueError as exc:
        raise InvalidResponse(f"{key}: not JSON ({exc})") from None
    answers = document.get("answers") if isinstance(document, dict) else None
    if not isinstance(answers, list):
        raise InvalidResponse(f"{key}: no answers list")
    return [_answer(item, iteration, object_id, key) for item in answers]


def _answer(item: Any, iteration: int, object_id: str, key: str) -> WorkerAnswer:
    if not isinstance(item, dict) or not isinstance(item.get("workerId"), str):
        raise InvalidResponse(f"{key}: an answer without workerId")
    content = ((item.get("answerContent") or {}).get("boundingBox")) or {}
    return WorkerAnswer(
        worker_id=item["workerId"],
        object_id=object_id,
        iteration=iteration,
        submitted=parse_time(item.get("submissionTime"), key),
        seconds=_seconds(item.get("timeSpentInSeconds")),
        boxes=tuple(_box(b, key) for b in content.get("boundingBoxes") or ()),
        image_size=_image_size(content.get("inputImageProperties")),
    )


def parse_time(value: Any, key: str = "") -> datetime:
    """Ground Truth's `2026-11-20T09:00:00.000Z` (UTC) -> an aware datetime in UTC."""
    if not isinstance(value, str):
        raise InvalidResponse(f"{key}: no submissionTime")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidResponse(f"{key}: submissionTime {value!r} is not a time") from None
    # A time without offset is taken as UTC, which is what Ground Truth writes.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def _box(value: Any, key: str) -> AnswerBox:
    try:
        return AnswerBox(
            str(value["label"]),
            float(value["left"]),
            float(value["top"]),
            float(value["width"]),
            float(value["height"]),
        )
    except (KeyError, TypeError, ValueError):
        raise InvalidResponse(f"{key}: a box without label/left/top/width/height") from None


def _image_size(value: Any) -> tuple[int, int] | None:
    try:
        return int(value["width"]), int(value["height"])
    except (KeyError, TypeError, ValueError):
        return None


@dataclass
class ResponseSet:
    """Every parsed answer, grouped by dataset object, and the files that could not be read."""

    answers: list[WorkerAnswer] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)  # key -> why

    def by_object(self) -> dict[str, list[WorkerAnswer]]:
        """Answers per dataset object id (the last iteration only: re-labeled objects)."""
        grouped: dict[str, list[WorkerAnswer]] = defaultdict(list)
        last: dict[str, int] = {}
        for answer in self.answers:
            last[answer.object_id] = max(last.get(answer.object_id, 0), answer.iteration)
        for answer in self.answers:
            if answer.iteration == last[answer.object_id]:
                grouped[answer.object_id].append(answer)
        return dict(grouped)


def read_responses(source: ResponseFiles) -> ResponseSet:
    """Parse every file; an unreadable file is recorded with its reason, never fatal."""
    result = ResponseSet()
    for key, body in source.files():
        if not key.endswith(".json"):
            continue
        try:
            result.answers.extend(parse_response_file(key, body))
        except InvalidResponse as exc:
            result.unreadable[key] = str(exc)
    return result


def shared_objects(by_object: Mapping[str, Sequence[WorkerAnswer]]) -> set[str]:
    """Objects that at least two different workers answered: where agreement is measured."""
    return {oid for oid, answers in by_object.items() if len({a.worker_id for a in answers}) > 1}


# --- numbers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """One worker's boxes against the consolidated boxes of the objects they shared."""

    compared_answers: int = 0
    matched_boxes: int = 0
    missed_boxes: int = 0  # consolidated boxes this worker did not draw
    extra_boxes: int = 0  # boxes this worker drew that the consolidation does not have
    iou_sum: float = 0.0

    @property
    def mean_iou(self) -> float | None:
        return self.iou_sum / self.matched_boxes if self.matched_boxes else None

    def __add__(self, other: Agreement) -> Agreement:
        return Agreement(
            self.compared_answers + other.compared_answers,
            self.matched_boxes + other.matched_boxes,
            self.missed_boxes + other.missed_boxes,
            self.extra_boxes + other.extra_boxes,
            self.iou_sum + other.iou_sum,
        )


@dataclass(frozen=True)
class WorkerSummary:
    worker_id: str
    answers: int
    boxes: int
    median_seconds: float | None
    mean_seconds: float | None
    first_day: date
    last_day: date
    agreement: Agreement


@dataclass(frozen=True)
class DailyCount:
    day: date  # UTC day of submissionTime
    worker_id: str
    answers: int
    boxes: int
    active_seconds: float


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of a moment (a 23:30 answer in UTC-5 belongs to the next day)."""
    return moment.astimezone(UTC).date()


def summarize_workers(
    answers: Iterable[WorkerAnswer], agreement: Mapping[str, Agreement] | None = None
) -> list[WorkerSummary]:
    """Per worker: answers, boxes, median and mean active time, days, agreement; by worker id."""
    seconds: dict[str, list[float]] = defaultdict(list)
    counts: Counter[str] = Counter()
    boxes: Counter[str] = Counter()
    days: dict[str, list[date]] = defaultdict(list)
    for answer in answers:
        counts[answer.worker_id] += 1
        boxes[answer.worker_id] += len(answer.boxes)
        days[answer.worker_id].append(utc_day(answer.submitted))
        if answer.seconds is not None:
            seconds[answer.worker_id].append(answer.seconds)
    agreement = agreement or {}
    return [
        WorkerSummary(
            worker_id=worker,
            answers=counts[worker],
            boxes=boxes[worker],
            median_seconds=statistics.median(seconds[worker]) if seconds[worker] else None,
            mean_seconds=statistics.fmean(seconds[worker]) if seconds[worker] else None,
            first_day=min(days[worker]),
            last_day=max(days[worker]),
            agreement=agreement.get(worker, Agreement()),
        )
        for worker in sorted(counts)
    ]


def daily_counts(answers: Iterable[WorkerAnswer]) -> list[DailyCount]:
    """Answers, boxes and active seconds per (UTC day, worker), in day then worker order."""
    totals: dict[tuple[date, str], list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for answer in answers:
        row = totals[(utc_day(answer.submitted), answer.worker_id)]
        row[0] += 1
        row[1] += len(answer.boxes)
        row[2] += answer.seconds or 0.0
    return [
        DailyCount(day, worker, int(row[0]), int(row[1]), row[2])
        for (day, worker), row in sorted(totals.items())
    ]


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def workers_csv(summaries: Sequence[WorkerSummary]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(WORKERS_COLUMNS)
    for s in summaries:
        a = s.agreement
        writer.writerow((
            s.worker_id, s.answers, s.boxes, _number(s.median_seconds), _number(s.mean_seconds),
            s.first_day.isoformat(), s.last_day.isoformat(), a.compared_answers,
            a.matched_boxes, a.missed_boxes, a.extra_boxes, _number(a.mean_iou, 3),
        ))  # fmt: skip
    return out.getvalue()


def workers_daily_csv(days: Sequence[DailyCount]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DAILY_COLUMNS)
    for d in days:
        writer.writerow(
            (d.day.isoformat(), d.worker_id, d.answers, d.boxes, _number(d.active_seconds))
        )
    return out.getvalue()


class LocalResponseFiles:
    """Worker responses in a local folder: the job's output folder, or `worker-response/`."""

    def __init__(self, folder: str | Path) -> None:
        root = Path(folder)
        nested = root / WORKER_RESPONSE_FOLDER
        self.root = nested if nested.is_dir() else root

    def files(self) -> Iterator[tuple[str, bytes]]:
        for path in sorted(self.root.rglob("*.json")):
            yield path.relative_to(self.root).as_posix(), path.read_bytes()

    def location(self) -> str:
        return str(self.root)
