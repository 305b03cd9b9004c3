"""Backfill Lambda (a step of the Backfill state machine): list the past jobs, or convert the
next batch of them (`workflow.backfill`)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from gt2yolo_aws.adapters import SageMakerLabelingJobs, StepFunctionsExecutions
from gt2yolo_aws.s3 import S3Objects, S3Storage
from pydantic import BaseModel, ConfigDict, Field
from workflow.backfill import BackfillRun, BatchPorts, Retrier, backfill_batch, list_jobs

from handlers import clients, settings
from handlers.observability import logger, metrics, tracer


class BackfillStep(BaseModel):
    """The state machine's state: the run, and where the next batch starts (none: list)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    run: BackfillRun
    offset: int | None = Field(default=None, ge=0)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = BackfillStep.model_validate(event)
    logger.set_correlation_id(step.run.run_id)
    env = settings.backfill_env()
    log = S3Storage(f"s3://{env.BUCKET_NAME}/{env.BACKFILL_PREFIX}", clients.s3(), buffered=False)
    retrier = Retrier(time.sleep)
    jobs = SageMakerLabelingJobs(clients.sagemaker())
    if step.offset is None:
        answer = list_jobs(step.run, settings.backfill_settings(), jobs, log, retrier)
    else:
        ports = BatchPorts(
            catalog=jobs,
            conversions=StepFunctionsExecutions(clients.stepfunctions(), env.STATE_MACHINE_ARN),
            sources=S3Objects(clients.s3()),
            log=log,
            retrier=retrier,
        )
        answer = backfill_batch(step.run, step.offset, settings.backfill_settings(), ports)
    logger.info("backfill step", extra={"step": answer, "retries": retrier.retries})
    metrics.add_metric(name="BackfillRetries", unit=MetricUnit.Count, value=retrier.retries)
    return answer
