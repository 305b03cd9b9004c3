"""Deploying a synthesized template onto moto: what `cdk deploy` would create, made by hand.

Buckets, topics, queues, buses, tables, roles, functions and state machines of the template are
created in moto under local names, and every name or ARN the template refers to is recorded in
one `Resolver`, so that a function's environment, a rule's target or a state machine's
definition resolve to what exists here. The functions' code is not moto's concern: it runs in
sandboxes (`localrun.runtime`); moto only keeps a record of each.
"""

from __future__ import annotations

import io
import json
import uuid
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from typing import Any

from localrun.account import ACCOUNT, REGION
from localrun.deployed import DeployedFunction, deployed_functions
from localrun.emulator import Endpoint
from localrun.iam import Identity
from localrun.synth import Assembly
from localrun.template import LenientResolver, Resolver, resources_of
from stacks.app_factory import STACK_NAME


@dataclass(frozen=True)
class LocalFunction:
    """A function as deployed here: its handler, its environment (overrides applied), its ARN,
    what the runtime loads, and the role the S3 gate authorizes its requests by."""

    handler: str
    env: dict[str, str]
    arn: str
    deployed: DeployedFunction
    identity: Identity


@dataclass
class Deployment:
    """What deploying the template made, and where to find it."""

    resolver: Resolver
    stack_name: str = STACK_NAME
    functions: dict[str, LocalFunction] = field(default_factory=dict)  # by function name
    queue_urls: dict[str, str] = field(default_factory=dict)  # queue ARN -> URL
    buses: dict[str, str] = field(default_factory=dict)  # bus ARN -> bus name
    state_machines: dict[str, str] = field(default_factory=dict)  # logical ID -> ARN
    inbox_url: str = ""  # a queue subscribed to every topic: what was notified
    state_machine_arn: str = ""  # the conversion workflow
    definition: dict[str, Any] = field(default_factory=dict)  # the conversion workflow's ASL
    # Roles a service assumes to act in the account (SageMaker training jobs), by role ARN.
    service_roles: dict[str, Identity] = field(default_factory=dict)

    @property
    def start_labeling_job_arn(self) -> str:
        """The StartLabelingJob state machine (deployed with the intake)."""
        [arn] = [a for logical, a in self.state_machines.items() if logical.startswith("Intake")]
        return arn

    @property
    def backfill_arn(self) -> str:
        """The Backfill state machine (`gt2yolo backfill` starts it)."""
        [arn] = [a for logical, a in self.state_machines.items() if logical.startswith("Backfill")]
        return arn

    @property
    def bucket(self) -> str:
        """The stack's bucket: the one every function is told (BUCKET_NAME)."""
        names = {function.env.get("BUCKET_NAME") for function in self.functions.values()}
        names.discard(None)
        if len(names) != 1:
            raise RuntimeError(f"functions disagree on BUCKET_NAME: {names}")
        return str(names.pop())


def deploy(
    assembly: Assembly, endpoint: Endpoint, env_overrides: dict[str, str] | None = None
) -> Deployment:
    """Create the template's resources in moto. `env_overrides`: values for environment
    variables the functions already have (e.g. a small FAN_OUT_BYTES)."""
    return _Deployer(assembly, endpoint, dict(env_overrides or {})).run()


SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"


class _Deployer:
    """One deployment's steps, in an order where each resource's name is known before the
    first resource that refers to it is made."""

    def __init__(self, assembly: Assembly, endpoint: Endpoint, overrides: dict[str, str]) -> None:
        self.assembly = assembly
        self.template = assembly.template
        self.client = endpoint.client
        self.overrides = overrides
        self.resolver = Resolver(REGION, ACCOUNT, self.template.get("Mappings"))
        self.result = Deployment(self.resolver)

    def run(self) -> Deployment:
        self._create_buckets()
        self._create_topics()
        self._create_queues()
        self._create_buses()
        self._create_tables()
        self._name_roles()
        self._name_state_machines()
        self._create_functions()
        self._name_service_roles()
        self._create_state_machines()
        self._create_stack_record()
        return self.result

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
            StackName=self.result.stack_name, TemplateBody=json.dumps(record)
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
        inbox_url = sqs.create_queue(QueueName="local-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        for logical in resources_of(self.template, "AWS::SNS::Topic"):
            sns.subscribe(TopicArn=self.resolver.refs[logical], Protocol="sqs", Endpoint=inbox_arn)
        self.result.inbox_url = inbox_url

    def _create_queues(self) -> None:
        sqs = self.client("sqs")
        for logical in resources_of(self.template, "AWS::SQS::Queue"):
            url = sqs.create_queue(QueueName=f"local-{logical}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.resolver.refs[logical] = url
            self.resolver.attributes[(logical, "Arn")] = arn
            self.resolver.attributes[(logical, "QueueName")] = f"local-{logical}"
            self.result.queue_urls[arn] = url

    def _create_buses(self) -> None:
        for logical, resource in resources_of(self.template, "AWS::Events::EventBus").items():
            name = str(resource["Properties"]["Name"])
            arn = self.client("events").create_event_bus(Name=name)["EventBusArn"]
            self.resolver.refs[logical] = name
            self.resolver.attributes[(logical, "Arn")] = arn
            self.resolver.attributes[(logical, "Name")] = name
            self.result.buses[arn] = name

    def _role(self) -> str:
        iam = self.client("iam")
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]}}]}  # fmt: skip
        return str(iam.create_role(RoleName=f"local-{uuid.uuid4().hex[:8]}",
                   AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])  # fmt: skip

    def _create_functions(self) -> None:
        lambdas = resources_of(self.template, "AWS::Lambda::Function")
        for logical in lambdas:  # their ARNs first: one function's environment may name another
            name = f"local-{logical}"[:64]
            self.resolver.refs[logical] = name
            self.resolver.attributes[(logical, "Arn")] = (
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            )
        role = self._role()
        for logical, deployed in deployed_functions(
            self.assembly.directory, self.template, self.resolver
        ).items():
            name = str(self.resolver.refs[logical])
            self.result.functions[name] = self._create_function(
                name, deployed, lambdas[logical]["Properties"], role
            )

    def _create_function(
        self, name: str, deployed: DeployedFunction, props: dict[str, Any], role: str
    ) -> LocalFunction:
        env = deployed.environment | {
            k: v for k, v in self.overrides.items() if k in deployed.environment
        }
        function = replace(deployed, environment=env)
        arn = self.client("lambda").create_function(
            FunctionName=name, Runtime=str(props["Runtime"]), Role=role,
            Handler=function.handler, Code={"ZipFile": _PLACEHOLDER},
            Environment={"Variables": env}, MemorySize=function.memory_mb,
            Timeout=function.timeout_s,
        )["FunctionArn"]  # fmt: skip
        return LocalFunction(
            function.handler, env, arn, function, self._identity(name, props["Role"])
        )

    def _name_service_roles(self) -> None:
        """The roles SageMaker may assume (a training job's execution role), with their policies:
        the local training jobs sign their S3 requests as them."""
        for logical, resource in resources_of(self.template, "AWS::IAM::Role").items():
            trust = resource["Properties"].get("AssumeRolePolicyDocument", {})
            services = [
                statement.get("Principal", {}).get("Service")
                for statement in _as_list(trust.get("Statement", []))
            ]
            if SAGEMAKER_PRINCIPAL in services:
                identity = self._identity(f"role:{logical}", {"Fn::GetAtt": [logical, "Arn"]})
                self.result.service_roles[identity.role_arn] = identity

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
            self.result.state_machines[logical] = arn
            if logical.startswith("ConversionWorkflow"):
                self.result.definition = parsed
                self.result.state_machine_arn = arn
        if not self.result.state_machine_arn:
            raise RuntimeError(f"no conversion state machine among {list(machines)}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _zip_of(name: str, text: str) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(name, text)
    return archive.getvalue()


# moto keeps a record of each function; the code that runs is the sandbox's.
_PLACEHOLDER = _zip_of("placeholder.py", "# runs in a sandbox: see localrun.runtime\n")
