"""Lambda functions run as separate processes built like the deployed function.

A `Sandbox` is one warm execution environment: an interpreter started isolated (`-I -S`: no
site-packages, no PYTHONPATH, no user site) whose import path is exactly the function's
(`localrun.deployed`), with the template's environment plus what Lambda sets itself. It imports
the handler once and then serves invocations one at a time, as a Lambda sandbox does. A
`FunctionPool` keeps warm sandboxes per function and starts another when all are busy
(Lambda scales out the same way), up to a limit.

What it proves: the handler imports and runs with only what AWS gives it (its code asset, its
layers, the runtime's SDK), with its own environment, and its errors reach Step Functions in
Lambda's shape. What it does not: the CPU architecture (arm64 stand-ins are same-version x86_64
builds), the Python minor version (this machine's, not 3.14), IAM beyond S3 (the local cloud
checks a function's S3 requests against its role, `localrun.iam`; moto checks nothing else),
memory and /tmp limits.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from localrun.deployed import RUNTIME_NAME, DeployedFunction

BOOTSTRAP = Path(__file__).resolve().with_name("lambda_bootstrap.py")
# A cold start imports botocore and Powertools from disk: allow for a slow, busy machine.
INIT_TIMEOUT_S = 120.0
MAX_SANDBOXES_PER_FUNCTION = 4


@dataclass(frozen=True)
class Invocation:
    payload: Any  # the return value, or Lambda's error object
    errored: bool


class InitFailed(RuntimeError):
    """The handler could not be imported: every invocation of this sandbox fails."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('errorType')}: {error.get('errorMessage')}")
        self.error = error


class Sandbox:
    """One warm execution environment of a function."""

    def __init__(
        self,
        function: DeployedFunction,
        name: str,
        arn: str,
        aws_env: dict[str, str],
        work_dir: Path,
    ) -> None:
        self.function = function
        self.name = name
        self.tmp = work_dir / f"tmp-{uuid.uuid4().hex[:8]}"
        self.tmp.mkdir(parents=True)
        self.log_path = work_dir / f"{name}.log"
        spec = {
            "path": [str(p) for p in function.path],
            "handler": function.handler,
            "context": {
                "function_name": name, "function_version": "$LATEST",
                "invoked_function_arn": arn, "memory_limit_in_mb": function.memory_mb,
                "log_group_name": f"/aws/lambda/{name}", "log_stream_name": self.tmp.name,
            },
        }  # fmt: skip
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(BOOTSTRAP), json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=self._environment(aws_env),
            cwd=str(function.path[0]),
        )
        self._responses: queue.Queue[dict[str, Any] | None] = queue.Queue()
        assert self._process.stdout is not None
        self._reader = threading.Thread(
            target=_read_lines, args=(self._process.stdout, self._responses), daemon=True
        )
        self._reader.start()
        self.init_error: dict[str, Any] | None = None
        init = self._next_response(INIT_TIMEOUT_S, "init")
        if init.get("init") != "ok":
            self.init_error = init.get("init") or init.get("error")
        # Top-level modules the init imported, by folder of the path (code, layers, runtime).
        self.modules: dict[str, list[str]] = init.get("modules", {})

    def _environment(self, aws_env: dict[str, str]) -> dict[str, str]:
        """Only what a Lambda sandbox has: nothing inherited from this process."""
        f = self.function
        lambda_env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC",
            "HOME": str(self.tmp), "TMPDIR": str(self.tmp), "PYTHONDONTWRITEBYTECODE": "1",
            "LAMBDA_TASK_ROOT": str(f.path[0]), "LAMBDA_RUNTIME_DIR": str(f.path[-1]),
            "_HANDLER": f.handler, "AWS_EXECUTION_ENV": f"AWS_Lambda_{RUNTIME_NAME}",
            "AWS_LAMBDA_FUNCTION_NAME": self.name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(f.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": self.tmp.name,
        }  # fmt: skip
        return lambda_env | aws_env | f.environment

    def invoke(self, event: Any) -> Invocation:
        if self.init_error is not None:
            return Invocation(self.init_error, True)
        deadline_ms = int((time.time() + self.function.timeout_s) * 1000)
        request = {"event": event, "request_id": str(uuid.uuid4()), "deadline_ms": deadline_ms}
        assert self._process.stdin is not None
        self._process.stdin.write((json.dumps(request) + "\n").encode())
        self._process.stdin.flush()
        try:
            response = self._next_response(float(self.function.timeout_s), "invoke")
        except TimeoutError:
            self.close()  # Lambda stops a timed-out sandbox too
            message = f"Task timed out after {self.function.timeout_s:.2f} seconds"
            return Invocation({"errorType": "Sandbox.Timedout", "errorMessage": message}, True)
        if "error" in response:
            return Invocation(response["error"], True)
        return Invocation(response.get("result"), False)

    def _next_response(self, timeout: float, phase: str) -> dict[str, Any]:
        try:
            response = self._responses.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{self.name}: no answer to {phase} in {timeout} s") from None
        if response is None:  # the process ended: Lambda reports Runtime.ExitError
            code = self._process.wait()
            return {"error": {"errorType": "Runtime.ExitError",
                              "errorMessage": f"RequestId: exited with status {code}; "
                                              f"see {self.log_path}"}}  # fmt: skip
        return response

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._log.close()


def _read_lines(stream: IO[bytes], responses: queue.Queue[dict[str, Any] | None]) -> None:
    for line in stream:
        responses.put(json.loads(line))
    responses.put(None)


class FunctionPool:
    """Warm sandboxes of one function; a busy pool starts another (up to a limit)."""

    def __init__(
        self,
        function: DeployedFunction,
        name: str,
        arn: str,
        aws_env: dict[str, str],
        work_dir: Path,
    ) -> None:
        self.function = function
        self._args = (function, name, arn, aws_env, work_dir)
        self._idle: list[Sandbox] = []
        self._all: list[Sandbox] = []
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(MAX_SANDBOXES_PER_FUNCTION)

    def invoke(self, event: Any) -> Invocation:
        with self._slots:
            sandbox = self._take()
            try:
                return sandbox.invoke(event)
            finally:
                self._give_back(sandbox)

    def cold_start(self) -> Sandbox:
        """A sandbox whose init has run (kept warm for later invocations)."""
        sandbox = self._take()
        self._give_back(sandbox)
        return sandbox

    def _take(self) -> Sandbox:
        with self._lock:
            while self._idle:
                sandbox = self._idle.pop()
                if sandbox.alive:
                    return sandbox
        sandbox = Sandbox(*self._args)
        with self._lock:
            self._all.append(sandbox)
        return sandbox

    def _give_back(self, sandbox: Sandbox) -> None:
        if sandbox.alive:
            with self._lock:
                self._idle.append(sandbox)

    def close(self) -> None:
        with self._lock:
            sandboxes, self._all, self._idle = self._all, [], []
        for sandbox in sandboxes:
            sandbox.close()
