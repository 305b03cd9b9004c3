"""Synthesize the stack in-process (no CDK CLI, no AWS, no Docker) into a cloud assembly.

The assembly is what `cdk synth` writes to `cdk.out`: the template and one folder per asset
(the Lambda code, the layers). The local cloud loads each function from it, as AWS will.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.app_factory import STACK_NAME, build_app

# Code assets are zipped from lambdas/ as-is; skipping bundling keeps synth offline and fast.
LOCAL_CONTEXT: dict[str, Any] = {"aws:cdk:bundling-stacks": []}
ASSEMBLIES = Path(__file__).resolve().parents[1] / "build" / "cdk.out"


@dataclass(frozen=True)
class Assembly:
    """A synthesized cloud assembly: its folder and the stack's template."""

    directory: Path
    template: dict[str, Any]


def synthesize(context: dict[str, Any] | None = None) -> Assembly:
    """A fresh assembly for `context` (on top of cdk.json's), removed when this process exits."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    ASSEMBLIES.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="assembly-", dir=ASSEMBLIES))
    atexit.register(shutil.rmtree, directory, True)
    app, _stack = build_app(
        context={**LOCAL_CONTEXT, **(context or {})}, with_nag=False, outdir=str(directory)
    )
    app.synth()
    template = json.loads((directory / f"{STACK_NAME}.template.json").read_text("utf-8"))
    return Assembly(directory, template)


def synthesized_template(context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Only the template (tests that read it and run nothing)."""
    return synthesize(context).template
