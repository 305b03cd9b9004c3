"""Parser models of the events the pipeline receives (validated before any work starts)."""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    S3EventNotificationEventBridgeModel,
)
from pydantic import BaseModel, Field


class LabelingJobStatusDetail(BaseModel):
    LabelingJobStatus: str


class LabelingJobStateChange(EventBridgeModel):
    detail_type: Literal["SageMaker Ground Truth Labeling Job State Change"] = Field(
        alias="detail-type"
    )
    source: Literal["aws.sagemaker"]
    detail: LabelingJobStatusDetail


class ManifestCreated(S3EventNotificationEventBridgeModel):
    detail_type: Literal["Object Created"] = Field(alias="detail-type")


class LiveTickDetail(BaseModel):
    job_name: str = Field(min_length=1)
    manifest_uri: str = Field(pattern=r"^s3://")
    iteration: int = Field(ge=0)
    etag: str


class LiveDatasetTick(BaseModel):
    """The live sweep's request for a partial dataset (a state machine input, not a bus event:
    the sweep starts the execution itself, see workflow.live)."""

    detail_type: Literal["Live Dataset Tick"] = Field(alias="detail-type")
    source: Literal["gt2yolo.live"]
    detail: LiveTickDetail


StartEvent = LabelingJobStateChange | ManifestCreated | LiveDatasetTick


class ImageCreated(S3EventNotificationEventBridgeModel):
    """An object created under images/ (the intake reads bucket and key only)."""

    detail_type: Literal["Object Created"] = Field(alias="detail-type")
