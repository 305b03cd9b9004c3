"""Resolve Lambda: EventBridge event -> ConversionRequest | Skip."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gt2yolo_aws.adapters import S3ObjectReader, SageMakerLabelingJobs, transient_errors
from pydantic import TypeAdapter
from workflow.resolve import resolve_event

from handlers import clients, settings
from handlers.events import StartEvent
from handlers.observability import logger, metrics, tracer

_EVENT = TypeAdapter(StartEvent)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _EVENT.validate_python(event)  # refuse malformed events early; the workflow reads the raw dict
    with transient_errors():
        decision = resolve_event(
            event,
            settings.resolve_settings(),
            SageMakerLabelingJobs(clients.sagemaker()),
            S3ObjectReader(clients.s3()),
        )
    if decision.job_name:
        logger.set_correlation_id(decision.job_name)
    logger.info("resolved", extra={"decision": decision.model_dump()})
    metrics.add_metric(name=f"Resolved_{decision.action}", unit=MetricUnit.Count, value=1)
    return decision.model_dump()
