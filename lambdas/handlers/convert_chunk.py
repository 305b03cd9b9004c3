"""ConvertChunk Lambda: one Distributed Map item (a byte range of the manifest) -> its parts."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from gt2yolo_aws.adapters import s3_storage_ports, transient_errors
from workflow.fan_out import convert_chunk_task
from workflow.models import ChunkTask

from handlers import clients, settings
from handlers.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse(event=event, model=ChunkTask)
    logger.append_keys(plan_uri=task.plan_uri, chunk=task.chunk.get("index"))
    with transient_errors():
        result = convert_chunk_task(
            task, settings.convert_chunk_settings(), s3_storage_ports(clients.s3())
        )
    logger.info("chunk converted", extra=result)
    metrics.add_metric(name="ChunkImages", unit=MetricUnit.Count, value=result["images"])
    return result
