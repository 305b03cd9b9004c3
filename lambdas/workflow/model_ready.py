"""Model Ready: a finished training job's files published beside its dataset version's model
folder, compared with the dataset's previous model, linked from the version's report, announced.

SageMaker leaves a job's files as two archives under the request's output path
(`models/<dataset>/<version>/<job>/output/`): `model.tar.gz` (train.py's SM_MODEL_DIR: best.pt,
last.pt, results.csv, args.yaml, best.onnx with onnx=true) and `output.tar.gz` beside it
(SM_OUTPUT_DATA_DIR: metrics.json). An archive is data from a container, so hostile input:
only regular files of those names, at the archive's top, each once and of a sane size, are
unpacked into `models/<dataset>/<version>/`; any other member (a link, a device, an absolute
or `..` path, a duplicate, an unknown name) is skipped and counted, never written. Both
archives are read through once before anything is written: a missing archive, best.pt or a
readable metrics.json is `ModelNotReady`, and then nothing is written.

Then, in this order: the files; `model.json` (everything known about the model); the version's
report.json and report.html get their Model section (none when the version has no report);
`models/<dataset>/latest.json` last, so its reader finds every file, and only when this
version is not older than the one it names (version ids sort by time: a retry of an older
version never moves it back). The Model Ready event and the e-mail go out once per version: a
`_READY` marker is written after both (at least once: a retry after a failed e-mail may send
the event again). Every object written is a function of the job and the stored objects, so a
second run writes the same bytes. Nothing under `datasets/` but the report is touched.
"""

from __future__ import annotations

import json
import math
import re
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from gt2yolo.errors import ConversionError
from gt2yolo.insights.model import model_section, splice_section
from gt2yolo.insights.page import REPORT_HTML
from gt2yolo.report import ModelEntry
from gt2yolo.storage import ObjectStore, ObjectStores, S3Uri, read_or_none
from gt2yolo.task_types import YoloTask
from gt2yolo.versions import is_version_id, version_key
from gt2yolo.writers import REPORT_JSON
from gt2yolo_config.training import models_prefix
from pydantic import BaseModel, ConfigDict, Field

from workflow.publish import EventBus, Notifier

MODEL_READY = "Model Ready"
MODEL_ARCHIVE = "model.tar.gz"
OUTPUT_ARCHIVE = "output.tar.gz"
METRICS_JSON = "metrics.json"
MODEL_JSON = "model.json"
LATEST_JSON = "latest.json"
READY_MARKER = "_READY"
BEST = "best.pt"
# What train.py writes into each archive (training/train.py): the rest of an archive is not ours.
MODEL_FILES = ("best.pt", "last.pt", "results.csv", "args.yaml", "best.onnx")
OUTPUT_FILES = (METRICS_JSON,)
MAX_FILE_BYTES = 1024**3  # a member above this is skipped ("too large"): YOLO11x's is ~110 MB
MAX_METRICS_BYTES = 1024**2
MAX_METRICS = 64
# A metric's name as shown in the e-mail, the event and the page (train.py's: mAP50-95, top1).
METRIC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:()/-]{0,63}$")
SUBJECT_LIMIT = 100
_DRIVE = re.compile(r"^[A-Za-z]:")  # a Windows drive: absolute too

# Why an archive member was skipped (ModelReadyResult.skipped's keys).
UNSAFE_PATH = "absolute or parent path"
LINK = "link"
NOT_A_FILE = "not a regular file"
UNKNOWN_NAME = "unknown name"
DUPLICATE = "duplicate"
TOO_LARGE = "too large"


class ModelNotReady(ConversionError):
    """The training job left no usable model: the message names the missing object or file."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TrainingState(_Model):
    """The state's `training`: what PrepareTraining decided and built, and what the job became
    (`job`: DescribeTrainingJob's answer, as `createTrainingJob.sync` outputs it)."""

    train: bool = True
    dataset: str
    version: str
    task: str = "detect"
    job_name: str
    models_prefix: str | None = None
    request: dict[str, Any] = Field(default_factory=dict)
    job: dict[str, Any] = Field(default_factory=dict)


class ModelReadyRequest(_Model):
    """The state after the training job: Publish's outcome (PublishOutcome) and `training`."""

    published: bool = True
    dataset_uri: str
    job_name: str
    version: str | None = None
    partial: bool = False
    training: TrainingState


class ModelFile(_Model):
    name: str
    uri: str
    size: int


class PreviousModel(_Model):
    version: str
    metrics: dict[str, float] = Field(default_factory=dict)


class ModelReadyResult(_Model):
    dataset: str
    version: str
    task: str
    training_job: str
    model_uri: str  # best.pt
    model_json_uri: str
    files: list[ModelFile]
    metrics: dict[str, float]
    previous: PreviousModel | None  # None: the first model of the dataset
    changes: dict[str, float]  # metric -> this model's value less the previous one's
    trained_at: str | None
    skipped: dict[str, int]  # archive members not written, by reason
    latest_uri: str
    latest_version: str  # what latest.json names now
    latest_moved: bool  # False: it names a newer version, left as it is
    report_uri: str | None  # the report page that links the model; None: see report_note
    report_note: str
    announced: bool  # False: an earlier run sent the event and the e-mail
    reason: str


@dataclass
class _Unpacked:
    """What the first read of both archives found: the members to write, and metrics.json."""

    model_members: set[str] = field(default_factory=set)
    metrics_document: dict[str, Any] = field(default_factory=dict)
    metrics_bytes: bytes = b""
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def publish_model(
    state: ModelReadyRequest, stores: ObjectStores, notifier: Notifier, bus: EventBus
) -> ModelReadyResult:
    training = state.training
    dataset, version = _checked_names(training)
    task = training.task if training.task in {t.value for t in YoloTask} else "detect"
    dataset_root = S3Uri.parse(state.dataset_uri)
    bucket_uri = f"s3://{dataset_root.bucket}/"
    bucket = stores.at(bucket_uri)
    model_archive = _model_archive(training)
    output_archive = S3Uri(model_archive.bucket, _beside(model_archive.key, OUTPUT_ARCHIVE))
    archives = stores.at(f"s3://{model_archive.bucket}/")
    _check_status(training)

    # Read both archives through before writing anything.
    found = _Unpacked()
    _scan_model(archives, model_archive, found)
    _scan_output(archives, output_archive, found)

    prefix = models_prefix(dataset, version)
    sizes = _write_files(archives, model_archive, found, bucket, prefix)
    files = [ModelFile(name=n, uri=bucket_uri + prefix + n, size=sizes[n]) for n in sorted(sizes)]
    metrics = _metrics(found.metrics_document, training.job)
    previous = _previous(bucket, dataset, version)
    changes = _changes(metrics, previous)
    trained_at = _timestamp(training.job.get("TrainingEndTime"))
    model_uri = bucket_uri + prefix + BEST
    model_json_uri = bucket_uri + prefix + MODEL_JSON

    document = {
        "dataset": dataset,
        "version": version,
        "task": task,
        "dataset_uri": state.dataset_uri,
        "training_job": {
            "name": training.job_name,
            "arn": training.job.get("TrainingJobArn"),
            "status": training.job.get("TrainingJobStatus"),
            "started_at": _timestamp(training.job.get("TrainingStartTime")),
            "ended_at": trained_at,
            "billable_seconds": _number(training.job.get("BillableTimeInSeconds")),
            "model_archive": str(model_archive),
        },
        "model_uri": model_uri,
        "files": {f.name: {"uri": f.uri, "size": f.size} for f in files},
        "metrics": metrics,
        "run": _run_facts(found.metrics_document),
        "previous": previous.model_dump() if previous else None,
        "changes": changes,
        "trained_at": trained_at,
        "skipped_members": dict(sorted(found.skipped.items())),
    }
    bucket.write_bytes(prefix + MODEL_JSON, _json(document))

    entry = {
        "version": version,
        "task": task,
        "training_job": training.job_name,
        "model_uri": model_uri,
        "details_uri": model_json_uri,
        "files": {f.name: f.uri for f in files},
        "metrics": metrics,
        "previous_version": previous.version if previous else None,
        "changes": changes,
        "trained_at": trained_at,
    }
    report_uri, report_note = _link_report(stores.at(state.dataset_uri), version, entry)

    latest_key = f"{prefix.rsplit('/', 2)[0]}/{LATEST_JSON}"
    latest_version, moved = _point_latest(bucket, latest_key, version, {
        "dataset": dataset,
        "version": version,
        "task": task,
        "training_job": training.job_name,
        "model_uri": model_uri,
        "model_json": model_json_uri,
        "metrics": metrics,
        "trained_at": trained_at,
    })  # fmt: skip

    result = ModelReadyResult(
        dataset=dataset,
        version=version,
        task=task,
        training_job=training.job_name,
        model_uri=model_uri,
        model_json_uri=model_json_uri,
        files=files,
        metrics=metrics,
        previous=previous,
        changes=changes,
        trained_at=trained_at,
        skipped=dict(sorted(found.skipped.items())),
        latest_uri=bucket_uri + latest_key,
        latest_version=latest_version,
        latest_moved=moved,
        report_uri=report_uri,
        report_note=report_note,
        announced=False,
        reason="",
    )
    marker = prefix + READY_MARKER
    if bucket.exists(marker):
        return result.model_copy(update={"reason": "already announced by an earlier run"})
    bus.put(MODEL_READY, ready_detail(result, training, state.dataset_uri))
    notifier.notify(*ready_message(result))
    bucket.write_bytes(marker, _json({"training_job": training.job_name}))
    return result.model_copy(update={"announced": True, "reason": "announced"})


# --- the state ------------------------------------------------------------------------------


def _checked_names(training: TrainingState) -> tuple[str, str]:
    dataset, version = training.dataset, training.version
    if not dataset or "/" in dataset or dataset in (".", "..") or "\x00" in dataset:
        raise ValueError(f"training names no usable dataset: {dataset!r}")
    if not is_version_id(version):
        raise ValueError(f"training names no dataset version id: {version!r}")
    expected = models_prefix(dataset, version)
    if training.models_prefix not in (None, expected):
        raise ValueError(f"training's models_prefix {training.models_prefix!r} is not {expected}")
    return dataset, version


def _check_status(training: TrainingState) -> None:
    status = training.job.get("TrainingJobStatus")
    if status not in (None, "Completed"):
        raise ModelNotReady(
            f"training job {training.job_name} is {status}, not Completed: it left no model"
        )


def _model_archive(training: TrainingState) -> S3Uri:
    """model.tar.gz: where DescribeTrainingJob says, else where the request's output path puts
    it (`<S3OutputPath><job>/output/model.tar.gz`)."""
    artifacts = training.job.get("ModelArtifacts") or {}
    uri = artifacts.get("S3ModelArtifacts") if isinstance(artifacts, Mapping) else None
    if not isinstance(uri, str) or not uri:
        output = (training.request.get("OutputDataConfig") or {}).get("S3OutputPath")
        if not isinstance(output, str) or not output:
            raise ModelNotReady(
                f"training job {training.job_name}: neither its description nor its request "
                "names where its model.tar.gz is"
            )
        uri = f"{output.rstrip('/')}/{training.job_name}/output/{MODEL_ARCHIVE}"
    return S3Uri.parse(uri)


def _beside(key: str, name: str) -> str:
    folder = key.rpartition("/")[0]
    return f"{folder}/{name}" if folder else name


# --- the archives ---------------------------------------------------------------------------


@contextmanager
def _members(store: ObjectStore, uri: S3Uri) -> Iterator[tuple[tarfile.TarFile, Iterator[Any]]]:
    """The archive's members, streamed (read once, never held whole); ModelNotReady when there
    is no such object or it is no tar archive."""
    if not store.exists(uri.key):
        raise ModelNotReady(f"no {uri.key.rpartition('/')[2]} at {uri}: the job left no such file")
    with store.open_binary(uri.key) as stream:
        tar = _open_tar(stream, uri)
        try:
            yield tar, _iterate(tar, uri)
        finally:
            tar.close()


def _open_tar(stream: IO[bytes], uri: S3Uri) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=stream, mode="r|*")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ModelNotReady(f"{uri} is not a readable tar archive ({exc})") from None


def _iterate(tar: tarfile.TarFile, uri: S3Uri) -> Iterator[tarfile.TarInfo]:
    try:
        yield from tar
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ModelNotReady(f"{uri} is not a readable tar archive ({exc})") from None


def _accepted(member: tarfile.TarInfo, names: tuple[str, ...], seen: set[str]) -> str | None:
    """The member's file name when it is one to write; else the reason, as `!<reason>`; None
    for the archive's own root folder (`.`), which is no member of interest."""
    raw = member.name
    if member.isdir() and raw.strip("/") in ("", "."):
        return None
    name = raw.removeprefix("./")
    parts = raw.replace("\\", "/").split("/")
    limit = MAX_METRICS_BYTES if name == METRICS_JSON else MAX_FILE_BYTES
    refusals = (
        (raw.startswith(("/", "\\")) or ".." in parts or bool(_DRIVE.match(raw)), UNSAFE_PATH),
        (member.issym() or member.islnk(), LINK),
        (not member.isfile(), NOT_A_FILE),
        (name not in names, UNKNOWN_NAME),
        (name in seen, DUPLICATE),
        (member.size > limit, TOO_LARGE),
    )
    reason = next((reason for refused, reason in refusals if refused), None)
    return name if reason is None else "!" + reason


def _scan_model(store: ObjectStore, uri: S3Uri, found: _Unpacked) -> None:
    with _members(store, uri) as (_tar, members):
        for member in members:
            verdict = _accepted(member, MODEL_FILES, found.model_members)
            if verdict is None:
                continue
            if verdict.startswith("!"):
                found.skip(verdict[1:])
            else:
                found.model_members.add(verdict)
    if BEST not in found.model_members:
        raise ModelNotReady(f"no {BEST} in {uri}: the training job saved no best model")


def _scan_output(store: ObjectStore, uri: S3Uri, found: _Unpacked) -> None:
    seen: set[str] = set()
    with _members(store, uri) as (tar, members):
        for member in members:
            verdict = _accepted(member, OUTPUT_FILES, seen)
            if verdict is None:
                continue
            if verdict.startswith("!"):
                found.skip(verdict[1:])
                continue
            seen.add(verdict)
            extracted = tar.extractfile(member)
            found.metrics_bytes = extracted.read() if extracted is not None else b""
    if METRICS_JSON not in seen:
        raise ModelNotReady(f"no {METRICS_JSON} in {uri}: the training job wrote no metrics")
    try:
        document = json.loads(found.metrics_bytes)
    except ValueError as exc:
        raise ModelNotReady(f"{METRICS_JSON} in {uri} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ModelNotReady(f"{METRICS_JSON} in {uri} is not a JSON object")
    found.metrics_document = document


def _write_files(
    archives: ObjectStore, uri: S3Uri, found: _Unpacked, bucket: ObjectStore, prefix: str
) -> dict[str, int]:
    """Write the accepted members (the second read of model.tar.gz) and metrics.json."""
    sizes: dict[str, int] = {}
    with _members(archives, uri) as (tar, members):
        for member in members:
            name = _accepted(member, MODEL_FILES, set(sizes))
            if name is None or name not in found.model_members:
                continue
            extracted = tar.extractfile(member)
            data = extracted.read() if extracted is not None else b""
            bucket.write_bytes(prefix + name, data)
            sizes[name] = len(data)
    bucket.write_bytes(prefix + METRICS_JSON, found.metrics_bytes)
    sizes[METRICS_JSON] = len(found.metrics_bytes)
    return sizes


# --- metrics and the previous model ---------------------------------------------------------


def _metric_value(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _clean_metrics(pairs: Iterator[tuple[Any, Any]]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for name, value in pairs:
        number = _metric_value(value)
        if isinstance(name, str) and METRIC_NAME.match(name) and number is not None:
            metrics.setdefault(name, number)
        if len(metrics) >= MAX_METRICS:
            break
    return metrics


def _metrics(document: Mapping[str, Any], job: Mapping[str, Any]) -> dict[str, float]:
    """metrics.json's metrics; a name missing there from the job's FinalMetricDataList."""
    own = document.get("metrics")
    metrics = _clean_metrics(iter(own.items())) if isinstance(own, Mapping) else {}
    final = job.get("FinalMetricDataList")
    if isinstance(final, list):
        pairs = ((m.get("MetricName"), m.get("Value")) for m in final if isinstance(m, Mapping))
        for name, value in _clean_metrics(pairs).items():
            if name not in metrics and len(metrics) < MAX_METRICS:
                metrics[name] = value
    return metrics


def _run_facts(document: Mapping[str, Any]) -> dict[str, Any]:
    """metrics.json's facts of the run (model, data, epochs...), the plain values only."""
    facts: dict[str, Any] = {}
    for key in ("model", "data", "version", "epochs", "epochs_run", "resumed"):
        value = document.get(key)
        if isinstance(value, bool | int) or (isinstance(value, str) and len(value) <= 256):
            facts[key] = value
    return facts


def _read_json(store: ObjectStore, key: str) -> dict[str, Any] | None:
    data = read_or_none(store, key)
    if data is None:
        return None
    try:
        document = json.loads(data)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _as_previous(document: Mapping[str, Any] | None) -> PreviousModel | None:
    if document is None or not isinstance(document.get("version"), str):
        return None
    metrics = document.get("metrics")
    cleaned = _clean_metrics(iter(metrics.items())) if isinstance(metrics, Mapping) else {}
    return PreviousModel(version=str(document["version"]), metrics=cleaned)


def _previous(bucket: ObjectStore, dataset: str, version: str) -> PreviousModel | None:
    """The dataset's model before this version: what latest.json names when that is older;
    else (a retry, or a late older version) the newest model.json of an older version."""
    folder = models_prefix(dataset, version).rsplit("/", 2)[0] + "/"
    latest = _as_previous(_read_json(bucket, folder + LATEST_JSON))
    if latest is not None and is_version_id(latest.version) and latest.version < version:
        return latest
    older = sorted(
        (v for v in bucket.list_folders(folder) if is_version_id(v) and v < version),
        reverse=True,
    )
    for candidate in older:
        found = _as_previous(_read_json(bucket, f"{folder}{candidate}/{MODEL_JSON}"))
        if found is not None:
            return found
    return None


def _changes(metrics: Mapping[str, float], previous: PreviousModel | None) -> dict[str, float]:
    if previous is None:
        return {}
    return {
        name: round(value - previous.metrics[name], 6)
        for name, value in metrics.items()
        if name in previous.metrics
    }


# --- the report, latest.json ----------------------------------------------------------------


def _link_report(
    dataset: ObjectStore, version: str, entry: dict[str, Any]
) -> tuple[str | None, str]:
    """Add the model to the version's report.json and report.html; (page URI, what was done)."""
    json_key, html_key = version_key(version, REPORT_JSON), version_key(version, REPORT_HTML)
    report = _read_json(dataset, json_key)
    if report is None:
        return None, f"no {dataset.location(json_key)}: the model is linked from no report"
    model = ModelEntry.parse(entry)
    report["model"] = model.as_dict()
    dataset.write_bytes(json_key, _json(report))
    page = read_or_none(dataset, html_key)
    if page is None:
        return None, f"report.json has the model; there is no {dataset.location(html_key)}"
    spliced = splice_section(page.decode("utf-8", errors="replace"), model_section(model))
    if spliced is None:
        return None, f"report.json has the model; {dataset.location(html_key)} is no report page"
    dataset.write_bytes(html_key, spliced.encode())
    return dataset.location(html_key), "the report page has a Model section"


def _point_latest(
    bucket: ObjectStore, key: str, version: str, latest: dict[str, Any]
) -> tuple[str, bool]:
    """Write latest.json unless it names a newer version; (the version it names, moved)."""
    current = _read_json(bucket, key)
    named = current.get("version") if current else None
    if isinstance(named, str) and is_version_id(named) and named > version:
        return named, False
    bucket.write_bytes(key, _json(latest))
    return version, True


# --- the event, the e-mail ------------------------------------------------------------------


def ready_detail(
    result: ModelReadyResult, training: TrainingState, dataset_uri: str
) -> dict[str, Any]:
    """The Model Ready event's detail."""
    return {
        "dataset": result.dataset,
        "version": result.version,
        "task": result.task,
        "training_job": result.training_job,
        "training_job_arn": training.job.get("TrainingJobArn"),
        "model_uri": result.model_uri,
        "model_json": result.model_json_uri,
        "files": {f.name: f.uri for f in result.files},
        "metrics": result.metrics,
        "previous": result.previous.model_dump() if result.previous else None,
        "changes": result.changes,
        "trained_at": result.trained_at,
        "dataset_uri": dataset_uri,
        "report_uri": result.report_uri,
        "latest_uri": result.latest_uri,
        "latest_version": result.latest_version,
    }


def ready_message(result: ModelReadyResult) -> tuple[str, str]:
    subject = f"Model ready: {result.dataset} {result.version}"[:SUBJECT_LIMIT]
    previous = result.previous
    lines = [
        f"A {result.task} model of dataset {result.dataset} version {result.version} is trained "
        f"(training job {result.training_job}"
        + (f", ended {result.trained_at})." if result.trained_at else ")."),
        f"Metrics, against the previous model (version {previous.version}):"
        if previous
        else "Metrics (the first model of this dataset: nothing to compare with):",
    ]
    for name, value in result.metrics.items():
        if previous is None:
            lines.append(f"  {name}: {value:.4f}")
        elif name in result.changes:
            lines.append(f"  {name}: {value:.4f} ({result.changes[name]:+.4f})")
        else:
            lines.append(f"  {name}: {value:.4f} (the previous model has none)")
    if not result.metrics:
        lines.append("  none reported")
    lines.append("Files:")
    lines += [f"  {f.uri} ({f.size} bytes)" for f in result.files]
    lines.append(f"Details: {result.model_json_uri}")
    if result.latest_moved:
        lines.append(f"Latest model: {result.latest_uri} (names this version)")
    else:
        lines.append(
            f"Latest model: {result.latest_uri} still names the newer version "
            f"{result.latest_version}"
        )
    if result.report_uri:
        lines.append(f"Report: {result.report_uri} (its Model section)")
    else:
        lines.append(f"Report: none ({result.report_note})")
    if result.skipped:
        listed = ", ".join(f"{reason} ({n})" for reason, n in result.skipped.items())
        lines.append(f"Archive members skipped, not written: {listed}")
    return subject, "\n".join(lines)


# --- values ---------------------------------------------------------------------------------


def _timestamp(value: Any) -> str | None:
    """An API time as ISO 8601 UTC: a datetime, epoch seconds or milliseconds (how Step
    Functions passes them), or an ISO string; None when absent or unreadable."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        try:
            return _timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            number = _metric_value(value)
            return _timestamp(number) if number is not None else None
    return None


def _number(value: Any) -> float | int | None:
    number = _metric_value(value)
    if number is None:
        return None
    return int(number) if number.is_integer() else number


def _json(document: Any) -> bytes:
    return (json.dumps(document, indent=2) + "\n").encode()
