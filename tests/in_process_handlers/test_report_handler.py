"""Report handler: a converted dataset -> previews/, report.html and labeler insights, in S3.

Not fatal to the pipeline: Publish receives either the report's answer or its caught error, and
publishes in both cases (the error is logged, counted and told in the notification).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

DATASET = "datasets/demo-shapes/"
REPORT_FILES = ("report.html", "workers.csv", "workers_daily.csv")


def _with_worker_responses(bucket: Any, sample_objects: Any) -> None:
    for key, body in sample_objects.objects.items():
        if "/annotations/worker-response/" in key:
            bucket.put(key, body)


def _etags(bucket: Any) -> dict[str, str]:
    pages = bucket.client.get_paginator("list_objects_v2").paginate(Bucket=bucket.name)
    return {item["Key"]: item["ETag"] for page in pages for item in page.get("Contents", [])}


def _emf_metric_names(stdout: str) -> set[str]:
    names = set()
    for line in stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "_aws" in record:
            for directive in record["_aws"]["CloudWatchMetrics"]:
                names |= {metric["Name"] for metric in directive["Metrics"]}
    return names


def test_report_writes_previews_page_and_worker_insights_into_the_dataset(
    convert, report, conversion_request, bucket, sample_objects
) -> None:
    # Given a converted labeling-job dataset and the job's worker responses in groundtruth/
    _with_worker_responses(bucket, sample_objects)
    outcome = convert(conversion_request)
    before = _etags(bucket)
    # When the report step runs on Convert's outcome
    summary = report(outcome)
    # Then report.html, a preview per image (6 < sample of 50) and the workers CSVs are written
    # into the version they describe
    root = f"{DATASET}versions/{outcome['version']}/"
    assert summary["report_uri"] == bucket.uri(root + "report.html")
    assert summary["previews"] == len(sample_objects.truth)
    assert summary["workers"] >= 2 and summary["compared_objects"] >= 1
    keys = bucket.keys(root)
    assert {root + name for name in REPORT_FILES} <= keys
    assert len([k for k in keys if k.startswith(root + "previews/")]) == summary["previews"]
    # ... and nothing else: the dataset Convert wrote is untouched
    after = _etags(bucket)
    assert {k: after[k] for k in before} == before
    new = {key.removeprefix(root) for key in after.keys() - before.keys()}
    assert all(k in REPORT_FILES or k.startswith("previews/") for k in new), new
    page = bucket.read(root + "report.html").decode()
    assert "private.us-east-1." in page and "square" in page
    rows = list(csv.DictReader(io.StringIO(bucket.read(root + "workers.csv").decode())))
    assert sum(int(r["answers"]) for r in rows) == summary["worker_answers"]


def test_report_counts_what_it_made_as_metrics(convert, report, conversion_request, capsys) -> None:
    outcome = convert(conversion_request)
    capsys.readouterr()
    report(outcome)
    assert {"ReportsWritten", "Previews"} <= _emf_metric_names(capsys.readouterr().out)


def test_a_dropped_manifest_gets_a_report_without_a_labelers_section(
    convert, report, conversion_request, bucket, sample_objects
) -> None:
    _with_worker_responses(bucket, sample_objects)
    outcome = convert({**conversion_request, "source": "manifest-drop"})
    summary = report(outcome)
    root = f"{DATASET}versions/{outcome['version']}/"
    assert summary["workers"] == 0
    assert bucket.exists(root + "report.html")
    assert not bucket.exists(root + "workers.csv")
    assert "No worker responses were given." in bucket.read(root + "report.html").decode()


def test_an_already_published_dataset_is_not_reported_again(
    convert, report, publish, conversion_request, notifications, s3_writes
) -> None:
    publish(convert(conversion_request))
    again = convert(conversion_request)
    s3_writes.calls.clear()
    summary = report(again)
    assert summary["skipped"] and summary["report_uri"] is None
    assert s3_writes.calls == []


def test_a_missing_dataset_is_an_error_for_the_state_machine_to_catch(
    report, conversion_request, bucket
) -> None:
    outcome = {
        **conversion_request,
        "dataset_uri": bucket.uri("datasets/nothing-here/"),
        "fingerprint": "0" * 32,
        "version": "20261202T080000Z-000000",
        "summary": {"images": 0, "boxes": 0, "rejected_lines": 0, "dropped_boxes": 0,
                    "clamped_boxes": 0, "classes": 0, "images_per_split": {}},
    }  # fmt: skip
    with pytest.raises(Exception, match=r"files\.jsonl\.gz"):
        report(outcome)


def test_publish_after_a_failed_report_still_publishes_and_says_so(
    convert, publish, conversion_request, notifications, bucket, capsys, caplog
) -> None:
    # Given Convert's outcome with the error the state machine caught from Report
    outcome = convert(conversion_request)
    cause = json.dumps({"errorMessage": "cannot identify image file", "errorType": "OSError"})
    capsys.readouterr()
    # When Publish runs
    result = publish({**outcome, "report_error": {"Error": "OSError", "Cause": cause}})
    # Then the dataset is published, the failure is counted, and the message tells it
    assert result["published"] is True
    assert bucket.exists(DATASET + "_SUCCESS")
    out = capsys.readouterr().out
    assert "ReportsFailed" in _emf_metric_names(out)
    assert "report step failed" in caplog.text
    [message] = notifications.drain()
    assert "Report step failed (the dataset is complete and published): OSError: cannot " \
           "identify image file" in message["Message"]  # fmt: skip


def test_publish_after_a_report_links_the_page(
    convert, report, publish, conversion_request, notifications
) -> None:
    outcome = convert(conversion_request)
    summary = report(outcome)
    publish({**outcome, "report": {"summary": summary}})
    [message] = notifications.drain()
    assert f"Report: {summary['report_uri']} ({summary['previews']} previews" in message["Message"]
