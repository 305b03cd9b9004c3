"""Reading a synthesized CloudFormation template: resources by type, intrinsic functions resolved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PSEUDO = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": None}


class Resolver:
    """Resolves Ref / Fn::GetAtt / Fn::Join / Fn::Select / Fn::Split / Fn::FindInMap against
    emulator resources and the template's Mappings."""

    def __init__(
        self, region: str, account: str, mappings: Mapping[str, Any] | None = None
    ) -> None:
        self.refs: dict[str, Any] = {
            **PSEUDO, "AWS::Region": region, "AWS::AccountId": account, "AWS::StackName": "local",
        }  # fmt: skip
        self.attributes: dict[tuple[str, str], Any] = {}
        self.mappings: Mapping[str, Any] = mappings or {}

    def _find_in_map(self, argument: list[Any]) -> Any:
        name, key, attribute = (str(self.resolve(part)) for part in argument)
        try:
            return self.mappings[name][key][attribute]
        except KeyError:
            raise KeyError(f"the template's mapping {name} has no {key}.{attribute}") from None

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            function = _FUNCTIONS.get(name)
            if function is not None:
                return function(self, argument)
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> Any:
        if name not in self.refs:
            raise KeyError(f"template refers to {name}, which the local cloud did not create")
        return self.refs[name]

    def _get_att(self, argument: list[str] | str) -> Any:
        logical, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        key = (logical, attribute)
        if key not in self.attributes:
            raise KeyError(f"template needs {logical}.{attribute}, not created locally")
        return self.attributes[key]


class LenientResolver(Resolver):
    """Resolves what the local cloud made, and anything else to a placeholder (`<Key.Arn>`):
    for reading policies whose statements also name resources that are not emulated (keys)."""

    def __init__(self, base: Resolver) -> None:
        self.refs = base.refs
        self.attributes = base.attributes
        self.mappings = base.mappings

    def _ref(self, name: str) -> Any:
        return self.refs.get(name, f"<{name}>")

    def _get_att(self, argument: list[str] | str) -> Any:
        logical, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        return self.attributes.get((logical, attribute), f"<{logical}.{attribute}>")


_FUNCTIONS: dict[str, Any] = {
    "Ref": lambda r, a: r._ref(a),
    "Fn::GetAtt": lambda r, a: r._get_att(a),
    "Fn::Join": lambda r, a: a[0].join(str(r.resolve(p)) for p in a[1]),
    "Fn::Select": lambda r, a: r.resolve(a[1])[int(a[0])],
    "Fn::Split": lambda r, a: str(r.resolve(a[1])).split(a[0]),
    "Fn::FindInMap": lambda r, a: r._find_in_map(a),
}


def resources_of(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical: resource
        for logical, resource in template.get("Resources", {}).items()
        if resource.get("Type") == kind
    }
