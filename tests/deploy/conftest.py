"""The default deploy shape, synthesized once per test process, and its functions as deployed."""

from __future__ import annotations

import pytest

from localrun.deployed import DeployedFunction, deployed_functions
from localrun.synth import Assembly, synthesize
from localrun.template import LenientResolver, Resolver


@pytest.fixture(scope="session")
def default_assembly() -> Assembly:
    return synthesize()


@pytest.fixture(scope="session")
def deployed_by_handler(default_assembly: Assembly) -> dict[str, DeployedFunction]:
    """Each function of the default template (handler -> how Lambda loads it), no cloud started:
    references that only a deployment would give are left as placeholders."""
    resolver = LenientResolver(Resolver("us-east-1", "123456789012"))
    found = deployed_functions(default_assembly.directory, default_assembly.template, resolver)
    return {function.handler: function for function in found.values()}
