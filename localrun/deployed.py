"""A Lambda function as AWS will load it, read from a synthesized cloud assembly.

For each function of the template: its handler string, its environment, its timeout and memory,
and the import path Lambda gives it: the function's code asset (`cdk.out/asset.<hash>`), then
each of its layers' `python/` folder in the template's order, then the runtime's SDK. Nothing of
the development environment is on it.

Two kinds of layer cannot be used as they are on this machine, and get stand-ins that
`make runtime` installs under `build/lambda-runtime/`:

- the AWS-managed Powertools layer (an ARN; its content is not in the assembly): the stand-in
  holds the same Powertools version, with the extras the layer bundles;
- a layer we build for Lambda's arm64 (native wheels that cannot load on x86_64: the Report
  function's Pillow, the converters' OpenCV with numpy): the stand-in holds exactly the same
  packages at the same versions, built for this machine. Which packages a function can see is
  what is checked, so the package sets must be equal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email.parser import Parser
from functools import cache
from pathlib import Path
from typing import Any

from packaging.tags import parse_tag, sys_tags
from packaging.utils import canonicalize_name

from localrun.template import Resolver, resources_of
from stacks.constructs.functions import LAMBDA_RUNTIME, POWERTOOLS_LAYER_CONTENTS

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNTIME_DIR = REPO_ROOT / "build" / "lambda-runtime"
# What the python3.14 runtime itself puts on the path (/var/runtime): boto3 and its dependencies.
RUNTIME_SDK = RUNTIME_DIR / "runtime"
STAND_INS = RUNTIME_DIR / "layers"
RUNTIME_NAME = LAMBDA_RUNTIME.name
_MANAGED_POWERTOOLS = re.compile(
    r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:017000801446:layer:AWSLambdaPowertoolsPythonV3-"
    r"(?P<python>python3\d+)-(?P<arch>arm64|x86_64):(?P<version>\d+)$"
)


class NotDeployable(RuntimeError):
    """The template asks for something the local cloud cannot load as AWS would."""


@dataclass(frozen=True)
class DeployedFunction:
    logical_id: str
    handler: str
    path: tuple[Path, ...]  # the import path, in Lambda's order
    environment: dict[str, str]
    timeout_s: int
    memory_mb: int
    layers: tuple[str, ...]  # what each layer is, for messages: "asset.<hash>", an ARN, ...


Distributions = frozenset[tuple[str, str]]


def deployed_functions(
    assembly: Path, template: dict[str, Any], resolver: Resolver
) -> dict[str, DeployedFunction]:
    """Every function of the template whose code is one of our assets (CDK's own helper
    functions, e.g. log retention or bucket auto-delete, are skipped)."""
    assets = _asset_folders(assembly)
    functions = {}
    for logical, resource in resources_of(template, "AWS::Lambda::Function").items():
        props = resource["Properties"]
        code = _asset_of(props.get("Code", {}), assets)
        if code is None or not props.get("Handler"):
            continue
        layer_paths, layer_names = [], []
        for layer in props.get("Layers", []):
            folder, name = _layer_folder(layer, template, assets, resolver)
            layer_paths.append(folder)
            layer_names.append(name)
        functions[logical] = DeployedFunction(
            logical_id=logical,
            handler=str(props["Handler"]),
            path=(code, *layer_paths, RUNTIME_SDK),
            environment={
                str(k): str(v)
                for k, v in resolver.resolve(
                    props.get("Environment", {}).get("Variables", {})
                ).items()
            },
            timeout_s=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            layers=tuple(layer_names),
        )
    return functions


def _asset_folders(assembly: Path) -> dict[str, Path]:
    """Object key of each zipped folder asset (`<hash>.zip`) -> its folder in the assembly."""
    folders: dict[str, Path] = {}
    for manifest in assembly.glob("*.assets.json"):
        files = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
        for entry in files.values():
            source = entry.get("source", {})
            if source.get("packaging") != "zip":
                continue
            for destination in entry.get("destinations", {}).values():
                folders[destination["objectKey"]] = assembly / source["path"]
    return folders


def _asset_of(code: dict[str, Any], assets: dict[str, Path]) -> Path | None:
    key = code.get("S3Key")
    return assets.get(key) if isinstance(key, str) else None


def _layer_folder(
    layer: Any, template: dict[str, Any], assets: dict[str, Path], resolver: Resolver
) -> tuple[Path, str]:
    if isinstance(layer, dict) and set(layer) == {"Ref"}:
        resource = template["Resources"].get(layer["Ref"], {})
        if resource.get("Type") == "AWS::Lambda::LayerVersion":
            folder = _asset_of(resource["Properties"].get("Content", {}), assets)
            if folder is None:
                raise NotDeployable(f"layer {layer['Ref']} has no asset in the assembly")
            return usable_layer(folder / "python"), f"{layer['Ref']} ({folder.name})"
    arn = str(resolver.resolve(layer))
    return managed_layer(arn), arn


def managed_layer(arn: str) -> Path:
    """The stand-in of an AWS-managed layer: only the Powertools layer versions we know."""
    match = _MANAGED_POWERTOOLS.match(arn)
    if match is None:
        raise NotDeployable(f"no local stand-in for the layer {arn}")
    if match["python"] != RUNTIME_NAME.replace(".", ""):
        raise NotDeployable(f"layer {arn} is built for {match['python']}, not {RUNTIME_NAME}")
    version = int(match["version"])
    powertools = POWERTOOLS_LAYER_CONTENTS.get(version)
    if powertools is None:
        raise NotDeployable(
            f"Powertools layer version {version}: which Powertools release it holds is not "
            f"recorded (stacks/constructs/functions.py POWERTOOLS_LAYER_CONTENTS)"
        )
    for folder in _stand_ins():
        if ("aws-lambda-powertools", powertools) in distributions(folder):
            return folder
    raise NotDeployable(
        f"no stand-in holds aws-lambda-powertools {powertools} (layer version {version}): "
        "run `make runtime`"
    )


def usable_layer(folder: Path) -> Path:
    """The layer's own folder if every package in it loads here, else its stand-in."""
    if all(_loads_here(wheel) for wheel in folder.glob("*.dist-info/WHEEL")):
        return folder
    wanted = distributions(folder)
    for stand_in in _stand_ins():
        if distributions(stand_in) == wanted:
            return stand_in
    listed = ", ".join(f"{name} {version}" for name, version in sorted(wanted))
    raise NotDeployable(
        f"the layer {folder.parent.name} holds packages built for another platform ({listed}) "
        f"and no stand-in under {STAND_INS} holds exactly those: run `make runtime`"
    )


def _stand_ins() -> list[Path]:
    return sorted(STAND_INS.glob("*/python"))


@cache
def distributions(folder: Path) -> Distributions:
    """(normalized name, version) of each package installed in a folder."""
    found = set()
    for metadata in folder.glob("*.dist-info/METADATA"):
        fields = Parser().parsestr(metadata.read_text(encoding="utf-8"), headersonly=True)
        found.add((canonicalize_name(fields["Name"]), fields["Version"]))
    return frozenset(found)


def _loads_here(wheel: Path) -> bool:
    supported = set(sys_tags())
    tags = Parser().parsestr(wheel.read_text(encoding="utf-8"), headersonly=True).get_all("Tag")
    return any(tag in supported for line in tags or [] for tag in parse_tag(line))
