"""Fixtures of the in-process handler suite: each Lambda entry point called in this process.

Unit-level only: these tests state what a handler does with an event, quickly and with fakes
at hand, but they run in the development environment, where every package is importable. That
a function imports and runs as deployed is proven elsewhere: tests/deploy (each function of each
deploy shape in its own sandbox) and tests/e2e (the state machine with every function sandboxed).

AWS is moto (S3, SNS, EventBridge, SQS); SageMaker, which moto lacks, is a botocore Stubber that
checks every answer against the SageMaker API model. Settings and clients are reset around each
test, as a cold start would find them. Tests import nothing from here: they ask for fixtures.
"""

from __future__ import annotations

import functools
import importlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws
from moto.sns.models import Subscription as SnsSubscription

from localrun.published import version_files
from samples.detection import SampleJob, make_sample_job

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "gt2yolo-test-bucket"
TOPIC_NAME = "gt2yolo-notifications"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC_NAME}"

POWERTOOLS_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "gt2yolo",
    "POWERTOOLS_METRICS_NAMESPACE": "Gt2Yolo",
    "POWERTOOLS_METRICS_DISABLED": "false",
}
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# What the stack gives every function (each handler validates only the variables it reads).
FUNCTION_ENV = {"BUCKET_NAME": BUCKET, "TOPIC_ARN": TOPIC_ARN}
# Variables a test may set; none of them leaks in from the shell running the suite.
OPTIONAL_ENV = (
    "JOB_NAME_PREFIX", "CONVERT_STOPPED_JOBS", "MANIFESTS_PREFIX", "DATASETS_PREFIX",
    "VAL_FRACTION", "TEST_FRACTION", "COPY_IMAGES", "EVENT_BUS_NAME", "EVENT_SOURCE",
    "AWS_PROFILE", "AWS_ENDPOINT_URL", "POWERTOOLS_DEV", "FAN_OUT_BYTES", "CHUNK_BYTES",
    "GROUNDTRUTH_PREFIX", "PREVIEW_SAMPLE", "PREVIEW_FLAGGED_LIMIT",
    "TABLE_NAME", "STREAMING_TOPIC_ARN", "GROUND_TRUTH_ROLE_ARN", "WORKTEAM_ARN", "OUTPUT_PREFIX",
    "STATE_MACHINE_ARN",
)  # fmt: skip
HANDLERS = (
    "resolve", "convert", "report", "publish", "notify_failure", "convert_chunk", "finalize",
    "intake", "start_job", "live", "model_ready",
)  # fmt: skip
TABLE_NAME = "gt2yolo-image-registry"
STREAMING_TOPIC_NAME = "gt-streaming-input"
STREAMING_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{STREAMING_TOPIC_NAME}"
GROUND_TRUTH_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/gt2yolo-ground-truth"
WORKTEAM_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/labelers"

Handler = Callable[[dict[str, Any]], dict[str, Any]]
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A handler that ends without metrics (a Skip, an error) makes Powertools warn; expected here.
    quiet = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(quiet)


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from the Lambda context object."""

    function_name: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/gt2yolo-test"
    log_stream_name: str = "test"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@pytest.fixture(scope="session", autouse=True)
def handler_modules() -> dict[str, ModuleType]:
    """The handler modules, imported once with Powertools' environment in place.

    Powertools reads its namespace and service name when the module-level singletons are made,
    and the logger binds the stdout of that moment: importing here (before any capsys) keeps
    both right for the whole session.
    """
    with pytest.MonkeyPatch.context() as env:
        for name, value in POWERTOOLS_ENV.items():
            env.setenv(name, value)
        return {name: importlib.import_module(f"handlers.{name}") for name in HANDLERS}


@pytest.fixture(autouse=True)
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and every function's environment; each test starts from a cold start."""
    from handlers import clients, settings

    for name in OPTIONAL_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in {**AWS_ENV, **POWERTOOLS_ENV, **FUNCTION_ENV}.items():
        monkeypatch.setenv(name, value)
    settings.reset()
    clients.reset()
    yield
    settings.reset()
    clients.reset()


@pytest.fixture(scope="session")
def boto3_session() -> boto3.session.Session:
    """One boto3 session for the suite, as in a warm Lambda container: botocore parses each
    service model once (SageMaker's is large) instead of once per test."""
    return boto3.session.Session()


@pytest.fixture(scope="session")
def aws_client(boto3_session: boto3.session.Session) -> Callable[[str], Any]:
    """The tests' own clients (for setup and assertions), made once: moto intercepts any client
    while it is active. The handlers' clients are not these: they are made per cold start."""
    made: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in made:
            made[service] = boto3_session.client(service, region_name=REGION)
        return made[service]

    return client


@pytest.fixture(autouse=True)
def aws(
    lambda_env: None, boto3_session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """moto for every test: no call ever leaves the process (fake credentials only)."""
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", boto3_session)
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        yield


class Bucket:
    """The stack's bucket in moto, with the few reads the tests make."""

    def __init__(self, name: str, client: Any) -> None:
        self.name = name
        self.client = client
        self.client.create_bucket(Bucket=name)

    def uri(self, key: str) -> str:
        return f"s3://{self.name}/{key}"

    def put(self, key: str, body: bytes | str) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.client.put_object(Bucket=self.name, Key=key, Body=data)

    def read(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())

    def exists(self, key: str) -> bool:
        return key in self.keys(key)

    def keys(self, prefix: str = "") -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=prefix
        )
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def dataset(self, prefix: str, version: str | None = None) -> dict[str, bytes]:
        """A dataset version's files by dataset key (the current version when none is named)."""
        return version_files(self.client, self.name, prefix, version)


@pytest.fixture
def bucket(aws: None, aws_client: Callable[[str], Any]) -> Bucket:
    return Bucket(BUCKET, aws_client("s3"))


@pytest.fixture(scope="session")
def sample_objects() -> SampleJob:
    """A finished sample labeling job (images drawn once per session; put per test)."""
    return make_sample_job(BUCKET, images=6)


@pytest.fixture
def sample_job(bucket: Bucket, sample_objects: SampleJob) -> SampleJob:
    """The sample job's images, output manifest and label config, in the bucket."""
    for key, body in sample_objects.objects.items():
        if "/annotations/" not in key:  # worker responses: the pipeline never reads them
            bucket.put(key, body)
    return sample_objects


@pytest.fixture
def conversion_request(sample_job: SampleJob, bucket: Bucket) -> dict[str, Any]:
    """What resolve answers for the sample job (the convert handler's input)."""
    return {
        "action": "convert",
        "source": "labeling-job",
        "job_name": sample_job.job_name,
        "dataset_name": sample_job.job_name,
        "manifest_uri": bucket.uri(sample_job.manifest_key),
        "label_attribute": "shapes",
        "label_config_uri": bucket.uri(sample_job.config_key),
        "job_status": "Completed",
    }


class StubbedSageMaker:
    """DescribeLabelingJob answers, queued in order; a call nobody queued fails the test."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.stubber = Stubber(client)

    def describes(self, response: dict[str, Any]) -> None:
        name = response["LabelingJobName"]
        self.stubber.add_response("describe_labeling_job", response, {"LabelingJobName": name})

    def lists_in_progress(self, *job_names: str) -> None:
        """ListLabelingJobs(StatusEquals=InProgress) answers these jobs, one page per job (so
        that the caller must follow NextToken)."""
        for position, name in enumerate(job_names):
            arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{name}"
            page: dict[str, Any] = {"LabelingJobSummaryList": [{
                "LabelingJobName": name, "LabelingJobArn": arn, "LabelingJobStatus": "InProgress",
                "CreationTime": 0, "LastModifiedTime": 0, "WorkteamArn": WORKTEAM_ARN,
                "LabelCounters": {"TotalLabeled": 1, "HumanLabeled": 1, "MachineLabeled": 0,
                                  "FailedNonRetryableError": 0, "Unlabeled": 1},
            }]}  # fmt: skip
            expected: dict[str, Any] = {"StatusEquals": "InProgress"}
            if position:
                expected["NextToken"] = f"page-{position}"
            if position < len(job_names) - 1:
                page["NextToken"] = f"page-{position + 1}"
            self.stubber.add_response("list_labeling_jobs", page, expected)
        if not job_names:
            self.stubber.add_response(
                "list_labeling_jobs", {"LabelingJobSummaryList": []}, {"StatusEquals": "InProgress"}
            )

    def throttles(self, job_name: str) -> None:
        self.stubber.add_client_error(
            "describe_labeling_job",
            service_error_code="ThrottlingException",
            service_message="Rate exceeded",
            http_status_code=400,
            expected_params={"LabelingJobName": job_name},
        )


@pytest.fixture
def sagemaker(
    monkeypatch: pytest.MonkeyPatch, aws_client: Callable[[str], Any]
) -> Iterator[StubbedSageMaker]:
    """The resolve handler's SageMaker client, stubbed; every queued answer must be asked for."""
    from handlers import clients

    stubbed = StubbedSageMaker(aws_client("sagemaker"))
    # cache() keeps the factory's interface (cache_clear), as clients.reset() expects
    monkeypatch.setattr(clients, "sagemaker", functools.cache(lambda: stubbed.client))
    with stubbed.stubber:
        yield stubbed
        stubbed.stubber.assert_no_pending_responses()


class Inbox:
    """An SQS queue that receives what the pipeline sends (SNS messages or EventBridge events)."""

    def __init__(self, name: str, sqs: Any) -> None:
        self.sqs = sqs
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
        self.arn = attributes["Attributes"]["QueueArn"]

    def drain(self) -> list[dict[str, Any]]:
        """Every message delivered so far, parsed, and removed from the queue."""
        messages: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get(
            "Messages"
        ):
            for message in batch:
                messages.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return messages


@pytest.fixture(scope="session")
def sns_signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def notifications(
    aws: None,
    aws_client: Callable[[str], Any],
    sns_signing_key: rsa.RSAPrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> Inbox:
    """The stack's SNS topic (TOPIC_ARN), with a queue subscribed to read what it sent."""
    # moto signs each subscription's deliveries with a fresh 2048-bit RSA key (about 0.2 s a
    # test); one key for the suite is as good: nothing here checks SNS signatures.
    monkeypatch.setattr(SnsSubscription, "private_key", lambda _self: sns_signing_key)
    sns = aws_client("sns")
    assert sns.create_topic(Name=TOPIC_NAME)["TopicArn"] == TOPIC_ARN
    inbox = Inbox("notifications", aws_client("sqs"))
    sns.subscribe(TopicArn=TOPIC_ARN, Protocol="sqs", Endpoint=inbox.arn)
    return inbox


@pytest.fixture
def bus_inbox(aws: None, aws_client: Callable[[str], Any]) -> Callable[[str, str], Inbox]:
    """Makes a rule on an event bus, matching one source, that targets a new queue."""
    events = aws_client("events")

    def make(bus: str, source: str) -> Inbox:
        rule = f"gt2yolo-test-{bus}"
        pattern = json.dumps({"source": [source]})
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=pattern)
        inbox = Inbox(f"bus-{bus}", aws_client("sqs"))
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "inbox", "Arn": inbox.arn}])
        return inbox

    return make


@pytest.fixture
def bus_events(bus_inbox: Callable[[str, str], Inbox]) -> Inbox:
    """What reaches the default bus from the pipeline's default source, gt2yolo."""
    return bus_inbox("default", "gt2yolo")


def _invoker(module: ModuleType, function_name: str) -> Handler:
    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = module.handler(event, FakeLambdaContext(function_name))
        return result

    return invoke


@pytest.fixture
def resolve(handler_modules: dict[str, ModuleType]) -> Handler:
    return _invoker(handler_modules["resolve"], "gt2yolo-resolve")


@pytest.fixture
def convert(handler_modules: dict[str, ModuleType]) -> Handler:
    return _invoker(handler_modules["convert"], "gt2yolo-convert")


@pytest.fixture
def convert_chunk(handler_modules: dict[str, ModuleType]) -> Handler:
    return _invoker(handler_modules["convert_chunk"], "gt2yolo-convert-chunk")


@pytest.fixture
def finalize(handler_modules: dict[str, ModuleType]) -> Handler:
    return _invoker(handler_modules["finalize"], "gt2yolo-finalize")


@pytest.fixture
def report(handler_modules: dict[str, ModuleType]) -> Handler:
    return _invoker(handler_modules["report"], "gt2yolo-report")


@pytest.fixture
def publish(handler_modules: dict[str, ModuleType]) -> Handler:
    return _invoker(handler_modules["publish"], "gt2yolo-publish")


@pytest.fixture
def model_ready(handler_modules: dict[str, ModuleType]) -> Handler:
    return _invoker(handler_modules["model_ready"], "gt2yolo-model-ready")


@pytest.fixture
def notify_failure(handler_modules: dict[str, ModuleType]) -> Handler:
    return _invoker(handler_modules["notify_failure"], "gt2yolo-notify-failure")


@pytest.fixture
def live_sweep(handler_modules: dict[str, ModuleType]) -> Handler:
    return _invoker(handler_modules["live"], "gt2yolo-live-sweep")


class S3Writes:
    """The write requests the handlers' own S3 client makes (PUT, COPY, DELETE, uploads)."""

    WRITES = frozenset({
        "PutObject", "CopyObject", "DeleteObject", "DeleteObjects", "CreateMultipartUpload",
        "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
    })  # fmt: skip

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name in self.WRITES:
            self.calls.append((model.name, str(params.get("Key", ""))))


@pytest.fixture
def s3_writes() -> S3Writes:
    """Records writes of `handlers.clients.s3()`, the client every handler shares."""
    from handlers import clients

    writes = S3Writes()
    clients.s3().meta.events.register("before-call.s3", writes.record)
    return writes


# -- the events that start the pipeline --------------------------------------------------------
# The same documented shapes as localrun.demo's builders; that module imports the CDK (seconds
# of start-up), so they are built here.


def _labeling_job_event(job_name: str, status: str = "Completed") -> dict[str, Any]:
    """SageMaker's "Labeling Job State Change": the job name only in resources[0]."""
    return {
        "version": "0", "id": "5c2c1b9a-0000-4000-8000-000000000001",
        "detail-type": "SageMaker Ground Truth Labeling Job State Change",
        "source": "aws.sagemaker", "account": ACCOUNT, "time": "2026-11-24T12:26:13Z",
        "region": REGION,
        "resources": [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job_name}"],
        "detail": {"LabelingJobStatus": status},
    }  # fmt: skip


def _object_created_event(key: str, bucket: str = BUCKET) -> dict[str, Any]:
    """S3's "Object Created" as EventBridge delivers it to the resolve function."""
    return {
        "version": "0", "id": "5c2c1b9a-0000-4000-8000-000000000002",
        "detail-type": "Object Created", "source": "aws.s3", "account": ACCOUNT,
        "time": "2026-11-24T12:30:00Z", "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {"version": "0", "bucket": {"name": bucket},
                   "object": {"key": key, "size": 5, "etag": "0", "sequencer": "1"},
                   "request-id": "LOCAL", "requester": ACCOUNT,
                   "source-ip-address": "127.0.0.1", "reason": "PutObject"},
    }  # fmt: skip


@pytest.fixture
def job_event() -> Callable[..., dict[str, Any]]:
    """job_event(job_name, status="Completed"): a labeling-job state change."""
    return _labeling_job_event


@pytest.fixture
def drop_event() -> Callable[..., dict[str, Any]]:
    """drop_event(key, bucket=BUCKET): an Object Created event for a key."""
    return _object_created_event


# -- intake ------------------------------------------------------------------------------------


@pytest.fixture
def registry_table(
    aws: None, aws_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> str:
    """The intake's DynamoDB table (the schema the stack deploys), named in TABLE_NAME."""
    aws_client("dynamodb").create_table(
        TableName=TABLE_NAME,
        KeySchema=[{"AttributeName": "dataset", "KeyType": "HASH"},
                   {"AttributeName": "object_key", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "dataset", "AttributeType": "S"},
                              {"AttributeName": "object_key", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
    return TABLE_NAME


@pytest.fixture
def streaming_topic(
    aws: None,
    aws_client: Callable[[str], Any],
    sns_signing_key: rsa.RSAPrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> Inbox:
    """A streaming labeling job's input topic (STREAMING_TOPIC_ARN), read through a queue."""
    monkeypatch.setattr(SnsSubscription, "private_key", lambda _self: sns_signing_key)
    sns = aws_client("sns")
    assert sns.create_topic(Name=STREAMING_TOPIC_NAME)["TopicArn"] == STREAMING_TOPIC_ARN
    inbox = Inbox("streaming-input", aws_client("sqs"))
    sns.subscribe(TopicArn=STREAMING_TOPIC_ARN, Protocol="sqs", Endpoint=inbox.arn)
    monkeypatch.setenv("STREAMING_TOPIC_ARN", STREAMING_TOPIC_ARN)
    return inbox


@pytest.fixture
def intake(handler_modules: dict[str, ModuleType], registry_table: str) -> Handler:
    return _invoker(handler_modules["intake"], "gt2yolo-intake")


@pytest.fixture
def start_job_env(registry_table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the stack gives the StartLabelingJob functions (with a work team configured)."""
    monkeypatch.setenv("GROUND_TRUTH_ROLE_ARN", GROUND_TRUTH_ROLE_ARN)
    monkeypatch.setenv("WORKTEAM_ARN", WORKTEAM_ARN)


@pytest.fixture
def prepare_job(handler_modules: dict[str, ModuleType], start_job_env: None) -> Handler:
    module = handler_modules["start_job"]

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = module.prepare(event, FakeLambdaContext("gt2yolo-prepare"))
        return result

    return invoke


@pytest.fixture
def create_job(handler_modules: dict[str, ModuleType], start_job_env: None) -> Handler:
    module = handler_modules["start_job"]

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = module.create(event, FakeLambdaContext("gt2yolo-create"))
        return result

    return invoke
