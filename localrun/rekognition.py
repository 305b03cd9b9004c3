"""Rekognition Custom Labels projects and datasets (moto has none), served by moto's endpoint.

The sandboxed function's botocore validates and sends the request as it would to AWS; moto's
Rekognition endpoint answers CreateDataset, DeleteDataset, DescribeDataset and DescribeProjects
from here. Every request is validated again against the Rekognition API model (its input shape)
and every answer against its output shape, as botocore's Stubber does.

What is emulated, as the Custom Labels docs describe it:
- IAM: a function's request is allowed only if its role's policies allow the action on the
  resource (CreateDataset: the project; DeleteDataset, DescribeDataset: the dataset;
  DescribeProjects: "*", it has no resource-level permissions).
- Rekognition reads the manifest and the images with the caller's permissions: CreateDataset
  fails (AccessDeniedException) if the caller's role may not s3:GetObject the manifest, and an
  image the role may not read, or that is missing or in another bucket, is an error entry.
- A project holds one dataset per type (ResourceAlreadyExistsException); a dataset being created
  or updated cannot be deleted (ResourceInUseException); creating and deleting take a while:
  a dataset stays CREATE_IN_PROGRESS / DELETE_IN_PROGRESS for `busy_looks` looks at it
  (DescribeProjects or DescribeDataset), then is CREATE_COMPLETE (or CREATE_FAILED when more than
  20% of the manifest's lines are errors), or gone.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import botocore.session
from botocore.validate import validate_parameters

from localrun.iam import ALLOW, S3_ARN, Check, Identity, decide
from localrun.responses import answering

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
# More invalid lines than this fails the import (Custom Labels manifest validation rules).
MAX_ERROR_SHARE = 0.2


@dataclass
class Dataset:
    arn: str
    project_arn: str
    dataset_type: str
    manifest: tuple[str, str]  # (bucket, key) it was created from
    status: str = "CREATE_IN_PROGRESS"
    status_message: str = ""
    entries: int = 0
    error_entries: int = 0
    busy_looks: int = 0  # looks left before the current operation finishes
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    final_status: str = "CREATE_COMPLETE"
    final_message: str = "The dataset was successfully created from the manifest file."


@dataclass
class Project:
    arn: str
    datasets: dict[str, Dataset] = field(default_factory=dict)  # by type
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


class RekognitionFake:
    """Custom Labels projects (`add_project`) and the datasets the functions make in them."""

    OPERATIONS: ClassVar[dict[str, str]] = {
        "CreateDataset": "create_dataset",
        "DeleteDataset": "delete_dataset",
        "DescribeDataset": "describe_dataset",
        "DescribeProjects": "describe_projects",
    }

    def __init__(
        self,
        identity_of: Callable[[str], Identity | None],
        read_object: Callable[[str, str], bytes | None],
        busy_looks: int = 1,
    ) -> None:
        """`identity_of`: the function that signed with an access key (None: not a function);
        `read_object`: an object's bytes in the local S3 (None: no such object)."""
        self._identity_of = identity_of
        self._read_object = read_object
        self.busy_looks = busy_looks
        self._model = botocore.session.get_session().get_service_model("rekognition")
        self._projects: dict[str, Project] = {}
        self._lock = threading.Lock()
        self._timestamps = 1_700_000_000_000
        self.requests: list[tuple[str, dict[str, Any]]] = []  # (operation, request), in order
        self.deleted: list[str] = []  # ARNs of the datasets deleted, in order

    # -- the account's projects --------------------------------------------------------------
    def add_project(self, arn: str) -> None:
        """A project the account has (its ARN as the stack was given it)."""
        self._projects[arn] = Project(arn)

    def datasets(self, project_arn: str) -> dict[str, Dataset]:
        """The project's datasets now, by type."""
        return dict(self._projects[project_arn].datasets)

    # -- serving -------------------------------------------------------------------------------
    @contextmanager
    def patched(self) -> Iterator[None]:
        """moto's Rekognition answers these operations from here while the context lasts."""
        from moto.rekognition.responses import RekognitionResponse

        with answering(RekognitionResponse, self.OPERATIONS, self._answer):
            yield

    def _answer(self, operation: str) -> Callable[[Any], str]:
        def answer(response_self: Any) -> str:
            from moto.core.exceptions import JsonRESTError

            request = json.loads(response_self.body or "{}")
            model = self._model.operation_model(operation)
            try:
                validate_parameters(request, model.input_shape)
            except Exception as invalid:  # botocore's ParamValidationError, as AWS would answer
                raise JsonRESTError("InvalidParameterException", str(invalid)) from None
            identity = self._caller(response_self.headers.get("Authorization", ""))
            with self._lock:
                self.requests.append((operation, request))
                response = getattr(self, f"_{self.OPERATIONS[operation]}")(request, identity)
            validate_parameters(response, model.output_shape)
            return json.dumps(response, default=_epoch)

        return answer

    def _caller(self, authorization: str) -> Identity | None:
        found = _CREDENTIAL.search(authorization)
        return self._identity_of(found.group(1)) if found else None

    # -- IAM -------------------------------------------------------------------------------------
    @staticmethod
    def _authorize(identity: Identity | None, action: str, resource: str) -> None:
        from moto.core.exceptions import JsonRESTError

        if identity is None:
            return  # the test itself, or the CLI: not a role of the stack
        if decide(identity.statements, Check(action, resource)) != ALLOW:
            raise JsonRESTError(
                "AccessDeniedException",
                f"User: {identity.role_arn} is not authorized to perform: {action} on "
                f"resource: {resource}",
            )

    @staticmethod
    def _may_read(identity: Identity | None, bucket: str, key: str) -> bool:
        """Rekognition reads S3 with the caller's permissions."""
        if identity is None:
            return True
        check = Check("s3:GetObject", f"{S3_ARN}{bucket}/{key}")
        return decide(identity.statements, check) == ALLOW

    # -- operations ------------------------------------------------------------------------------
    def _create_dataset(self, request: dict[str, Any], identity: Identity | None) -> dict[str, Any]:
        from moto.core.exceptions import JsonRESTError

        project = self._project(request["ProjectArn"])
        self._authorize(identity, "rekognition:CreateDataset", project.arn)
        dataset_type = request["DatasetType"]
        if dataset_type in project.datasets:
            raise JsonRESTError(
                "ResourceAlreadyExistsException",
                f"The project already has a {dataset_type} dataset.",
            )
        manifest = (request.get("DatasetSource") or {}).get("GroundTruthManifest")
        if manifest is None:
            raise JsonRESTError("InvalidParameterException", "only GroundTruthManifest sources")
        bucket, key = manifest["S3Object"]["Bucket"], manifest["S3Object"]["Name"]
        if not self._may_read(identity, bucket, key):
            raise JsonRESTError("AccessDeniedException", f"Unable to read s3://{bucket}/{key}")
        body = self._read_object(bucket, key)
        if body is None:
            raise JsonRESTError("InvalidS3ObjectException", f"No manifest at s3://{bucket}/{key}")
        self._timestamps += 1
        arn = f"{project.arn.rsplit('/', 1)[0]}/dataset/{dataset_type.lower()}/{self._timestamps}"
        dataset = Dataset(arn, project.arn, dataset_type, (bucket, key), busy_looks=self.busy_looks)
        self._import(dataset, body.decode("utf-8", "replace"), identity)
        project.datasets[dataset_type] = dataset
        return {"DatasetArn": arn}

    def _import(self, dataset: Dataset, text: str, identity: Identity | None) -> None:
        """What Rekognition makes of the manifest's lines: each must name an image the caller
        may read (all images of a dataset are in one bucket: the manifest's, here)."""
        bucket = dataset.manifest[0]
        lines = text.splitlines()
        errors = sum(1 for line in lines if not self._valid_line(line, bucket, identity))
        dataset.entries, dataset.error_entries = len(lines) - errors, errors
        if not lines or errors > MAX_ERROR_SHARE * len(lines):
            dataset.final_status = "CREATE_FAILED"
            dataset.final_message = (
                f"The manifest file contains too many invalid rows ({errors} of {len(lines)})."
            )

    def _valid_line(self, line: str, bucket: str, identity: Identity | None) -> bool:
        try:
            entry = json.loads(line)
        except ValueError:
            return False
        ref = entry.get("source-ref") if isinstance(entry, dict) else None
        if not isinstance(ref, str) or not ref.startswith(f"s3://{bucket}/"):
            return False
        key = ref.removeprefix(f"s3://{bucket}/")
        return self._may_read(identity, bucket, key) and self._read_object(bucket, key) is not None

    def _delete_dataset(self, request: dict[str, Any], identity: Identity | None) -> dict[str, Any]:
        from moto.core.exceptions import JsonRESTError

        self._authorize(identity, "rekognition:DeleteDataset", request["DatasetArn"])
        dataset = self._dataset(request["DatasetArn"])
        if dataset.status in ("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"):
            raise JsonRESTError("ResourceInUseException", f"The dataset is {dataset.status}.")
        if dataset.status != "DELETE_IN_PROGRESS":
            dataset.status, dataset.busy_looks = "DELETE_IN_PROGRESS", self.busy_looks
            self.deleted.append(dataset.arn)
        return {}

    def _describe_dataset(
        self, request: dict[str, Any], identity: Identity | None
    ) -> dict[str, Any]:
        self._authorize(identity, "rekognition:DescribeDataset", request["DatasetArn"])
        dataset = self._dataset(request["DatasetArn"])
        self._look(dataset)
        self._dataset(dataset.arn)  # ResourceNotFoundException if this look saw it go
        description: dict[str, Any] = {
            "CreationTimestamp": dataset.created,
            "LastUpdatedTimestamp": dataset.created,
            "Status": dataset.status,
            "StatusMessage": dataset.status_message,
            "StatusMessageCode": "SUCCESS" if dataset.status != "CREATE_FAILED" else "CLIENT_ERROR",
        }
        if dataset.status == "CREATE_COMPLETE":
            description["DatasetStats"] = {
                "LabeledEntries": dataset.entries,
                "TotalEntries": dataset.entries + dataset.error_entries,
                "TotalLabels": 0,
                "ErrorEntries": dataset.error_entries,
            }
        return {"DatasetDescription": description}

    def _describe_projects(
        self, request: dict[str, Any], identity: Identity | None
    ) -> dict[str, Any]:
        self._authorize(identity, "rekognition:DescribeProjects", "*")
        names = set(request.get("ProjectNames") or [])
        descriptions = []
        for project in self._projects.values():
            if names and project.arn.split(":project/", 1)[1].rsplit("/", 1)[0] not in names:
                continue
            for dataset in list(project.datasets.values()):
                self._look(dataset)
            descriptions.append({
                "ProjectArn": project.arn,
                "CreationTimestamp": project.created,
                "Status": "CREATED",
                "Datasets": [_metadata(d) for d in project.datasets.values()],
            })  # fmt: skip
        return {"ProjectDescriptions": descriptions}

    # -- state -----------------------------------------------------------------------------------
    def _look(self, dataset: Dataset) -> None:
        """Someone looked: time passed for the operation in progress."""
        if dataset.status not in ("CREATE_IN_PROGRESS", "DELETE_IN_PROGRESS"):
            return
        if dataset.busy_looks > 0:
            dataset.busy_looks -= 1
            return
        if dataset.status == "DELETE_IN_PROGRESS":
            del self._projects[dataset.project_arn].datasets[dataset.dataset_type]
        else:
            dataset.status, dataset.status_message = dataset.final_status, dataset.final_message

    def _project(self, arn: str) -> Project:
        from moto.core.exceptions import JsonRESTError

        if arn not in self._projects:
            raise JsonRESTError("ResourceNotFoundException", f"No project {arn}")
        return self._projects[arn]

    def _dataset(self, arn: str) -> Dataset:
        from moto.core.exceptions import JsonRESTError

        for project in self._projects.values():
            for dataset in project.datasets.values():
                if dataset.arn == arn:
                    return dataset
        raise JsonRESTError("ResourceNotFoundException", f"No dataset {arn}")


def _metadata(dataset: Dataset) -> dict[str, Any]:
    return {
        "CreationTimestamp": dataset.created,
        "DatasetType": dataset.dataset_type,
        "DatasetArn": dataset.arn,
        "Status": dataset.status,
        "StatusMessage": dataset.status_message,
        "StatusMessageCode": "SUCCESS" if dataset.status != "CREATE_FAILED" else "CLIENT_ERROR",
    }


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not JSON serializable: {value!r}")
