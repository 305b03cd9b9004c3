"""Publish Lambda: write `_SUCCESS` last, then the Dataset Ready event and the SNS message."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from gt2yolo_aws.adapters import EventBridgeBus, SnsNotifier, transient_errors
from gt2yolo_aws.s3 import S3Stores
from workflow.models import PublishRequest
from workflow.publish import publish_dataset

from handlers import clients, settings
from handlers.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = parse(event=event, model=PublishRequest)
    logger.set_correlation_id(outcome.job_name)
    if outcome.report_error is not None:
        # The Report step is not fatal: the dataset publishes, the failure is logged and counted.
        logger.error(
            "report step failed", extra={"report_error": outcome.report_error.model_dump()}
        )
        metrics.add_metric(name="ReportsFailed", unit=MetricUnit.Count, value=1)
    env = settings.publish_env()
    with transient_errors():
        result = publish_dataset(
            outcome,
            S3Stores(clients.s3()),
            SnsNotifier(clients.sns(), env.TOPIC_ARN),
            EventBridgeBus(clients.events(), env.EVENT_BUS_NAME, env.EVENT_SOURCE),
            env.KEEP_VERSIONS,
        )
    logger.info(
        "publish",
        extra={
            "published": result.published,
            "reason": result.reason,
            "version": result.version,
            "kept_versions": result.kept_versions,
            "deleted_objects": result.deleted_objects,
        },
    )
    metrics.add_metric(
        name="DatasetsPublished" if result.published else "DuplicatePublishSkipped",
        unit=MetricUnit.Count,
        value=1,
    )
    return result.model_dump()
