"""Start-labeling-job Lambdas: `prepare` (manifest, label categories, template, request) and
`create` (CreateLabelingJob). Two states of the StartLabelingJob state machine."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from gt2yolo_aws.adapters import transient_errors
from gt2yolo_aws.intake import (
    DynamoImageRegistry,
    S3InputManifests,
    S3ObjectInspector,
    SageMakerLabelingJobCreator,
)
from workflow.intake import IntakePorts
from workflow.start_job import (
    PreparedJob,
    StartJobRequest,
    StartJobSettings,
    create_labeling_job,
    prepare_labeling_job,
)

from handlers import clients, settings
from handlers.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def prepare(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event=event, model=StartJobRequest)
    env = settings.start_job_env()
    manifests = S3InputManifests(clients.s3(), env.BUCKET_NAME)
    intake = IntakePorts(
        objects=S3ObjectInspector(clients.s3()),
        registry=DynamoImageRegistry(clients.dynamodb(), env.TABLE_NAME),
        manifests=manifests,
    )
    job_settings = StartJobSettings(
        bucket=env.BUCKET_NAME,
        region=env.AWS_REGION,
        role_arn=env.GROUND_TRUTH_ROLE_ARN,
        workteam_arn=env.WORKTEAM_ARN or None,
        job_name_prefix=env.JOB_NAME_PREFIX,
        output_prefix=env.OUTPUT_PREFIX,
    )
    with transient_errors():
        prepared = prepare_labeling_job(request, job_settings, manifests, intake)
    logger.set_correlation_id(prepared.job_name)
    logger.info("prepared", extra={"job_name": prepared.job_name, "images": prepared.images,
                "manifest_uri": prepared.manifest_uri})  # fmt: skip
    metrics.add_metric(name="LabelingJobsPrepared", unit=MetricUnit.Count, value=1)
    return prepared.model_dump()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def create(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    prepared = parse(event=event, model=PreparedJob)
    logger.set_correlation_id(prepared.job_name)
    started = create_labeling_job(prepared, SageMakerLabelingJobCreator(clients.sagemaker()))
    logger.info("labeling job created", extra=started.model_dump())
    metrics.add_metric(name="LabelingJobsStarted", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="ImagesSentToLabeling", unit=MetricUnit.Count, value=started.images)
    return started.model_dump()
