"""What the steps pass along the state machine: S3 pointers and counts, never manifest content
(Step Functions allows 256 KB per state)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ConversionRequest(_Model):
    """Resolve's answer: what to convert and where the result goes."""

    action: Literal["convert"] = "convert"
    source: Literal["labeling-job", "manifest-drop"]
    job_name: str
    dataset_name: str
    manifest_uri: str
    label_attribute: str | None = None
    label_config_uri: str | None = None
    # The Ground Truth task (its metadata type) when the job says it; else the lines decide.
    task: str | None = None
    verification_attribute: str | None = None
    accepted_verdicts: list[str] = Field(default_factory=lambda: ["good"])
    job_status: str | None = None
    label_counters: dict[str, int] | None = None
    # A live conversion of a job still in progress: its newest intermediate manifest, the
    # labels so far. Same dataset name as the job's final conversion, which replaces it.
    partial: bool = False
    # A member of a collection (one dataset fed by many jobs): the collection's definition as
    # in cdk.json, and when the member completed (orders the members: the latest wins).
    collection: dict[str, Any] | None = None
    completed_at: str | None = None


class Skip(_Model):
    """Resolve's answer when nothing should be converted, with the reason for the logs."""

    action: Literal["skip"] = "skip"
    reason: str
    job_name: str | None = None


class ConversionSummary(_Model):
    task: str = "detect"
    images: int
    boxes: int
    rejected_lines: int
    dropped_boxes: int
    clamped_boxes: int
    classes: int
    images_per_split: dict[str, int]
    warnings: list[str] = Field(default_factory=list)
    # The exports written: format -> {file name in its folder: images (or lines) it holds}.
    exports: dict[str, dict[str, int]] = Field(default_factory=dict)

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> ConversionSummary:
        return cls(
            task=report.get("task", "detect"),
            images=report["images"],
            boxes=report["boxes"],
            rejected_lines=report["rejected_lines"],
            dropped_boxes=sum(report["dropped_boxes"].values()),
            clamped_boxes=report["clamped_boxes"],
            classes=len(report["classes"]),
            images_per_split=report["images_per_split"],
            warnings=report.get("warnings", []),
            exports=_exports_of(report),
        )


def _exports_of(report: dict[str, Any]) -> dict[str, dict[str, int]]:
    written: dict[str, dict[str, int]] = {}
    for export, entry in (report.get("exports") or {}).items():
        if isinstance(entry, dict) and entry.get("written"):
            written[export] = {
                str(key).rsplit("/", 1)[-1]: int(counts.get("images", counts.get("lines", 0)))
                for key, counts in (entry.get("files") or {}).items()
            }
    return written


class ConversionOutcome(ConversionRequest):
    """Convert's answer: the request plus where the dataset is and what it holds."""

    mode: Literal["converted"] = "converted"
    dataset_uri: str
    fingerprint: str
    summary: ConversionSummary
    already_published: bool = False
    lock_token: str | None = None
    # The dataset version written (versions/<version>/), and the one it was written against.
    version: str | None = None
    previous_version: str | None = None
    files_written: int = 0  # dataset files (labels, images) written or copied by this version
    files_reused: int = 0  # named from earlier versions, not written again
    # A collection's version: its members (in completion order), the classes this version
    # appended to the collection's list, and the members the definition no longer names.
    members: list[str] = Field(default_factory=list)
    new_classes: list[str] = Field(default_factory=list)
    removed_members: list[str] = Field(default_factory=list)


class FanOutStarted(ConversionRequest):
    """Convert's answer for a big manifest: the plan is written, the chunks are listed."""

    mode: Literal["fan_out"] = "fan_out"
    dataset_uri: str
    fingerprint: str
    lock_token: str
    version: str
    previous_version: str | None = None
    plan_uri: str
    chunks_bucket: str
    chunks_key: str
    chunks: int
    lines: int
    # Set by the state machine's Catch when the Distributed Map failed ({"Error", "Cause"}).
    error: dict[str, Any] | None = None


class ChunkTask(_Model):
    """One item of the Distributed Map: a chunk of the manifest and the plan it follows."""

    chunk: dict[str, Any]
    plan_uri: str


class PublishOutcome(_Model):
    published: bool
    dataset_uri: str
    job_name: str
    reason: str
    summary: ConversionSummary
    version: str | None = None
    # A live dataset (the labels so far of a job in progress): the steps after Publish skip it.
    partial: bool = False
    kept_versions: list[str] = Field(default_factory=list)  # newest first, after the flip
    deleted_objects: int = 0  # of versions no longer kept (and of crashed runs)


class SuccessMarker(_Model):
    """The `_SUCCESS` object: which input the current version was converted from (a rerun of
    the same input publishes nothing new). Written after the pointer flip."""

    fingerprint: str
    job_name: str
    dataset_uri: str
    summary: ConversionSummary
    published_at: str
    version: str | None = None  # absent in markers written before versions


class ReportSummary(_Model):
    """Report's answer: where the page is and what it shows (or why nothing was made)."""

    report_uri: str | None = None
    previews: int = 0
    workers: int = 0
    worker_answers: int = 0
    compared_objects: int = 0
    skipped: str | None = None
    notes: list[str] = Field(default_factory=list)


class ReportStep(_Model):
    """What the state machine keeps of the Report task under `$.report`."""

    summary: ReportSummary


class StepError(_Model):
    """A caught Step Functions error (`Catch` with a ResultPath): `{"Error", "Cause"}`."""

    Error: str = "Error"
    Cause: str = ""


class PublishRequest(ConversionOutcome):
    """Publish's input: Convert's outcome, plus the Report step's result or its caught error.

    The report is not part of the dataset's contract: a failed Report still publishes."""

    report: ReportStep | None = None
    report_error: StepError | None = None
