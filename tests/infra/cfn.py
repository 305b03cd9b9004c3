"""Reading a synthesized CloudFormation template: intrinsic functions, resources, IAM statements."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from aws_cdk import assertions

STACK_GUID = "51af3dc0-da77-11e4-872e-1234567db123"
# Values for the pseudo parameters of an environment-agnostic stack (those of the sample events).
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "111122223333",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackId": f"arn:aws:cloudformation:us-east-1:111122223333:stack/Gt2Yolo/{STACK_GUID}",
}
POLICY_DOCUMENTS = {
    "AWS::IAM::Policy": "PolicyDocument",
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
}


def render(value: Any, refs: Mapping[str, str] | None = None) -> Any:
    """Resolve the intrinsic functions CDK emits (Ref, Fn::GetAtt, Fn::Join, Fn::Select,
    Fn::Split). Pseudo parameters become PSEUDO_PARAMETERS; other references `refs[name]` when
    given, else `<LogicalId>` / `<LogicalId.Attribute>` (the notation of cdk-nag findings)."""
    refs = refs or {}
    if isinstance(value, list):
        return [render(item, refs) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        [(name, argument)] = value.items()
        if name in _INTRINSICS:
            return _INTRINSICS[name](argument, refs)
    return {key: render(item, refs) for key, item in value.items()}


def _ref(name: str, refs: Mapping[str, str]) -> str:
    return refs.get(name, PSEUDO_PARAMETERS.get(name, f"<{name}>"))


def _get_att(argument: list[str], refs: Mapping[str, str]) -> str:
    resource, attribute = argument
    key = f"{resource}.{attribute}"
    return refs.get(key, f"<{key}>")


def _join(argument: list[Any], refs: Mapping[str, str]) -> str:
    separator, parts = argument
    return str(separator).join(str(render(part, refs)) for part in parts)


def _select(argument: list[Any], refs: Mapping[str, str]) -> Any:
    index, items = argument
    return render(items, refs)[int(index)]


def _split(argument: list[Any], refs: Mapping[str, str]) -> list[str]:
    separator, text = argument
    return str(render(text, refs)).split(separator)


_INTRINSICS: dict[str, Callable[[Any, Mapping[str, str]], Any]] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
}


def resources(template: assertions.Template, resource_type: str) -> Mapping[str, Any]:
    """Logical ID -> resource, for every resource of `resource_type`."""
    return template.find_resources(resource_type)


def only(template: assertions.Template, resource_type: str, **properties: Any) -> str:
    """The logical ID of the one resource of `resource_type` having `properties`."""
    found = template.find_resources(
        resource_type, {"Properties": properties} if properties else None
    )
    assert len(found) == 1, f"{len(found)} {resource_type} match {properties}: {list(found)}"
    return next(iter(found))


def only_in(
    template: assertions.Template, construct: str, resource_type: str, **properties: Any
) -> str:
    """The logical ID of the one resource of `resource_type` having `properties` that the stack's
    construct `construct` (e.g. "ConversionWorkflow", "Intake") made: CDK starts the logical ID of
    a resource with the IDs of the constructs it is in."""
    found = [
        logical_id
        for logical_id in template.find_resources(
            resource_type, {"Properties": properties} if properties else None
        )
        if logical_id.startswith(construct)
    ]
    assert len(found) == 1, f"{len(found)} {resource_type} of {construct} match {properties}"
    return found[0]


def conversion_state_machine(template: assertions.Template) -> str:
    """The ConversionWorkflow's state machine (the intake has one too: StartLabelingJob)."""
    return only_in(template, "ConversionWorkflow", "AWS::StepFunctions::StateMachine")


def properties(template: assertions.Template, logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = template.to_json()["Resources"][logical_id]["Properties"]
    return props


def function_id(template: assertions.Template, handler: str) -> str:
    return only(template, "AWS::Lambda::Function", Handler=handler)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(template: assertions.Template) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical ID of the policy holder, statement) for every statement of every policy,
    identity-based and resource-based, inline role policies included."""
    for resource_type, document_key in POLICY_DOCUMENTS.items():
        for logical_id, resource in resources(template, resource_type).items():
            yield from _document_statements(logical_id, resource["Properties"][document_key])
    for logical_id, role in resources(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            yield from _document_statements(logical_id, policy["PolicyDocument"])


def _document_statements(
    logical_id: str, document: dict[str, Any]
) -> Iterator[tuple[str, dict[str, Any]]]:
    for statement in as_list(document["Statement"]):
        yield logical_id, statement


def role_statements(template: assertions.Template, role_id: str) -> Iterator[dict[str, Any]]:
    """Every statement of the policies attached to the role."""
    for _, policy in resources(template, "AWS::IAM::Policy").items():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            yield from as_list(policy["Properties"]["PolicyDocument"]["Statement"])


def role_permissions(template: assertions.Template, role_id: str) -> dict[str, set[str]]:
    """Action -> rendered resources, over every Allow statement of the role's policies."""
    permissions: dict[str, set[str]] = defaultdict(set)
    for statement in role_statements(template, role_id):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            permissions[action].update(render(as_list(statement["Resource"])))
    return dict(permissions)


def via_service(statement: Mapping[str, Any]) -> str | None:
    """The rendered `kms:ViaService` condition of a statement, if it has one."""
    via = statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
    return None if via is None else str(render(via))


def function_role_id(template: assertions.Template, handler: str) -> str:
    role = properties(template, function_id(template, handler))["Role"]
    role_id: str = role["Fn::GetAtt"][0]
    return role_id


def state_machine_definition(template: assertions.Template) -> dict[str, Any]:
    state_machine = conversion_state_machine(template)
    definition: dict[str, Any] = json.loads(
        render(properties(template, state_machine)["DefinitionString"])
    )
    return definition


def event_pattern(
    template: assertions.Template, rule_name: str, refs: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The EventPattern of the rule whose construct ID is `rule_name`, references rendered."""
    rule_id = rule_logical_id(template, rule_name)
    pattern: dict[str, Any] = render(properties(template, rule_id)["EventPattern"], refs)
    return pattern


def rule_logical_id(template: assertions.Template, rule_name: str) -> str:
    matching = [
        logical_id
        for logical_id in resources(template, "AWS::Events::Rule")
        if logical_id.startswith(f"Triggers{rule_name}")
    ]
    assert len(matching) == 1, f"rules named {rule_name}: {matching}"
    return matching[0]


def workflow_routes(
    template: assertions.Template, event: dict[str, Any], refs: Mapping[str, str]
) -> list[list[str]]:
    """How `event`, put on the default bus, reaches the state machine: one list of rule logical
    IDs per route (empty: the workflow does not start). Follows rules whose target is another
    bus of the stack (ManifestObjectCreated -> ManifestDrops bus -> ManifestDropped), matching
    patterns with moto's EventBridge matcher."""
    from moto.events.models import EventPattern

    state_machine = conversion_state_machine(template)
    rules = resources(template, "AWS::Events::Rule")
    buses = resources(template, "AWS::Events::EventBus")

    def deliver(bus: str | None, route: list[str]) -> list[list[str]]:
        routes: list[list[str]] = []
        for rule_id, rule in rules.items():
            props = rule["Properties"]
            on_bus = props["EventBusName"]["Ref"] if "EventBusName" in props else None
            pattern = render(props["EventPattern"], refs)
            matcher = EventPattern.load(json.dumps(pattern))
            if on_bus != bus or not matcher.matches_event(cast(Any, event)):
                continue
            for target in props["Targets"]:
                arn = target["Arn"]
                if arn == {"Ref": state_machine}:
                    routes.append([*route, rule_id])
                elif bus is None and arn.get("Fn::GetAtt", [None])[0] in buses:
                    # Bus to bus; EventBridge never forwards a forwarded event again.
                    routes.extend(deliver(arn["Fn::GetAtt"][0], [*route, rule_id]))
        return routes

    return deliver(None, [])
