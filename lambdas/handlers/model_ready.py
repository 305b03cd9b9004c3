"""ModelReady Lambda: a finished training job's model published under models/, linked from the
version's report, then the Model Ready event and the SNS message."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from gt2yolo_aws.adapters import EventBridgeBus, SnsNotifier, transient_errors
from gt2yolo_aws.s3 import S3Stores
from workflow.model_ready import ModelReadyRequest, publish_model

from handlers import clients, settings
from handlers.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = parse(event=event, model=ModelReadyRequest)
    logger.set_correlation_id(state.training.job_name)
    env = settings.model_ready_env()
    with transient_errors():
        result = publish_model(
            state,
            S3Stores(clients.s3()),
            SnsNotifier(clients.sns(), env.TOPIC_ARN),
            EventBridgeBus(clients.events(), env.EVENT_BUS_NAME, env.EVENT_SOURCE),
        )
    logger.info(
        "model ready",
        extra={
            "dataset": result.dataset,
            "version": result.version,
            "training_job": result.training_job,
            "metrics": result.metrics,
            "skipped_members": result.skipped,
            "latest_moved": result.latest_moved,
            "report_note": result.report_note,
            "announced": result.announced,
        },
    )
    metrics.add_metric(
        name="ModelsReady" if result.announced else "RepeatedModelReadySkipped",
        unit=MetricUnit.Count,
        value=1,
    )
    return result.model_dump()
