"""RekognitionDatasets Lambda: one pass of replacing the project's datasets with the version's."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from gt2yolo_aws.rekognition import RekognitionCustomLabels
from workflow.rekognition import RekognitionRequest, sync_datasets

from handlers import clients, settings
from handlers.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event=event, model=RekognitionRequest)
    logger.set_correlation_id(request.job_name)
    progress = sync_datasets(
        request, RekognitionCustomLabels(clients.rekognition()), settings.rekognition_settings()
    )
    logger.info(
        "rekognition datasets",
        extra={
            "version": request.version,
            "done": progress.done,
            "skipped": progress.skipped,
            "created_datasets": progress.created,
            "replaced_datasets": progress.replaced,
            "polls": progress.polls,
        },
    )
    if progress.done and progress.skipped is None:
        metrics.add_metric(name="RekognitionDatasetsReplaced", unit=MetricUnit.Count, value=1)
    return progress.model_dump()
