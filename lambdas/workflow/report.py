"""Report: previews, workers CSVs and report.html for a converted dataset (before Publish).

Not part of the dataset's contract: the state machine catches any failure here and publishes
anyway. Worker responses are read only for labeling-job datasets whose output is in this
bucket's Ground Truth prefix (`<job output>/annotations/worker-response/`).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from gt2yolo.insights.workers import WORKER_RESPONSE_FOLDER
from gt2yolo.storage import ObjectStore, ObjectStores, S3Uri
from gt2yolo.versions import VersionView, read_index, version_key
from gt2yolo_report import ReportOptions, build_report

from workflow.models import ConversionOutcome, ReportSummary
from workflow.report_settings import ReportSettings

# Ground Truth writes the output manifest here, relative to the job's output folder.
OUTPUT_MANIFEST_SUFFIX = "manifests/output/output.manifest"
RESPONSE_READS = 32


class StoredResponses:
    """Worker-response files under a store's root, listed then read in parallel."""

    def __init__(self, store: ObjectStore, concurrency: int = RESPONSE_READS) -> None:
        self.store = store
        self.concurrency = concurrency

    def _get(self, key: str) -> tuple[str, bytes]:
        return key, self.store.read_bytes(key)

    def files(self) -> Iterator[tuple[str, bytes]]:
        # One small object per answer: thousands of GETs, so they overlap on a thread pool.
        keys = (key for key in self.store.list_keys("") if key.endswith(".json"))
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="responses") as pool:
            yield from pool.map(self._get, keys)

    def location(self) -> str:
        return self.store.location()


def worker_responses_uri(outcome: ConversionOutcome, settings: ReportSettings) -> str | None:
    """`s3://b/groundtruth/job/manifests/output/output.manifest` ->
    `s3://b/groundtruth/job/annotations/worker-response/`; None for anything else."""
    if outcome.source != "labeling-job":
        return None
    manifest = S3Uri.parse(outcome.manifest_uri)
    inside = manifest.bucket == settings.bucket and manifest.key.startswith(
        settings.groundtruth_prefix
    )
    if not inside or not manifest.key.endswith(OUTPUT_MANIFEST_SUFFIX):
        return None
    job_root = manifest.key.removesuffix(OUTPUT_MANIFEST_SUFFIX)
    return f"s3://{manifest.bucket}/{job_root}{WORKER_RESPONSE_FOLDER}"


def report_dataset(
    outcome: ConversionOutcome, settings: ReportSettings, stores: ObjectStores
) -> ReportSummary:
    if outcome.already_published:
        return ReportSummary(skipped="already published: the report of that run stands")
    if outcome.version is None:
        raise ValueError("the conversion names no dataset version to report on")
    responses_uri = worker_responses_uri(outcome, settings)
    responses = StoredResponses(stores.at(responses_uri)) if responses_uri else None
    # The report is part of the version it describes: written beside its tables, before the flip.
    storage = stores.at(outcome.dataset_uri + version_key(outcome.version), buffered=True)
    dataset = stores.at(outcome.dataset_uri)
    index = read_index(dataset, outcome.version)
    files = VersionView(dataset, outcome.version, index)
    options = ReportOptions(settings.sample_size, settings.flagged_limit, outcome.dataset_name)
    try:
        result = build_report(files, storage, responses, options)
    finally:
        storage.close()
    return ReportSummary(
        report_uri=result.report,
        previews=result.previews,
        workers=result.workers,
        worker_answers=result.worker_answers,
        compared_objects=result.compared_objects,
        notes=result.notes,
    )
