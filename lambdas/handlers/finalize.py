"""Finalize Lambda: the chunks' parts -> the dataset's tables and summary (no `_SUCCESS` yet)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from gt2yolo_aws.adapters import s3_storage_ports, transient_errors
from workflow.fan_out import finalize_fan_out
from workflow.models import FanOutStarted

from handlers import clients, settings
from handlers.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = parse(event=event, model=FanOutStarted)
    logger.set_correlation_id(started.job_name)
    with transient_errors():
        outcome = finalize_fan_out(
            started, settings.finalize_settings(), s3_storage_ports(clients.s3())
        )
    summary = outcome.summary
    logger.info(
        "merged",
        extra={"dataset_uri": outcome.dataset_uri, "chunks": started.chunks,
               "summary": summary.model_dump()},
    )  # fmt: skip
    metrics.add_metric(name="Images", unit=MetricUnit.Count, value=summary.images)
    metrics.add_metric(name="Boxes", unit=MetricUnit.Count, value=summary.boxes)
    metrics.add_metric(name="RejectedLines", unit=MetricUnit.Count, value=summary.rejected_lines)
    metrics.add_metric(name="DroppedBoxes", unit=MetricUnit.Count, value=summary.dropped_boxes)
    return outcome.model_dump()
