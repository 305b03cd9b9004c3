"""NotifyFailure Lambda: the Catch target of every step; one readable SNS message."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gt2yolo_aws.adapters import SnsNotifier, transient_errors
from workflow.failure import failure_message

from handlers import clients, settings
from handlers.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    subject, message, fields = failure_message(event)
    logger.set_correlation_id(fields["job_name"])
    logger.error("conversion failed", extra=fields)
    with transient_errors():
        SnsNotifier(clients.sns(), settings.notify_env().TOPIC_ARN).notify(subject, message)
    metrics.add_metric(name="ConversionsFailed", unit=MetricUnit.Count, value=1)
    return {"notified": True, **fields}
