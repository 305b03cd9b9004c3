"""Intake Lambda: a batch of S3 Object Created events (via SQS) -> registry, manifest, stream.

Records that fail are reported back (ReportBatchItemFailures): SQS redelivers only those, and
parks them in the dead-letter queue after a few attempts. The others are done.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import SqsModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from gt2yolo_aws.intake import (
    DynamoImageRegistry,
    S3InputManifests,
    S3ObjectInspector,
    SnsStreamingTopic,
)
from pydantic import ValidationError
from workflow.intake import Drop, IntakePorts, IntakeReport, take_in

from handlers import clients, settings
from handlers.events import ImageCreated
from handlers.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    env = settings.intake_env()
    batch = parse(event=event, model=SqsModel)
    drops: list[Drop] = []
    malformed: list[str] = []
    for record in batch.Records:
        try:
            drops.append(_drop(record.messageId, str(record.body)))
        except (ValidationError, ValueError) as exc:
            logger.error("not an S3 Object Created event", extra={"message_id": record.messageId,
                         "error": str(exc)})  # fmt: skip
            malformed.append(record.messageId)
    ports = IntakePorts(
        objects=S3ObjectInspector(clients.s3()),
        registry=DynamoImageRegistry(clients.dynamodb(), env.TABLE_NAME),
        manifests=S3InputManifests(clients.s3(), env.BUCKET_NAME),
        topic=SnsStreamingTopic(clients.sns(), env.STREAMING_TOPIC_ARN)
        if env.STREAMING_TOPIC_ARN
        else None,
    )
    report = take_in(drops, env.BUCKET_NAME, ports)
    _observe(report)
    failed = [*malformed, *report.failed]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def _drop(message_id: str, body: str) -> Drop:
    event = ImageCreated.model_validate(json.loads(body))
    return Drop(message_id, event.detail.bucket.name, event.detail.object.key)


def _observe(report: IntakeReport) -> None:
    for skipped in report.skipped:
        logger.info("skipped", extra={"key": skipped.key, "reason": str(skipped.reason),
                    "detail": skipped.detail})  # fmt: skip
        metrics.add_metric(name=f"Skipped_{skipped.reason}", unit=MetricUnit.Count, value=1)
    for message_id, error in report.failed.items():
        logger.error("intake failed", extra={"message_id": message_id, "error": error})
    for refresh in report.refreshed:
        logger.info("manifest", extra={"dataset": refresh.dataset, "key": refresh.manifest_key,
                    "version": refresh.version, "written": refresh.written,
                    "images": refresh.images})  # fmt: skip
    counts = {
        "ImagesRegistered": len(report.registered),
        "DuplicateDeliveries": len(report.duplicates),
        "ImagesSkipped": len(report.skipped),
        "ImagesStreamed": len(report.streamed),
        "ManifestsWritten": sum(1 for r in report.refreshed if r.written),
        "IntakeFailures": len(report.failed),
    }
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
