"""Run a SageMaker training job on this machine, as SageMaker runs one (moto has no training).

`LocalTraining.run(request)` takes a CreateTrainingJob request, validated against botocore's
SageMaker model as the SDK would before sending it, and:

1. lays out an /opt/ml-like tree under the work folder: code/ (the `sagemaker_submit_directory`
   tarball from S3, unpacked as the training toolkit does, else a copy of the source dir), input/config/*.json, input/data/<channel>/, model/, output/data/, checkpoints/;
2. copies each channel's S3Prefix (File mode) from S3 (the client given: moto in tests), or
   from a local folder the caller names, and the checkpoints SageMaker would restore from
   CheckpointConfig.S3Uri (what lets a restarted spot job resume);
3. runs the entry point (`sagemaker_program`, else train.py) in its own process with the
   request's Environment and what SageMaker's training toolkit sets (SM_HPS with decoded
   values, SM_HP_<NAME>, SM_CHANNEL_<NAME>, ..., and the hyperparameters as `--name value`
   arguments), with the python executable given;
4. on success uploads model.tar.gz and output.tar.gz to
   `<OutputDataConfig.S3OutputPath>/<job>/output/`; in every case the checkpoint folder to
   CheckpointConfig.S3Uri (SageMaker syncs it while the job runs);
5. answers as DescribeTrainingJob (validated against the model's output shape): the status,
   FailureReason (the entry point's failure file, as SageMaker reports it, else its log's
   tail), and FinalMetricDataList: the last match in the log of each of the request's
   MetricDefinitions.

Not emulated: instances, images, distributed training, Pipe/FastFile modes, ManifestFile and
augmented-manifest channels, Stop requests. A run past MaxRuntimeInSeconds is killed and
reported Stopped with SecondaryStatus MaxRuntimeExceeded.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.session
from botocore.validate import validate_parameters

from localrun.account import ACCOUNT, REGION
from training.metric_lines import final_metrics

ROOT = Path(__file__).resolve().parents[1]
TRAINING_DIR = ROOT / "training"
ENTRY_POINT = "train.py"
DEFAULT_MAX_RUNTIME = 86400  # SageMaker's default MaxRuntimeInSeconds: one day
FAILURE_REASON_MAX = 1024  # DescribeTrainingJob's FailureReason length limit
LOG_TAIL_LINES = 20
# The environment a training container does not inherit from this machine: its own SM_*, and
# no AWS credentials (the entry point calls no AWS API, and must not reach a real account).
DROPPED_PREFIXES = ("SM_", "AWS_")


@dataclass(frozen=True)
class TrainingRun:
    """One finished run: DescribeTrainingJob's answer, the job's log and its /opt/ml tree."""

    described: dict[str, Any]
    logs: str
    root: Path


@dataclass(frozen=True)
class _S3Uri:
    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> _S3Uri:
        if not uri.startswith("s3://"):
            raise ValueError(f"not an s3:// URI: {uri!r}")
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        return cls(bucket, prefix)

    def key(self, *parts: str) -> str:
        return "/".join(part.strip("/") for part in (self.prefix, *parts) if part.strip("/"))


class LocalTraining:
    """Training jobs run as local processes, each in its own folder under `work_dir`.

    `python`: the interpreter standing for the container's (one with Ultralytics, or the tests'
    with a stub on `python_path`); `python_path`: the job's PYTHONPATH (nothing of this
    project's is inherited, as nothing of it is in a container but the source dir)."""

    def __init__(
        self,
        s3: Any,
        work_dir: Path,
        *,
        python: str,
        source_dir: Path = TRAINING_DIR,
        python_path: Sequence[Path] = (),
        gpus: int = 0,
    ) -> None:
        self.s3 = s3
        self.work_dir = work_dir
        # A path relative to this process's folder (`build/.../python`), not the job's code/.
        self.python = os.path.abspath(python) if os.sep in python else python
        self.source_dir = source_dir
        self.python_path = tuple(python_path)
        self.gpus = gpus
        self._model = botocore.session.get_session().get_service_model("sagemaker")
        self.jobs: dict[str, dict[str, Any]] = {}  # DescribeTrainingJob answers, by name

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeTrainingJob of a job run here (KeyError for another name)."""
        return self.jobs[name]

    def run(
        self, request: dict[str, Any], local_inputs: Mapping[str, Path] | None = None
    ) -> TrainingRun:
        """Run the job the CreateTrainingJob request describes, to its end. `local_inputs`:
        channels whose data is copied from a local folder instead of their S3 URI.
        ParamValidationError (naming the field) for a request the API would refuse."""
        validate_parameters(request, self._model.operation_model("CreateTrainingJob").input_shape)
        _refuse_unemulated(request)
        created = datetime.now(UTC)
        root = self.work_dir / request["TrainingJobName"]
        submitted = _submit_directory(request)
        layout = _Layout.make(root, None if submitted else self.source_dir)
        if submitted is not None:
            self._download_source(submitted, layout.code)
        channels = self._download_inputs(request, layout, local_inputs or {})
        self._restore_checkpoints(request, layout)
        layout.write_config(request, channels)
        started = datetime.now(UTC)
        outcome = self._execute(request, layout, channels)
        self._sync_checkpoints(request, layout)
        if outcome.status == "Completed":
            self._upload_outputs(request, layout)
        described = self._described(request, outcome, created, started, datetime.now(UTC))
        validate_parameters(
            described, self._model.operation_model("DescribeTrainingJob").output_shape
        )
        self.jobs[request["TrainingJobName"]] = described
        return TrainingRun(described, outcome.logs, root)

    # -- inputs -------------------------------------------------------------------------------
    def _download_inputs(
        self, request: dict[str, Any], layout: _Layout, local_inputs: Mapping[str, Path]
    ) -> dict[str, Path]:
        channels: dict[str, Path] = {}
        for channel in request.get("InputDataConfig", []):
            name = channel["ChannelName"]
            folder = layout.channel(name)
            if name in local_inputs:
                shutil.copytree(local_inputs[name], folder, dirs_exist_ok=True)
            else:
                uri = _S3Uri.parse(channel["DataSource"]["S3DataSource"]["S3Uri"])
                self._download_prefix(uri, folder)
            channels[name] = folder
        return channels

    def _download_prefix(self, uri: _S3Uri, folder: Path) -> None:
        """Every object under the prefix, at its key relative to the prefix."""
        folder.mkdir(parents=True, exist_ok=True)
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=uri.bucket, Prefix=uri.prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                relative = key[len(uri.prefix) :].lstrip("/")
                if not relative or key.endswith("/"):  # a console "folder": no file
                    continue
                target = _inside(folder, relative)
                target.parent.mkdir(parents=True, exist_ok=True)
                self.s3.download_file(uri.bucket, key, str(target))

    def _download_source(self, uri: _S3Uri, code: Path) -> None:
        """The toolkit's source dir: the `sagemaker_submit_directory` tarball, unpacked into
        /opt/ml/code (links, devices and paths out of the folder refused, as `data` filters)."""
        body = self.s3.get_object(Bucket=uri.bucket, Key=uri.prefix)["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
            archive.extractall(code, filter="data")

    def _restore_checkpoints(self, request: dict[str, Any], layout: _Layout) -> None:
        """What SageMaker copies back into LocalPath before the job starts (a restart)."""
        config = request.get("CheckpointConfig")
        if config:
            self._download_prefix(_S3Uri.parse(config["S3Uri"]), layout.checkpoints)

    # -- the process ----------------------------------------------------------------------------
    def _execute(
        self, request: dict[str, Any], layout: _Layout, channels: Mapping[str, Path]
    ) -> _Outcome:
        hyperparameters = request.get("HyperParameters", {})
        entry = str(_decoded(hyperparameters.get("sagemaker_program", ENTRY_POINT)))
        timeout = request.get("StoppingCondition", {}).get(
            "MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME
        )
        command = [self.python, str(layout.code / entry), *_arguments(hyperparameters)]
        environment = self._environment(request, layout, channels)
        try:
            done = subprocess.run(
                command,
                cwd=layout.code,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as expired:
            logs = _text(expired.stdout)
            return _Outcome("Stopped", "MaxRuntimeExceeded", logs, "")
        if done.returncode == 0:
            return _Outcome("Completed", "Completed", done.stdout, "")
        reason = _failure_reason(layout.failure, done.stdout, done.returncode)
        return _Outcome("Failed", "Failed", done.stdout, reason)

    def _environment(
        self, request: dict[str, Any], layout: _Layout, channels: Mapping[str, Path]
    ) -> dict[str, str]:
        """The container's environment, as SageMaker's training toolkit sets it."""
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(DROPPED_PREFIXES) and name != "PYTHONPATH"
        }
        decoded = hyperparameters_decoded(request.get("HyperParameters", {}))
        environment = {
            **inherited,
            **request.get("Environment", {}),  # the request's own variables, as SageMaker sets
            "PYTHONPATH": os.pathsep.join(str(path) for path in self.python_path),
            "PYTHONUNBUFFERED": "1",
            "TRAINING_JOB_NAME": request["TrainingJobName"],
            "SM_HPS": json.dumps(decoded),
            "SM_CHANNELS": json.dumps(sorted(channels)),
            "SM_MODEL_DIR": str(layout.model),
            "SM_OUTPUT_DIR": str(layout.output),
            "SM_OUTPUT_DATA_DIR": str(layout.output_data),
            "SM_INPUT_DIR": str(layout.input),
            "SM_INPUT_CONFIG_DIR": str(layout.config),
            "SM_NUM_GPUS": str(self.gpus),
            "SM_NUM_CPUS": str(os.cpu_count() or 1),
            "SM_CURRENT_HOST": "algo-1",
            "SM_HOSTS": json.dumps(["algo-1"]),
            # In a container the checkpoints are LocalPath itself; here they are under root.
            "GT2YOLO_CHECKPOINT_DIR": str(layout.checkpoints),
        }
        for name, value in decoded.items():
            environment[f"SM_HP_{name.upper()}"] = _shown(value)
        for name, folder in channels.items():
            environment[f"SM_CHANNEL_{name.upper()}"] = str(folder)
        return environment

    # -- outputs --------------------------------------------------------------------------------
    def _upload_outputs(self, request: dict[str, Any], layout: _Layout) -> None:
        output = _S3Uri.parse(request["OutputDataConfig"]["S3OutputPath"])
        job = request["TrainingJobName"]
        for name, folder in (("model.tar.gz", layout.model), ("output.tar.gz", layout.output_data)):
            self.s3.put_object(
                Bucket=output.bucket, Key=output.key(job, "output", name), Body=_tarball(folder)
            )

    def _sync_checkpoints(self, request: dict[str, Any], layout: _Layout) -> None:
        config = request.get("CheckpointConfig")
        if not config:
            return
        target = _S3Uri.parse(config["S3Uri"])
        for path in sorted(p for p in layout.checkpoints.rglob("*") if p.is_file()):
            key = target.key(path.relative_to(layout.checkpoints).as_posix())
            self.s3.upload_file(str(path), target.bucket, key)

    def _described(
        self,
        request: dict[str, Any],
        outcome: _Outcome,
        created: datetime,
        started: datetime,
        ended: datetime,
    ) -> dict[str, Any]:
        output = _S3Uri.parse(request["OutputDataConfig"]["S3OutputPath"])
        job = request["TrainingJobName"]
        algorithm = request.get("AlgorithmSpecification", {})
        metrics = final_metrics(outcome.logs, algorithm.get("MetricDefinitions", []))
        seconds = max(1, int((ended - started).total_seconds()))
        described: dict[str, Any] = {
            key: request[key]
            for key in ("HyperParameters", "AlgorithmSpecification", "RoleArn",
                        "InputDataConfig", "OutputDataConfig", "ResourceConfig",
                        "CheckpointConfig", "EnableManagedSpotTraining")
            if key in request
        }  # fmt: skip
        described |= {
            "TrainingJobName": job,
            "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{job}",
            "ModelArtifacts": {
                "S3ModelArtifacts": f"s3://{output.bucket}/{output.key(job, 'output', 'model.tar.gz')}"
            },
            "TrainingJobStatus": outcome.status,
            "SecondaryStatus": outcome.secondary,
            "StoppingCondition": request.get(
                "StoppingCondition", {"MaxRuntimeInSeconds": DEFAULT_MAX_RUNTIME}
            ),
            "CreationTime": created,
            "TrainingStartTime": started,
            "TrainingEndTime": ended,
            "LastModifiedTime": ended,
            "TrainingTimeInSeconds": seconds,
            "BillableTimeInSeconds": seconds,
            "FinalMetricDataList": [
                {"MetricName": name, "Value": value, "Timestamp": ended}
                for name, value in metrics.items()
            ],
        }
        if outcome.reason:
            described["FailureReason"] = outcome.reason
        return described


@dataclass(frozen=True)
class _Outcome:
    status: str
    secondary: str
    logs: str
    reason: str


@dataclass(frozen=True)
class _Layout:
    """The job's /opt/ml, under its own root."""

    root: Path

    @classmethod
    def make(cls, root: Path, source_dir: Path | None) -> _Layout:
        """`source_dir`: copied as the code folder (None: left empty, for a tarball)."""
        if root.exists():
            raise FileExistsError(f"{root}: a job of this name already ran here")
        layout = cls(root)
        if source_dir is None:
            layout.code.mkdir(parents=True)
        else:
            shutil.copytree(source_dir, layout.code, ignore=shutil.ignore_patterns("__pycache__"))
        for folder in (layout.config, layout.model, layout.output_data, layout.checkpoints):
            folder.mkdir(parents=True)
        return layout

    @property
    def code(self) -> Path:
        return self.root / "code"

    @property
    def input(self) -> Path:
        return self.root / "input"

    @property
    def config(self) -> Path:
        return self.input / "config"

    def channel(self, name: str) -> Path:
        return self.input / "data" / name

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def output_data(self) -> Path:
        return self.output / "data"

    @property
    def failure(self) -> Path:
        return self.output / "failure"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    def write_config(self, request: dict[str, Any], channels: Mapping[str, Path]) -> None:
        """input/config as SageMaker writes it: the hyperparameters as sent (strings), each
        channel's settings, the one host."""
        data_config = {
            channel["ChannelName"]: {
                key: value for key, value in channel.items() if key != "ChannelName"
            }
            for channel in request.get("InputDataConfig", [])
            if channel["ChannelName"] in channels
        }
        files = {
            "hyperparameters.json": request.get("HyperParameters", {}),
            "inputdataconfig.json": data_config,
            "resourceconfig.json": {"current_host": "algo-1", "hosts": ["algo-1"]},
        }
        for name, document in files.items():
            (self.config / name).write_text(json.dumps(document, indent=2), encoding="utf-8")


def hyperparameters_decoded(hyperparameters: Mapping[str, str]) -> dict[str, Any]:
    """SM_HPS's object: each value decoded when it is JSON (the SageMaker SDK sends every value
    JSON-encoded), else kept as text; the toolkit's own `sagemaker_*` entries left out."""
    return {
        name: _decoded(value)
        for name, value in hyperparameters.items()
        if not name.startswith("sagemaker_")
    }


def _decoded(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _shown(value: Any) -> str:
    """A decoded value as SM_HP_<NAME> and the command line show it."""
    return value if isinstance(value, str) else json.dumps(value)


def _arguments(hyperparameters: Mapping[str, str]) -> list[str]:
    """The hyperparameters as the toolkit passes them to a script: `--name value`, by name."""
    decoded = hyperparameters_decoded(hyperparameters)
    return [part for name in sorted(decoded) for part in (f"--{name}", _shown(decoded[name]))]


def _refuse_unemulated(request: dict[str, Any]) -> None:
    """What this runner cannot do as SageMaker would: refused, not half done."""
    mode = request.get("AlgorithmSpecification", {}).get("TrainingInputMode", "File")
    if mode != "File":
        raise ValueError(f"TrainingInputMode {mode!r}: only File is emulated")
    for channel in request.get("InputDataConfig", []):
        source = channel["DataSource"].get("S3DataSource")
        if source is None or source.get("S3DataType") != "S3Prefix":
            raise ValueError(f"channel {channel['ChannelName']!r}: only S3Prefix is emulated")
        if channel.get("InputMode", mode) != "File":
            raise ValueError(f"channel {channel['ChannelName']!r}: only File mode is emulated")


def _submit_directory(request: dict[str, Any]) -> _S3Uri | None:
    """Where the training toolkit takes the source dir from: `sagemaker_submit_directory`, when
    it is an S3 URI (the toolkit downloads and unpacks it); None: the local source dir."""
    value = _decoded(request.get("HyperParameters", {}).get("sagemaker_submit_directory", ""))
    return _S3Uri.parse(value) if isinstance(value, str) and value.startswith("s3://") else None


def _inside(folder: Path, relative: str) -> Path:
    """`folder/relative`, refused when a key's `..` would leave the folder."""
    target = (folder / relative).resolve()
    if folder.resolve() not in target.parents:
        raise ValueError(f"object key {relative!r} leaves the channel folder")
    return target


def _tarball(folder: Path) -> bytes:
    """The folder's files as SageMaker tars them: members relative to it (`best.pt`)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.add(path, arcname=path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _failure_reason(failure: Path, logs: str, code: int) -> str:
    """`AlgorithmError: ` and the failure file the entry point wrote, else its log's tail."""
    written = failure.read_text(encoding="utf-8").strip() if failure.is_file() else ""
    detail = written or "\n".join(logs.strip().splitlines()[-LOG_TAIL_LINES:])
    reason = f"AlgorithmError: {detail}, exit code: {code}"
    return reason[:FAILURE_REASON_MAX]


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output or ""
