"""Runs inside a function's sandbox process: the part of the Lambda runtime that calls the handler.

Started as `python -I -S lambda_bootstrap.py SPEC` (isolated, no site-packages: nothing of the
development environment is importable). SPEC is JSON: the import path (the function's code
asset, its layers' folders, the runtime's SDK: in that order, as Lambda orders /var/task,
/opt/python and /var/runtime), the handler string and the context's fixed fields.

Like Lambda, it imports the handler once (the init phase) and reports how that went, then
answers invocations one at a time: one JSON line in on stdin, one JSON line out on the
protocol pipe. The function's own stdout and stderr (logs, EMF metrics) go to the log file the
parent gave as stderr, as Lambda sends them to CloudWatch Logs.

Standard library only, on purpose: this file is not part of the function and must not bring
anything into its sandbox.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The context object Lambda passes to a handler (the attributes Python handlers use)."""

    def __init__(self, fixed: dict[str, Any], request_id: str, deadline_ms: int) -> None:
        self.function_name = fixed["function_name"]
        self.function_version = fixed["function_version"]
        self.invoked_function_arn = fixed["invoked_function_arn"]
        self.memory_limit_in_mb = int(fixed["memory_limit_in_mb"])
        self.log_group_name = fixed["log_group_name"]
        self.log_stream_name = fixed["log_stream_name"]
        self.aws_request_id = request_id
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_of(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """The error shape Lambda returns and Step Functions reads (`errorType` drives Catch)."""
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_exception(exc),
    }


def load_handler(handler: str) -> Any:
    """Import `module.function` as Lambda does, with Lambda's error types for a failed init."""
    module_name, _, function_name = handler.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    except SyntaxError as exc:
        raise InitError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}"
        ) from exc
    function = getattr(module, function_name, None)
    if function is None:
        raise InitError(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return function


class InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def main() -> None:
    spec = json.loads(sys.argv[1])
    # Responses go to a private copy of stdout; the function's prints go to the log (fd 2).
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.path[:0] = spec["path"]
    os.chdir(spec["path"][0])  # Lambda's working directory is the task root
    try:
        handler = load_handler(spec["handler"])
    except InitError as exc:
        _send(protocol, {"init": error_of(exc, exc.error_type)})
        return
    except Exception as exc:  # an exception raised by module-level code
        _send(protocol, {"init": error_of(exc)})
        return
    _send(protocol, {"init": "ok", "modules": loaded_from(spec["path"])})
    for line in sys.stdin:
        request = json.loads(line)
        context = LambdaContext(spec["context"], request["request_id"], request["deadline_ms"])
        _send(protocol, _invoke(handler, request["event"], context))
        sys.stdout.flush()
        sys.stderr.flush()


def loaded_from(path: list[str]) -> dict[str, list[str]]:
    """Top-level modules the init imported, by the folder of the path they came from (the
    handler's module graph, for tests that keep heavy libraries where their layer is)."""
    loaded: dict[str, set[str]] = {}
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None)
        if "." in name or not origin:
            continue
        folder = next((entry for entry in path if origin.startswith(entry + os.sep)), None)
        if folder is not None:
            loaded.setdefault(folder, set()).add(name)
    return {folder: sorted(names) for folder, names in loaded.items()}


def _invoke(handler: Any, event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        result = handler(event, context)
    except Exception as exc:
        return {"error": error_of(exc)}
    try:
        return {"result": json.loads(json.dumps(result))}
    except (TypeError, ValueError) as exc:  # Lambda cannot serialize the return value either
        return {"error": error_of(exc, "Runtime.MarshalError")}


def _send(protocol: Any, message: dict[str, Any]) -> None:
    protocol.write(json.dumps(message) + "\n")
    protocol.flush()


if __name__ == "__main__":
    main()
