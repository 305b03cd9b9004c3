"""The Report step on fakes: report.html written into the version it describes."""

from __future__ import annotations

from gt2yolo.memory_store import MemoryObjects
from gt2yolo.versions import version_key
from workflow.convert import ConvertSettings, convert_request
from workflow.models import ConversionOutcome, ConversionRequest
from workflow.report import report_dataset, worker_responses_uri
from workflow.report_settings import ReportSettings
from workflow_fakes import BUCKET, memory_ports

DATASET = f"s3://{BUCKET}/datasets/pets/"


def test_a_converted_version_gets_its_report_beside_its_tables(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    outcome = convert_request(request_, ConvertSettings(BUCKET), memory_ports(objects))
    assert isinstance(outcome, ConversionOutcome) and outcome.version
    summary = report_dataset(outcome, ReportSettings(BUCKET, sample_size=0), objects)
    assert summary.report_uri == DATASET + version_key(outcome.version, "report.html")
    assert objects.get(summary.report_uri) is not None


def test_an_already_published_outcome_is_not_reported_again(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    outcome = convert_request(request_, ConvertSettings(BUCKET), memory_ports(objects))
    assert isinstance(outcome, ConversionOutcome)
    done = outcome.model_copy(update={"already_published": True})
    assert report_dataset(done, ReportSettings(BUCKET), objects).skipped


def test_worker_responses_are_read_only_for_a_job_in_the_stacks_ground_truth_prefix(
    request_: ConversionRequest,
) -> None:
    settings = ReportSettings(BUCKET)
    job = request_.model_copy(update={
        "source": "labeling-job",
        "manifest_uri": f"s3://{BUCKET}/groundtruth/pets/manifests/output/output.manifest",
    })  # fmt: skip
    assert worker_responses_uri(job, settings) == (
        f"s3://{BUCKET}/groundtruth/pets/annotations/worker-response/"
    )
    assert worker_responses_uri(request_, settings) is None
