"""PrepareTraining Lambda: the training source tarball in the bucket, and the job's request."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from gt2yolo_aws.adapters import transient_errors
from gt2yolo_aws.s3 import S3Storage
from gt2yolo_config import defaults
from gt2yolo_config.environment import PrepareTrainingEnv
from gt2yolo_config.training import TrainingSettings
from workflow.models import PublishOutcome
from workflow.prepare_training import TrainingDeployment, dataset_name, prepare_training

import training
from handlers import clients, settings
from handlers.observability import logger, metrics, tracer


@cache
def training_deployment() -> TrainingDeployment:
    """The environment, validated at cold start (here, not in handlers.settings: only this
    function's code asset carries the `training` package the request builder imports)."""
    env = settings.load(PrepareTrainingEnv)
    return TrainingDeployment(
        settings=TrainingSettings.from_json(env.TRAINING),
        bucket=env.BUCKET_NAME,
        role_arn=env.ROLE_ARN,
        image=env.IMAGE,
        region=env.AWS_REGION,
        kms_key=env.KMS_KEY_ARN or None,
    )


def training_sources() -> dict[str, bytes]:
    """The training package's files this function's code asset carries (stacks.constructs.
    training bundles `training/` beside `lambdas/`), by name."""
    folder = Path(training.__file__).parent
    return {name: (folder / name).read_bytes() for name in training.SOURCE_FILES}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = parse(event=event, model=PublishOutcome)
    logger.set_correlation_id(outcome.job_name)
    deployment = training_deployment()
    bucket = S3Storage(f"s3://{deployment.bucket}/", clients.s3(), buffered=False)
    with transient_errors():
        plan = prepare_training(outcome, deployment, bucket, training_sources())
    logger.info(
        "prepare training",
        extra={
            "train": plan.train,
            "reason": plan.reason,
            "dataset": plan.dataset or dataset_name(outcome.dataset_uri),
            "version": plan.version,
            "training_job": plan.job_name,
            "source": plan.source_uri,
            "models": defaults.MODELS_PREFIX + plan.dataset if plan.train else "",
        },
    )
    if plan.train:
        metrics.add_metric(name="TrainingJobsPlanned", unit=MetricUnit.Count, value=1)
    return plan.model_dump()
