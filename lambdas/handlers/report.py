"""Report Lambda: ConversionOutcome -> previews/, workers CSVs, report.html in the dataset."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from gt2yolo_aws.adapters import transient_errors
from gt2yolo_aws.s3 import S3Stores
from workflow.models import ConversionOutcome
from workflow.report import report_dataset

from handlers import clients, settings
from handlers.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = parse(event=event, model=ConversionOutcome)
    logger.set_correlation_id(outcome.job_name)
    with transient_errors():
        summary = report_dataset(outcome, settings.report_settings(), S3Stores(clients.s3()))
    logger.info("report", extra={"report": summary.model_dump()})
    if summary.skipped is None:
        metrics.add_metric(name="ReportsWritten", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="Previews", unit=MetricUnit.Count, value=summary.previews)
    return summary.model_dump()
