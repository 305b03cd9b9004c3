"""Labeler insights: worker responses -> per-worker and per-UTC-day numbers, workers CSVs."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from gt2yolo.insights.workers import (
    Agreement,
    InvalidResponse,
    LocalResponseFiles,
    ResponseSet,
    daily_counts,
    object_of,
    parse_response_file,
    parse_time,
    read_responses,
    shared_objects,
    summarize_workers,
    utc_day,
    workers_csv,
    workers_daily_csv,
)
from worker_builders import answer, response_file, write_response

KEY = "iteration-1/7/2026-11-20_09:00:00.json"


def test_a_response_file_gives_one_typed_answer_per_entry() -> None:
    body = response_file(
        answer("private.us-east-1.aaa", "2026-11-20T09:15:00.250Z", 42.5,
               [("cat", 10, 20, 30, 40)]),
        answer("private.us-east-1.bbb", seconds=None),
    )  # fmt: skip
    first, second = parse_response_file(KEY, body)
    assert (first.worker_id, first.object_id, first.iteration) == ("private.us-east-1.aaa", "7", 1)
    assert first.submitted == datetime(2026, 11, 20, 9, 15, 0, 250000, tzinfo=UTC)
    assert first.seconds == 42.5
    assert [(b.label, b.left, b.top, b.width, b.height) for b in first.boxes] == [
        ("cat", 10, 20, 30, 40)
    ]
    assert first.image_size == (500, 400)
    assert second.seconds is None and second.boxes == ()


def test_the_object_id_is_the_folder_after_iteration_n_not_the_image_name() -> None:
    assert object_of("iteration-3/12/2026-11-20_09:00:00.json") == (3, "12")
    assert object_of("job/annotations/worker-response/iteration-1/0/x.json") == (1, "0")
    with pytest.raises(InvalidResponse):
        object_of("12/x.json")


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"answers": {}}', b'{"answers": [{"submissionTime": "x"}]}'],
)
def test_a_file_without_the_documented_shape_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidResponse):
        parse_response_file(KEY, body)


def test_unreadable_files_are_counted_with_their_reason_and_the_rest_still_read(
    tmp_path: Path,
) -> None:
    write_response(tmp_path, 0, "good", answer("w1"))
    bad = tmp_path / "annotations/worker-response/iteration-1/1/bad.json"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"{")
    result = read_responses(LocalResponseFiles(tmp_path))
    assert [a.worker_id for a in result.answers] == ["w1"]
    assert list(result.unreadable) == ["iteration-1/1/bad.json"]


def test_times_are_utc_and_a_time_without_offset_is_taken_as_utc() -> None:
    assert parse_time("2026-11-20T23:59:59.999Z").tzinfo == UTC
    assert parse_time("2026-11-20T23:30:00-05:00") == datetime(2026, 11, 21, 4, 30, tzinfo=UTC)
    assert parse_time("2026-11-20T10:00:00") == datetime(2026, 11, 20, 10, tzinfo=UTC)


def test_answers_are_bucketed_by_utc_day_of_submission() -> None:
    # Given answers just before and after midnight UTC, and one late evening in UTC-5
    answers = [
        *parse_response_file(KEY, response_file(answer("w", "2026-11-20T23:59:59.999Z"))),
        *parse_response_file(KEY, response_file(answer("w", "2026-11-21T00:00:00.000Z"))),
        *parse_response_file(KEY, response_file(answer("w", "2026-11-20T20:00:00-05:00"))),
    ]
    # Then the first is on the 20th, the others on the 21st (01:00 UTC)
    assert [utc_day(a.submitted) for a in answers] == [
        date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 21),
    ]  # fmt: skip
    days = daily_counts(answers)
    assert [(d.day.day, d.answers) for d in days] == [(20, 1), (21, 2)]


def test_median_and_mean_active_time_ignore_answers_without_a_time() -> None:
    answers = [
        a
        for seconds in (10, 20, 60, None, 90)
        for a in parse_response_file(KEY, response_file(answer("w", seconds=seconds)))
    ]
    [summary] = summarize_workers(answers)
    assert summary.answers == 5
    assert summary.median_seconds == 40.0  # of 10, 20, 60, 90
    assert summary.mean_seconds == 45.0


def test_per_worker_counts_answers_boxes_and_days_and_keeps_ids_as_given() -> None:
    worker = "private.us-east-1.Ab<3>"
    answers = [
        *parse_response_file(KEY, response_file(
            answer(worker, "2026-11-20T09:00:00Z", boxes=[("cat", 0, 0, 5, 5)] * 2))),
        *parse_response_file(KEY, response_file(
            answer(worker, "2026-11-23T09:00:00Z", boxes=[("dog", 0, 0, 5, 5)]))),
        *parse_response_file(KEY, response_file(answer("other", boxes=[]))),
    ]  # fmt: skip
    summaries = summarize_workers(answers)
    assert [s.worker_id for s in summaries] == ["other", worker]
    mine = summaries[1]
    assert (mine.answers, mine.boxes) == (2, 3)
    assert (mine.first_day, mine.last_day) == (date(2026, 11, 20), date(2026, 11, 23))


def test_agreement_is_measured_only_where_several_workers_answered() -> None:
    responses = ResponseSet(
        answers=[
            *parse_response_file("iteration-1/0/a.json", response_file(answer("w1"))),
            *parse_response_file("iteration-1/1/a.json", response_file(answer("w1"))),
            *parse_response_file("iteration-1/1/b.json", response_file(answer("w2"))),
            *parse_response_file("iteration-1/2/a.json", response_file(answer("w1"))),
            *parse_response_file("iteration-1/2/b.json", response_file(answer("w1"))),
        ]
    )
    assert shared_objects(responses.by_object()) == {"1"}


def test_a_relabeled_object_counts_its_last_iteration_for_agreement() -> None:
    responses = ResponseSet(
        answers=[
            *parse_response_file("iteration-1/0/a.json", response_file(answer("w1"))),
            *parse_response_file("iteration-2/0/a.json", response_file(answer("w2"))),
        ]
    )
    assert [a.worker_id for a in responses.by_object()["0"]] == ["w2"]


def test_workers_csv_has_one_row_per_worker_with_agreement() -> None:
    answers = parse_response_file(KEY, response_file(answer("w1", seconds=12)))
    agreement = {"w1": Agreement(compared_answers=1, matched_boxes=2, missed_boxes=1,
                                 extra_boxes=0, iou_sum=1.8)}  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(workers_csv(summarize_workers(answers, agreement)))))
    assert rows == [{
        "worker_id": "w1", "answers": "1", "boxes": "0", "median_seconds": "12.0",
        "mean_seconds": "12.0", "first_day": "2026-11-20", "last_day": "2026-11-20",
        "compared_answers": "1", "matched_boxes": "2", "missed_boxes": "1", "extra_boxes": "0",
        "mean_iou": "0.900",
    }]  # fmt: skip


def test_workers_daily_csv_has_one_row_per_day_and_worker() -> None:
    answers = [
        *parse_response_file(KEY, response_file(answer("b", "2026-11-21T01:00:00Z", 5))),
        *parse_response_file(KEY, response_file(answer("a", "2026-11-21T02:00:00Z", 7))),
        *parse_response_file(KEY, response_file(answer("a", "2026-11-20T02:00:00Z", 3))),
    ]
    text = workers_daily_csv(daily_counts(answers))
    assert text.splitlines() == [
        "day,worker_id,answers,boxes,active_seconds",
        "2026-11-20,a,1,0,3.0",
        "2026-11-21,a,1,0,7.0",
        "2026-11-21,b,1,0,5.0",
    ]
