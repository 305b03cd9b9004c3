"""Convert Lambda: ConversionRequest -> dataset files under datasets/<name>/.

A manifest above FAN_OUT_BYTES is not converted here: Convert plans the chunks and the state
machine's Distributed Map converts them (handlers.convert_chunk, handlers.finalize).
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from gt2yolo_aws.adapters import s3_storage_ports, transient_errors
from workflow.convert import convert_request
from workflow.models import ConversionRequest, FanOutStarted

from handlers import clients, settings
from handlers.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event=event, model=ConversionRequest)
    logger.set_correlation_id(request.job_name)
    started = time.monotonic()
    with transient_errors():
        outcome = convert_request(
            request, settings.convert_settings(), s3_storage_ports(clients.s3())
        )
    if isinstance(outcome, FanOutStarted):
        logger.info(
            "fan-out planned",
            extra={"dataset_uri": outcome.dataset_uri, "chunks": outcome.chunks,
                   "lines": outcome.lines},
        )  # fmt: skip
        metrics.add_metric(name="FanOutChunks", unit=MetricUnit.Count, value=outcome.chunks)
        # No `error` key: only the Map's Catch adds one, and Finalize fails on it.
        return outcome.model_dump(exclude={"error"})
    elapsed_ms = (time.monotonic() - started) * 1000
    summary = outcome.summary
    logger.info(
        "converted",
        extra={"dataset_uri": outcome.dataset_uri, "summary": summary.model_dump(),
               "already_published": outcome.already_published},
    )  # fmt: skip
    if not outcome.already_published:
        metrics.add_metric(name="Images", unit=MetricUnit.Count, value=summary.images)
        metrics.add_metric(name="Boxes", unit=MetricUnit.Count, value=summary.boxes)
        metrics.add_metric(
            name="RejectedLines", unit=MetricUnit.Count, value=summary.rejected_lines
        )
        metrics.add_metric(name="DroppedBoxes", unit=MetricUnit.Count, value=summary.dropped_boxes)
        metrics.add_metric(
            name="ConversionDuration", unit=MetricUnit.Milliseconds, value=elapsed_ms
        )
    return outcome.model_dump()
