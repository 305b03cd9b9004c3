"""Step Functions' StartExecution past its rate, on demand (moto never throttles).

AWS refills StartExecution tokens at a fixed rate per account and region; a backfill of many
jobs, or another tool starting executions, meets `ThrottlingException`. Here every n-th
StartExecution of a chosen state machine is refused so, before moto sees it; the others reach
moto's own endpoint. What was started, by name, is counted too (a name started twice would be
a job converted twice).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock


class StartExecutionThrottle:
    def __init__(self) -> None:
        self._every: dict[str, int] = {}  # state machine ARN -> n
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self.throttled: dict[str, int] = {}  # state machine ARN -> refusals
        self.accepted: dict[str, list[str]] = {}  # state machine ARN -> names moto accepted

    def throttle(self, state_machine_arn: str, every: int) -> None:
        """Every `every`-th StartExecution of that state machine is throttled (0: none)."""
        self._every[state_machine_arn] = every

    def _refuses(self, arn: str) -> bool:
        with self._lock:
            count = self._counts[arn] = self._counts.get(arn, 0) + 1
            every = self._every.get(arn, 0)
            refused = every > 0 and count % every == 0
            if refused:
                self.throttled[arn] = self.throttled.get(arn, 0) + 1
        return refused

    @contextmanager
    def patched(self) -> Iterator[None]:
        from moto.stepfunctions.responses import StepFunctionResponse

        original: Callable[[Any], Any] = StepFunctionResponse.start_execution

        def start_execution(response_self: Any) -> Any:
            request = json.loads(response_self.body or "{}")
            arn = str(request.get("stateMachineArn", ""))
            if self._refuses(arn):
                from moto.core.exceptions import JsonRESTError

                raise JsonRESTError("ThrottlingException", "Rate exceeded")
            answer = original(response_self)
            with self._lock:
                self.accepted.setdefault(arn, []).append(str(request.get("name", "")))
            return answer

        with mock.patch.object(StepFunctionResponse, "start_execution", start_execution):
            yield
