"""The local cloud: moto running the CDK-synthesized stack, each Lambda function run as deployed.

What is real: the state machine definitions exactly as CDK synthesized them (moto's ASL
interpreter), the rule patterns from the template (moto's matcher), and S3 / SNS / EventBridge /
SQS / DynamoDB in moto, served over HTTP on loopback (as `ThreadedMotoServer` serves it). Every Lambda
function runs in its own sandbox processes (`localrun.sandbox`), loaded from the cloud assembly
as AWS loads it: its code asset, its layers, the runtime's SDK, the template's environment; it
reaches moto through `AWS_ENDPOINT_URL`, as any SDK client does.

What is emulated: IAM for S3 (`localrun.iam`: each function signs with its own credentials, and
its S3 requests are allowed or refused by its role's policies from the template, as S3 would;
a bucket made with `create_bucket(..., other_account=True)` also needs its bucket policy to
allow the role), SageMaker (moto has no labeling jobs: DescribeLabelingJob, ListLabelingJobs
and CreateLabelingJob are answered from responses queued by the test, each checked against the
SageMaker API model), EventBridge Scheduler (`fire_schedules` invokes each schedule's target
function as the schedule would, when the test says it is time) and EventBridge delivery (moto doesn't deliver to Step Functions, so a
matched event is started here, as the rule's target would; an SQS target gets the event in
moto's queue, and `deliver_queued` hands queued messages to the function of the queue's event
source mapping, in batches, deleting those the function did not report as failed). With
`deliver_s3_events`, every object created in the stack's bucket also becomes S3's "Object
Created" event on the default bus, delivered the same way without waiting (what `gt2yolo
selftest` needs: it only puts objects, as it would in AWS).
"""

from __future__ import annotations

import io
import json
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
import urllib.request
import uuid
import warnings
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock

import boto3
import botocore.session
from botocore.validate import validate_parameters

from localrun.deployed import DeployedFunction, deployed_functions
from localrun.iam import Denial, Identity, S3Gate, parse_policy
from localrun.lambda_events import object_created_event, sqs_record
from localrun.published import version_files
from localrun.sandbox import FunctionPool, Invocation, Sandbox
from localrun.synth import Assembly
from localrun.template import LenientResolver, Resolver, resources_of
from stacks.app_factory import STACK_NAME

REGION = "us-east-1"
ACCOUNT = "123456789012"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# What every sandbox gets besides the template's environment: there is no X-Ray daemon here.
SANDBOX_ENV = {"POWERTOOLS_TRACE_DISABLED": "true"}
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


# How long a local execution may run before the runner gives up: a guard against a hung
# execution, not a speed check. A cold first call imports the handlers and botocore's models
# from a slow disk (30 s seen on an idle VM, more on a busy CI machine).
EXECUTION_TIMEOUT = 900.0


@dataclass
class Execution:
    arn: str
    status: str
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    states: list[str]


class LocalCloud:
    """Deploys a synthesized cloud assembly into moto and runs events through it."""

    def __init__(
        self,
        assembly: Assembly,
        env_overrides: dict[str, str] | None = None,
        *,
        deliver_s3_events: bool = False,
    ) -> None:
        """`env_overrides`: values for environment variables the functions already have (e.g. a
        small FAN_OUT_BYTES, so a sample manifest takes the Distributed Map)."""
        self.assembly = assembly
        self.template = assembly.template
        self.env_overrides = dict(env_overrides or {})
        self.deliver_s3_events = deliver_s3_events
        self.resolver = Resolver(REGION, ACCOUNT)
        self._stack = ExitStack()
        self.functions: dict[str, dict[str, Any]] = {}  # function name -> handler, env, arn
        self._pools: dict[str, FunctionPool] = {}
        self._failures: dict[str, dict[str, str]] = {}  # handler -> the error it returns
        self.invocations: list[tuple[str, dict[str, Any]]] = []
        self.state_machines: dict[str, str] = {}  # logical ID -> ARN
        self.labeling_job_requests: list[dict[str, Any]] = []  # CreateLabelingJob params sent
        self.sagemaker = _SageMakerAnswers(self.labeling_job_requests)
        self.endpoint = ""
        self.stack_name = STACK_NAME

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> LocalCloud:
        # The server's request log would bury everything else; errors still show.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.s3_gate = S3Gate(_moto_app(), _moto_bucket_policy)
        server = _GatedMotoServer(self.s3_gate)
        server.start()
        self._stack.callback(server.stop)
        host, port = server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self._moto_api("reset", None)  # one process, one moto: start from nothing
        self._moto_api("config", {"stepfunctions": {"execute_state_machine": True}})
        # This process's clients (tests, the demo, the CLI under test) reach moto the same way;
        # so do the state machines' service calls (moto's interpreter calls localhost:MOTO_PORT).
        endpoint_env = {"AWS_ENDPOINT_URL": self.endpoint, "MOTO_PORT": str(port)}
        self._stack.enter_context(mock.patch.dict(os.environ, FAKE_CREDENTIALS | endpoint_env))
        self.work_dir = Path(tempfile.mkdtemp(prefix="local-lambda-"))
        self._stack.callback(shutil.rmtree, self.work_dir, True)
        self._stack.callback(self._close_sandboxes)
        self._stack.enter_context(self._sandboxed_lambdas())
        self._stack.enter_context(self._no_retry_sleep())
        self._stack.enter_context(self.sagemaker.patched())
        if self.deliver_s3_events:
            self._stack.enter_context(self._s3_events_delivered())
        self._deploy()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _moto_api(self, action: str, body: dict[str, Any] | None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/{action}", data, method="POST")
        with urllib.request.urlopen(request, timeout=30):  # loopback only
            pass

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint)

    def create_bucket(self, name: str, *, other_account: bool = False) -> None:
        """A bucket outside the stack (a customer's images). `other_account`: the functions may
        read it only if their role's policies and its bucket policy both allow them, as for a
        bucket of another account."""
        self.client("s3").create_bucket(Bucket=name)
        if other_account:
            self.s3_gate.treat_as_foreign(name)

    @property
    def denials(self) -> list[Denial]:
        """The S3 requests of functions refused so far (IAM for S3, see localrun.iam)."""
        return list(self.s3_gate.denials)

    def put_objects(self, objects: dict[str, bytes], bucket: str | None = None) -> None:
        """Put objects (a sample job's images and output) into a bucket (the stack's)."""
        s3 = self.client("s3")
        for key, body in objects.items():
            s3.put_object(Bucket=bucket or self.bucket, Key=key, Body=body)

    # -- deployment --------------------------------------------------------------------------
    def _deploy(self) -> None:
        self._create_buckets()
        self._create_topics()
        self._create_queues()
        self._create_buses()
        self._create_tables()
        self._name_roles()
        self._name_state_machines()
        self._create_functions()
        self._create_state_machines()
        self._create_stack_record()

    def _create_stack_record(self) -> None:
        """The stack's outputs, readable as after `cdk deploy` (DescribeStacks): what tools such
        as `gt2yolo selftest --stack` read. The resources themselves were made above."""
        # moto creates no resource of this type (none is needed) and says so on every stack.
        warnings.filterwarnings("ignore", message="Tried to parse AWS::CloudFormation::Wait")
        outputs = self.resolver.resolve(self.template.get("Outputs", {}))
        record = {
            "Resources": {"Deployed": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": {name: {"Value": str(o["Value"])} for name, o in outputs.items()},
        }
        self.client("cloudformation").create_stack(
            StackName=self.stack_name, TemplateBody=json.dumps(record)
        )

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
        # moto enforces no role: functions need their ARNs (to pass a role, in bucket policies),
        # and the S3 gate their policies (see _identity).
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
        # moto keeps a record of each function; the code that runs is the sandbox's.
        placeholder = _zip_of("placeholder.py", "# runs in a sandbox: see localrun.sandbox\n")
        lambdas = resources_of(self.template, "AWS::Lambda::Function")
        for logical in lambdas:  # their ARNs first: one function's environment may name another
            name = f"local-{logical}"[:64]
            self.resolver.refs[logical] = name
            self.resolver.attributes[(logical, "Arn")] = (
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            )
        for logical, deployed in deployed_functions(
            self.assembly.directory, self.template, self.resolver
        ).items():
            env = deployed.environment | {
                k: v for k, v in self.env_overrides.items() if k in deployed.environment
            }
            function = replace(deployed, environment=env)
            name = str(self.resolver.refs[logical])
            props = lambdas[logical]["Properties"]
            arn = lam.create_function(
                FunctionName=name, Runtime=str(props["Runtime"]), Role=role,
                Handler=function.handler, Code={"ZipFile": placeholder},
                Environment={"Variables": env}, MemorySize=function.memory_mb,
                Timeout=function.timeout_s,
            )["FunctionArn"]  # fmt: skip
            self.functions[name] = {"handler": function.handler, "env": env, "arn": arn}
            # Its own access key: the S3 gate knows the function, and its role, by it.
            self.s3_gate.add_identity(name, self._identity(name, props["Role"]))
            self._pools[name] = FunctionPool(
                function, name, arn, self.sandbox_environment(name), self.work_dir
            )

    def _identity(self, function: str, role: Any) -> Identity:
        """The function's role and the statements of every policy attached to it."""
        [role_id, _] = role["Fn::GetAtt"]
        documents = [
            policy["Properties"]["PolicyDocument"]
            for policy in resources_of(self.template, "AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"].get("Roles", [])
        ]
        inline = self.template["Resources"][role_id]["Properties"].get("Policies", [])
        documents += [policy["PolicyDocument"] for policy in inline]
        # Keys and other resources the local cloud did not make resolve to placeholders: they
        # match no S3 resource.
        lenient = LenientResolver(self.resolver)
        statements = [
            lenient.resolve(statement)
            for document in documents
            for statement in _as_list(document["Statement"])
        ]
        role_arn = str(self.resolver.resolve(role))
        return Identity(function, role_arn, tuple(statements))

    def sandbox_environment(self, function: str) -> dict[str, str]:
        """What a sandbox gets besides the template's environment: its credentials (its own
        access key), region, the endpoint of this cloud."""
        credentials = FAKE_CREDENTIALS | {"AWS_ACCESS_KEY_ID": function}
        return credentials | SANDBOX_ENV | {"AWS_ENDPOINT_URL": self.endpoint}

    def cold_start(self, name: str) -> Sandbox:
        """A sandbox of the function whose init has run (`init_error`: Lambda's error, or None;
        `modules`: what its handler's import graph loaded, by folder)."""
        return self._pools[name].cold_start()

    def deployed(self, name: str) -> DeployedFunction:
        return self._pools[name].function

    def _close_sandboxes(self) -> None:
        for pool in self._pools.values():
            pool.close()

    def _name_state_machines(self) -> None:
        # Their ARNs before the functions': a function's environment may name a state machine
        # (the live sweep starts the conversion), and a state machine names its functions.
        for logical in resources_of(self.template, "AWS::StepFunctions::StateMachine"):
            name = f"local-{logical}"[:80]
            self.resolver.refs[logical] = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"

    def _create_state_machines(self) -> None:
        machines = resources_of(self.template, "AWS::StepFunctions::StateMachine")
        sfn = self.client("stepfunctions")
        for logical, resource in machines.items():
            definition = self.resolver.resolve(resource["Properties"]["DefinitionString"])
            parsed = json.loads(definition) if isinstance(definition, str) else definition
            arn = sfn.create_state_machine(
                name=f"local-{logical}"[:80], definition=json.dumps(parsed), roleArn=self._role()
            )["stateMachineArn"]
            if arn != self.resolver.refs[logical]:
                raise RuntimeError(f"state machine {logical} is {arn}, the functions were told "
                                   f"{self.resolver.refs[logical]}")  # fmt: skip
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

    # -- Lambda, as deployed ------------------------------------------------------------------
    @contextmanager
    def _sandboxed_lambdas(self) -> Iterator[None]:
        cloud = self

        def invoke(function: Any, event: str | None = None) -> tuple[str, bool, str]:
            return cloud._invoke(function.function_name, event)

        with mock.patch("moto.awslambda.models.LambdaFunction._invoke_lambda", invoke):
            yield

    def _invoke(
        self, name: str, event: str | bytes | dict[str, Any] | None
    ) -> tuple[str, bool, str]:
        """What moto's Lambda expects back: the payload, whether it is an error, the logs."""
        spec = self.functions[name]
        payload = event if isinstance(event, dict) else json.loads(event) if event else {}
        self.invocations.append((spec["handler"], payload))
        failure = self._failures.get(spec["handler"])
        if failure is not None:
            return json.dumps(failure), True, ""
        answer: Invocation = self._pools[name].invoke(payload)
        return json.dumps(answer.payload), answer.errored, ""

    def fail_function(self, handler: str, error_type: str, message: str) -> None:
        """From now on, invocations of the function with this handler fail with this error
        (Lambda's shape) without running: a bug or an outage inside the function, for tests of
        what the state machine does with a failed task."""
        if handler not in {spec["handler"] for spec in self.functions.values()}:
            raise KeyError(f"no function with handler {handler}")
        self._failures[handler] = {"errorType": error_type, "errorMessage": message}

    @contextmanager
    def _no_retry_sleep(self) -> Iterator[None]:
        # Retry intervals would really sleep (2 s, 4 s, ...): keep the Retry logic, skip the wait.
        target = "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl.time.sleep"
        with mock.patch(target, lambda _seconds: None):
            yield

    @contextmanager
    def _s3_events_delivered(self) -> Iterator[None]:
        from moto.s3 import notifications

        original = notifications.send_event
        cloud = self

        def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
            original(account_id, event_name, bucket, key)
            name = str(getattr(event_name, "value", event_name))  # a str Enum member
            if name.startswith("s3:ObjectCreated") and bucket.name == cloud.bucket:
                event = object_created_event(bucket.name, key.name, key.size)
                # Not on moto's request thread: the PUT answers first, as in AWS.
                threading.Thread(target=cloud.put_event_async, args=(event,), daemon=True).start()

        with mock.patch.object(notifications, "send_event", send_event):
            yield

    # -- EventBridge Scheduler, on demand ------------------------------------------------------
    def fire_schedules(self) -> list[dict[str, Any]]:
        """One tick of every schedule of the template: its target function invoked through
        moto's Lambda (so as deployed) with the schedule's input; their answers, in order."""
        answers = []
        for resource in resources_of(self.template, "AWS::Scheduler::Schedule").values():
            target = self.resolver.resolve(resource["Properties"]["Target"])
            event = json.loads(target.get("Input") or "{}")
            answers.append(self.invoke_function(str(target["Arn"]), event))
        return answers

    def invoke_function(self, arn: str, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke a function (by ARN) through moto's Lambda; its answer, or RuntimeError."""
        response = self.client("lambda").invoke(FunctionName=arn, Payload=json.dumps(event))
        answer: dict[str, Any] = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise RuntimeError(f"{arn} failed: {answer}")
        return answer

    # -- Ground Truth, simulated ---------------------------------------------------------------
    def expect_list_labeling_jobs(self, summaries: list[dict[str, Any]]) -> None:
        """Queue ListLabelingJobs' answer for jobs in progress (one page)."""
        self.sagemaker.expect(
            "ListLabelingJobs",
            {"LabelingJobSummaryList": summaries},
            {"StatusEquals": "InProgress"},
        )

    def expect_describe_labeling_job(self, response: dict[str, Any]) -> None:
        """Queue DescribeLabelingJob's answer (checked against the SageMaker model)."""
        self.sagemaker.expect(
            "DescribeLabelingJob", response, {"LabelingJobName": response["LabelingJobName"]}
        )

    def expect_create_labeling_job(self, job_name: str) -> None:
        """Queue CreateLabelingJob's answer. The request the function sends is kept in
        `labeling_job_requests` (its botocore validated it against the model before sending)."""
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job_name}"
        self.sagemaker.expect("CreateLabelingJob", {"LabelingJobArn": arn}, None)

    @property
    def pending_sagemaker_answers(self) -> int:
        return self.sagemaker.pending

    @property
    def sagemaker_calls(self) -> list[str]:
        """The SageMaker operations the functions called, in order."""
        return list(self.sagemaker.calls)

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
        run the conversion state machine to its end if a rule leads there."""
        started = self.put_event_async(event)
        return None if started is None else self.wait(started, timeout)

    def put_event_async(self, event: dict[str, Any]) -> str | None:
        """Deliver an event without waiting for the execution it starts (its ARN, if any)."""
        reached = self.route(event)
        for arn in reached:
            if arn in self.queue_urls:
                self.client("sqs").send_message(
                    QueueUrl=self.queue_urls[arn], MessageBody=json.dumps(event)
                )
        if self.state_machine_arn not in reached:
            return None
        return self._start(event, self.state_machine_arn)

    def _start(self, state_input: dict[str, Any], state_machine_arn: str) -> str:
        return str(
            self.client("stepfunctions").start_execution(
                stateMachineArn=state_machine_arn,
                input=json.dumps(state_input),
                name=uuid.uuid4().hex,
            )["executionArn"]
        )

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
        arn = self._start(state_input, state_machine_arn or self.state_machine_arn)
        return self.wait(arn, timeout)

    def wait(self, arn: str, timeout: float = EXECUTION_TIMEOUT) -> Execution:
        """Wait for an execution to end; what it did."""
        sfn = self.client("stepfunctions")
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

    def dataset(self, prefix: str, version: str | None = None) -> dict[str, bytes]:
        """A published dataset's files by dataset key: its current version (or `version`)."""
        return version_files(self.client("s3"), self.bucket, prefix, version)

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


class _GatedMotoServer:
    """moto's HTTP server on loopback (as `moto.server.ThreadedMotoServer`), with the S3 gate in
    front of moto's application."""

    def __init__(self, gate: S3Gate) -> None:
        self._gate = gate
        self._ready = threading.Event()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def _serve(self) -> None:
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        self._server = make_server(
            "127.0.0.1", 0, self._gate, threaded=True, request_handler=MotoRequestHandler
        )
        self._ready.set()
        self._server.serve_forever()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self._ready.wait()

    def get_host_and_port(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()


def _moto_app() -> Any:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def _moto_bucket_policy(bucket: str) -> dict[str, Any] | None:
    """A bucket's policy as moto keeps it (what PutBucketPolicy stored)."""
    from moto.s3.models import s3_backends

    return parse_policy(s3_backends[ACCOUNT]["aws"].get_bucket_policy(bucket))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _zip_of(name: str, text: str) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(name, text)
    return archive.getvalue()


class _SageMakerAnswers:
    """SageMaker's answers to the functions, queued by the test (moto has no labeling jobs).

    Served by moto's own SageMaker endpoint: the sandboxed function's botocore validates and
    sends the request as it would to AWS; the queued answer is validated against the API
    model's output shape before it is returned, as botocore's Stubber does.
    """

    OPERATIONS: ClassVar[dict[str, str]] = {
        "DescribeLabelingJob": "describe_labeling_job",
        "ListLabelingJobs": "list_labeling_jobs",
        "CreateLabelingJob": "create_labeling_job",
    }

    def __init__(self, requests: list[dict[str, Any]]) -> None:
        self._queue: queue.Queue[tuple[str, dict[str, Any], dict[str, Any] | None]] = queue.Queue()
        self._requests = requests
        self.calls: list[str] = []
        self._model = botocore.session.get_session().get_service_model("sagemaker")

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def expect(
        self, operation: str, response: dict[str, Any], expected: dict[str, Any] | None
    ) -> None:
        validate_parameters(response, self._model.operation_model(operation).output_shape)
        self._queue.put((operation, response, expected))

    @contextmanager
    def patched(self) -> Iterator[None]:
        from moto.sagemaker.responses import SageMakerResponse

        with ExitStack() as stack:
            for operation, method in self.OPERATIONS.items():
                stack.enter_context(
                    mock.patch.object(
                        SageMakerResponse, method, self._answer(operation), create=True
                    )
                )
            yield

    def _answer(self, operation: str) -> Callable[[Any], str]:
        answers = self

        def answer(response_self: Any) -> str:
            from moto.core.exceptions import JsonRESTError

            request = json.loads(response_self.body or "{}")
            answers.calls.append(operation)
            try:
                queued, response, expected = answers._queue.get_nowait()
            except queue.Empty:
                raise JsonRESTError("ValidationException", f"unexpected {operation}") from None
            if queued != operation:
                raise JsonRESTError("ValidationException", f"{operation}, expected {queued}")
            for name, value in (expected or {}).items():
                if request.get(name) != value:
                    raise JsonRESTError("ValidationException", f"{name}={request.get(name)!r}")
            if operation == "CreateLabelingJob":
                answers._requests.append(request)
            return json.dumps(response, default=_epoch)

        return answer


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not JSON serializable: {value!r}")
