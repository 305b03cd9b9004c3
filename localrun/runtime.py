"""Lambda, as deployed: moto's Lambda hands every invocation to the function's own sandboxes.

moto keeps a record of each function (its name, ARN, environment); the code that runs is the
function's as AWS loads it (`localrun.deployed`), in warm sandbox processes (`localrun.sandbox`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from localrun.account import FAKE_CREDENTIALS
from localrun.deployed import DeployedFunction
from localrun.sandbox import FunctionPool, Invocation, Sandbox

# What every sandbox gets besides the template's environment: there is no X-Ray daemon here.
SANDBOX_ENV = {"POWERTOOLS_TRACE_DISABLED": "true"}

# What moto's Lambda expects back from an invocation: the payload, whether it is an error, logs.
Answer = tuple[str, bool, str]


class FunctionRuntime:
    """The sandboxes of every function, by function name, and the invocations they served."""

    def __init__(self, endpoint: str, work_dir: Path) -> None:
        self._endpoint = endpoint
        self._work_dir = work_dir
        self._pools: dict[str, FunctionPool] = {}
        self._failures: dict[str, dict[str, str]] = {}  # handler -> the error it returns
        self.invocations: list[tuple[str, dict[str, Any]]] = []  # (handler, event), in order

    def add(self, name: str, function: DeployedFunction, arn: str) -> None:
        self._pools[name] = FunctionPool(
            function, name, arn, self.sandbox_environment(name), self._work_dir
        )

    def sandbox_environment(self, function: str) -> dict[str, str]:
        """What a sandbox gets besides the template's environment: its credentials (its own
        access key, by which the S3 gate knows it), region, the endpoint of this cloud."""
        credentials = FAKE_CREDENTIALS | {"AWS_ACCESS_KEY_ID": function}
        return credentials | SANDBOX_ENV | {"AWS_ENDPOINT_URL": self._endpoint}

    @contextmanager
    def serving_moto(self) -> Iterator[None]:
        """moto's Lambda invokes through these sandboxes while the context lasts."""

        def invoke(function: Any, event: str | None = None) -> Answer:
            return self.invoke(function.function_name, event)

        with mock.patch("moto.awslambda.models.LambdaFunction._invoke_lambda", invoke):
            yield

    def invoke(self, name: str, event: str | bytes | dict[str, Any] | None) -> Answer:
        """Run one invocation of the function in one of its sandboxes."""
        pool = self._pools[name]
        handler = pool.function.handler
        payload = event if isinstance(event, dict) else json.loads(event) if event else {}
        self.invocations.append((handler, payload))
        failure = self._failures.get(handler)
        if failure is not None:
            return json.dumps(failure), True, ""
        answer: Invocation = pool.invoke(payload)
        return json.dumps(answer.payload), answer.errored, ""

    def fail_function(self, handler: str, error_type: str, message: str) -> None:
        """From now on, invocations of the function with this handler fail with this error
        (Lambda's shape) without running: a bug or an outage inside the function, for tests of
        what the state machine does with a failed task."""
        if handler not in {pool.function.handler for pool in self._pools.values()}:
            raise KeyError(f"no function with handler {handler}")
        self._failures[handler] = {"errorType": error_type, "errorMessage": message}

    def cold_start(self, name: str) -> Sandbox:
        """A sandbox of the function whose init has run (`init_error`: Lambda's error, or None;
        `modules`: what its handler's import graph loaded, by folder)."""
        return self._pools[name].cold_start()

    def deployed(self, name: str) -> DeployedFunction:
        return self._pools[name].function

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
