"""The local cloud: moto running the CDK-synthesized stack, Lambda tasks run in-process.

What is real: the state machine definitions exactly as CDK synthesized them (moto's ASL interpreter),
the rule patterns from the template (moto's matcher), the Lambda handlers with their environment
from the template, and S3 / SNS / EventBridge / SQS in moto. What is emulated: SageMaker (moto has
no labeling jobs; a botocore Stubber answers DescribeLabelingJob, checked against the API model)
and EventBridge delivery (moto doesn't deliver to Step Functions, so a matched event is started
here, as the rule's target would; an SQS target gets the event in moto's queue, and
`deliver_queued` hands queued messages to the function of the queue's event source mapping, in
batches, deleting those the function did not report as failed).
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import os
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
from botocore.stub import Stubber

from localrun.lambda_events import sqs_record
from localrun.template import Resolver, resources_of

REGION = "us-east-1"
ACCOUNT = "123456789012"
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
    "POWERTOOLS_METRICS_DISABLED": "false",
}
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


# How long a local execution may run before the runner gives up: a guard against a hung
# execution, not a speed check. A cold first call imports the handlers and botocore's models
# from a slow disk (30 s seen on an idle VM, more on a busy CI machine).
EXECUTION_TIMEOUT = 900.0


@dataclass
class LambdaContext:
    """What handlers read from the Lambda context object."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@dataclass
class Execution:
    arn: str
    status: str
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    states: list[str]


class LocalCloud:
    """Deploys a synthesized template into moto and runs events through it."""

    def __init__(
        self, template: dict[str, Any], env_overrides: dict[str, str] | None = None
    ) -> None:
        """`env_overrides`: values for environment variables the functions already have (e.g. a
        small FAN_OUT_BYTES, so a sample manifest takes the Distributed Map)."""
        self.template = template
        self.env_overrides = dict(env_overrides or {})
        self.resolver = Resolver(REGION, ACCOUNT)
        self._stack = ExitStack()
        self._invoke_lock = threading.Lock()
        self.sagemaker = boto3.client("sagemaker", region_name=REGION)
        self.stubber = Stubber(self.sagemaker)
        self.functions: dict[str, dict[str, Any]] = {}
        self.invocations: list[tuple[str, dict[str, Any]]] = []
        self.state_machines: dict[str, str] = {}  # logical ID -> ARN
        self.labeling_job_requests: list[dict[str, Any]] = []  # CreateLabelingJob params sent

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> LocalCloud:
        from moto import mock_aws

        self._stack.enter_context(mock.patch.dict(os.environ, FAKE_ENV))
        self._stack.enter_context(
            mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        )
        self._stack.enter_context(self._in_process_lambdas())
        self._stack.enter_context(self._no_retry_sleep())
        self._stack.enter_context(self._stubbed_sagemaker())
        self.sagemaker.meta.events.register(
            "provide-client-params.sagemaker.CreateLabelingJob", self._record_labeling_job_request
        )
        self.stubber.activate()
        self._stack.callback(self.stubber.deactivate)
        self._reset_handler_caches()
        self._deploy()
        return self

    def __exit__(self, *exc: object) -> None:
        self._reset_handler_caches()
        self._stack.close()

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)

    def put_objects(self, objects: dict[str, bytes]) -> None:
        """Put objects (a sample job's images and output) into the stack's bucket."""
        s3 = self.client("s3")
        for key, body in objects.items():
            s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    # -- deployment --------------------------------------------------------------------------
    def _deploy(self) -> None:
        self._create_buckets()
        self._create_topics()
        self._create_queues()
        self._create_buses()
        self._create_tables()
        self._name_roles()
        self._create_functions()
        self._create_state_machines()

    def _create_tables(self) -> None:
        dynamodb = self.client("dynamodb")
        for logical, resource in resources_of(self.template, "AWS::DynamoDB::Table").items():
            props = resource["Properties"]
            name = f"local-{logical}"[:255]
            arn = dynamodb.create_table(
                TableName=name, KeySchema=props["KeySchema"],
                AttributeDefinitions=props["AttributeDefinitions"], BillingMode="PAY_PER_REQUEST",
            )["TableDescription"]["TableArn"]  # fmt: skip
            self.resolver.refs[logical] = name
            self.resolver.attributes[(logical, "Arn")] = arn

    def _name_roles(self) -> None:
        # Roles are not enforced by moto; functions only need the ARNs (e.g. to pass a role).
        for logical in resources_of(self.template, "AWS::IAM::Role"):
            self.resolver.refs[logical] = f"local-{logical}"[:64]
            self.resolver.attributes[(logical, "Arn")] = (
                f"arn:aws:iam::{ACCOUNT}:role/local-{logical}"[:120]
            )

    def _create_buckets(self) -> None:
        s3 = self.client("s3")
        for logical, resource in resources_of(self.template, "AWS::S3::Bucket").items():
            name = resource.get("Properties", {}).get("BucketName")
            name = name if isinstance(name, str) else f"local-{logical.lower()[:40]}"
            s3.create_bucket(Bucket=name)
            versioning = resource.get("Properties", {}).get("VersioningConfiguration")
            if versioning:
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            self.resolver.refs[logical] = name
            self.resolver.attributes[(logical, "Arn")] = f"arn:aws:s3:::{name}"

    def _create_topics(self) -> None:
        sns = self.client("sns")
        for logical in resources_of(self.template, "AWS::SNS::Topic"):
            arn = sns.create_topic(Name=f"local-{logical}")["TopicArn"]
            self.resolver.refs[logical] = arn
            self.resolver.attributes[(logical, "TopicArn")] = arn
            self.resolver.attributes[(logical, "TopicName")] = f"local-{logical}"
        # A subscriber queue lets tests and the demo read what was notified.
        sqs = self.client("sqs")
        self.inbox_url = sqs.create_queue(QueueName="local-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=self.inbox_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        for logical in resources_of(self.template, "AWS::SNS::Topic"):
            sns.subscribe(TopicArn=self.resolver.refs[logical], Protocol="sqs", Endpoint=inbox_arn)

    def _create_queues(self) -> None:
        sqs = self.client("sqs")
        self.queue_urls: dict[str, str] = {}  # queue ARN -> URL
        for logical in resources_of(self.template, "AWS::SQS::Queue"):
            url = sqs.create_queue(QueueName=f"local-{logical}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.resolver.refs[logical] = url
            self.resolver.attributes[(logical, "Arn")] = arn
            self.resolver.attributes[(logical, "QueueName")] = f"local-{logical}"
            self.queue_urls[arn] = url

    def _create_buses(self) -> None:
        self.buses: dict[str, str] = {}  # bus ARN -> bus name
        for logical, resource in resources_of(self.template, "AWS::Events::EventBus").items():
            name = str(resource["Properties"]["Name"])
            arn = self.client("events").create_event_bus(Name=name)["EventBusArn"]
            self.resolver.refs[logical] = name
            self.resolver.attributes[(logical, "Arn")] = arn
            self.resolver.attributes[(logical, "Name")] = name
            self.buses[arn] = name

    def _role(self) -> str:
        iam = self.client("iam")
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]}}]}  # fmt: skip
        return str(iam.create_role(RoleName=f"local-{uuid.uuid4().hex[:8]}",
                   AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])  # fmt: skip

    def _create_functions(self) -> None:
        lam = self.client("lambda")
        role = self._role()
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("placeholder.py", "# code runs in-process; see localrun.cloud\n")
        for logical, resource in resources_of(self.template, "AWS::Lambda::Function").items():
            props = resource["Properties"]
            handler = props.get("Handler", "")
            if not handler.startswith("handlers."):
                continue  # CDK's own helper functions (log retention, auto-delete) don't run here
            env = self.resolver.resolve(props.get("Environment", {}).get("Variables", {}))
            env |= {k: v for k, v in self.env_overrides.items() if k in env}
            name = f"local-{logical}"[:64]
            arn = lam.create_function(
                FunctionName=name, Runtime="python3.12", Role=role, Handler=handler,
                Code={"ZipFile": archive.getvalue()}, Environment={"Variables": env},
                MemorySize=int(props.get("MemorySize", 128)), Timeout=int(props.get("Timeout", 3)),
            )["FunctionArn"]  # fmt: skip
            self.resolver.refs[logical] = name
            self.resolver.attributes[(logical, "Arn")] = arn
            self.functions[name] = {"handler": handler, "env": env, "arn": arn}

    def _create_state_machines(self) -> None:
        machines = resources_of(self.template, "AWS::StepFunctions::StateMachine")
        sfn = self.client("stepfunctions")
        for logical, resource in machines.items():
            definition = self.resolver.resolve(resource["Properties"]["DefinitionString"])
            parsed = json.loads(definition) if isinstance(definition, str) else definition
            arn = sfn.create_state_machine(
                name=f"local-{logical}"[:80], definition=json.dumps(parsed), roleArn=self._role()
            )["stateMachineArn"]
            self.resolver.refs[logical] = arn
            self.state_machines[logical] = arn
            if logical.startswith("ConversionWorkflow"):
                self.definition = parsed
                self.state_machine_arn = arn
        if not hasattr(self, "state_machine_arn"):
            raise RuntimeError(f"no conversion state machine among {list(machines)}")

    @property
    def start_labeling_job_arn(self) -> str:
        """The StartLabelingJob state machine (deployed with the intake)."""
        [arn] = [a for logical, a in self.state_machines.items() if logical.startswith("Intake")]
        return arn

    # -- in-process Lambda -------------------------------------------------------------------
    @contextmanager
    def _in_process_lambdas(self) -> Iterator[None]:
        cloud = self

        def invoke(function: Any, event: str | None = None) -> tuple[str, bool, str]:
            return cloud._invoke(function.function_name, event)

        with mock.patch("moto.awslambda.models.LambdaFunction._invoke_lambda", invoke):
            yield

    def _invoke(
        self, name: str, event: str | bytes | dict[str, Any] | None
    ) -> tuple[str, bool, str]:
        spec = self.functions[name]
        payload = event if isinstance(event, dict) else json.loads(event) if event else {}
        self.invocations.append((spec["handler"], payload))
        module_name, function_name = spec["handler"].rsplit(".", 1)
        context = LambdaContext(name, 1024, spec["arn"])
        with self._invoke_lock, mock.patch.dict(os.environ, spec["env"]):
            from handlers import settings

            settings.reset()  # each function validates its own environment, as on a cold start
            try:
                handler = getattr(importlib.import_module(module_name), function_name)
                return json.dumps(handler(payload, context)), False, ""
            except Exception as exc:  # the Lambda runtime's error shape drives Retry/Catch
                error = {"errorMessage": str(exc), "errorType": type(exc).__name__,
                         "stackTrace": traceback.format_exception(exc)}  # fmt: skip
                return json.dumps(error), True, ""

    def _reset_handler_caches(self) -> None:
        from handlers import clients, settings

        settings.reset()
        clients.reset()

    @contextmanager
    def _stubbed_sagemaker(self) -> Iterator[None]:
        from handlers import clients

        # The resolve handler asks this stubbed client, as Lambda would ask SageMaker.
        # cache() keeps the factory's interface (cache_clear), as clients.reset() expects.
        with mock.patch.object(clients, "sagemaker", functools.cache(lambda: self.sagemaker)):
            yield

    @contextmanager
    def _no_retry_sleep(self) -> Iterator[None]:
        # Retry intervals would really sleep (2 s, 4 s, ...): keep the Retry logic, skip the wait.
        target = "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl.time.sleep"
        with mock.patch(target, lambda _seconds: None):
            yield

    # -- Ground Truth, simulated ---------------------------------------------------------------
    def expect_describe_labeling_job(self, response: dict[str, Any]) -> None:
        """Queue DescribeLabelingJob's answer; Stubber checks it against the SageMaker model."""
        self.stubber.add_response(
            "describe_labeling_job", response, {"LabelingJobName": response["LabelingJobName"]}
        )

    def expect_create_labeling_job(self, job_name: str) -> None:
        """Queue CreateLabelingJob's answer. The Stubber validates the request against the
        SageMaker model; the request is kept in `labeling_job_requests`."""
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job_name}"
        self.stubber.add_response("create_labeling_job", {"LabelingJobArn": arn})

    def _record_labeling_job_request(self, params: dict[str, Any], **_: Any) -> None:
        self.labeling_job_requests.append(dict(params))

    # -- events ----------------------------------------------------------------------------
    def _rules_on(self, bus: str) -> dict[str, dict[str, Any]]:
        rules = {}
        for logical, resource in resources_of(self.template, "AWS::Events::Rule").items():
            props = resource["Properties"]
            on_bus = self.resolver.resolve(props.get("EventBusName", "default"))
            if on_bus == bus:
                rules[logical] = props
        return rules

    def route(self, event: dict[str, Any], bus: str = "default") -> list[str]:
        """Targets an event reaches, following rules that forward to other buses (as AWS does)."""
        from moto.events.models import EventPattern

        reached: list[str] = []
        for props in self._rules_on(bus).values():
            pattern = self.resolver.resolve(props.get("EventPattern"))
            matcher = EventPattern.load(json.dumps(pattern)) if pattern else None
            if matcher is None or not matcher.matches_event(event):  # type: ignore[arg-type]
                continue
            for target in props.get("Targets", []):
                arn = str(self.resolver.resolve(target["Arn"]))
                forwarded = self.buses.get(arn)
                reached += self.route(event, forwarded) if forwarded else [arn]
        return reached

    def put_event(
        self, event: dict[str, Any], timeout: float = EXECUTION_TIMEOUT
    ) -> Execution | None:
        """Deliver an event as EventBridge would: queue it for the queues rules lead to, and
        start the conversion state machine if a rule leads there."""
        reached = self.route(event)
        for arn in reached:
            if arn in self.queue_urls:
                self.client("sqs").send_message(
                    QueueUrl=self.queue_urls[arn], MessageBody=json.dumps(event)
                )
        if self.state_machine_arn not in reached:
            return None
        return self.run(event, timeout)

    def deliver_queued(self) -> int:
        """Hand queued messages to the functions of the queues' event source mappings, a batch
        at a time, until the queues are empty. Returns the number of messages done."""
        done = 0
        for mapping in resources_of(self.template, "AWS::Lambda::EventSourceMapping").values():
            props = self.resolver.resolve(mapping["Properties"])
            url = self.queue_urls[props["EventSourceArn"]]
            while batch := self._receive(url, int(props.get("BatchSize", 10))):
                done += self._invoke_with_batch(props["FunctionName"], url, props, batch)
        return done

    def _receive(self, url: str, size: int) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        batch: list[dict[str, Any]] = []
        while len(batch) < size:
            answer = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=min(10, size - len(batch))
            )
            if not answer.get("Messages"):
                break
            batch += answer["Messages"]
        return batch

    def _invoke_with_batch(
        self, function: str, url: str, props: dict[str, Any], batch: list[dict[str, Any]]
    ) -> int:
        records = [sqs_record(m["Body"], m["MessageId"], props["EventSourceArn"]) for m in batch]
        payload, errored, _ = self._invoke(function, {"Records": records})
        answer = json.loads(payload)
        if errored:
            raise RuntimeError(f"{function} failed on a batch: {answer.get('errorMessage')}")
        failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
        sqs = self.client("sqs")
        for message in batch:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if failed:
            raise RuntimeError(f"{function} reported failed records: {sorted(failed)}")
        return len(batch)

    def start_labeling_job(
        self, state_input: dict[str, Any], timeout: float = EXECUTION_TIMEOUT
    ) -> Execution:
        """Run the StartLabelingJob state machine (queue CreateLabelingJob's answer first)."""
        return self.run(state_input, timeout, self.start_labeling_job_arn)

    def run(
        self,
        state_input: dict[str, Any],
        timeout: float = EXECUTION_TIMEOUT,
        state_machine_arn: str | None = None,
    ) -> Execution:
        sfn = self.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=state_machine_arn or self.state_machine_arn,
            input=json.dumps(state_input),
            name=uuid.uuid4().hex,
        )["executionArn"]
        deadline = time.monotonic() + timeout
        while True:
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] in TERMINAL:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {arn} still {described['status']}")
            time.sleep(0.05)
        history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        states = [
            e["stateEnteredEventDetails"]["name"]
            for e in history
            if "stateEnteredEventDetails" in e
        ]
        output = described.get("output")
        return Execution(
            arn=arn,
            status=described["status"],
            output=json.loads(output) if output else None,
            error=described.get("error"),
            cause=described.get("cause"),
            states=states,
        )

    def notifications(self) -> list[dict[str, Any]]:
        """SNS messages delivered so far (drained from the local subscriber queue)."""
        sqs = self.client("sqs")
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10)
            if not batch.get("Messages"):
                return messages
            for message in batch["Messages"]:
                messages.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"])

    @property
    def bucket(self) -> str:
        names = {spec["env"].get("BUCKET_NAME") for spec in self.functions.values()}
        names.discard(None)
        if len(names) != 1:
            raise RuntimeError(f"functions disagree on BUCKET_NAME: {names}")
        return str(names.pop())
