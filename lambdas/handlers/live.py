"""LiveSweep Lambda (scheduled): start a partial conversion of each watched job in progress
whose newest intermediate manifest is not converted yet."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gt2yolo_aws.adapters import S3Listing, SageMakerLabelingJobs, StepFunctionsExecutions
from workflow.live import sweep

from handlers import clients, settings
from handlers.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The schedule's event carries nothing we need: every tick looks at the jobs afresh.
    summary = sweep(
        settings.live_settings(),
        SageMakerLabelingJobs(clients.sagemaker()),
        S3Listing(clients.s3()),
        StepFunctionsExecutions(clients.stepfunctions(), settings.live_env().STATE_MACHINE_ARN),
    )
    logger.info("swept", extra={"sweep": asdict(summary)})
    metrics.add_metric(
        name="LiveConversionsStarted", unit=MetricUnit.Count, value=len(summary.started)
    )
    return asdict(summary)
