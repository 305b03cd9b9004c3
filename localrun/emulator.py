"""moto served over HTTP on loopback, with the S3 gate (`localrun.iam`) in front of it.

Every client of the local cloud reaches it the same way: this process's (tests, the demo, the
CLI under test) through `AWS_ENDPOINT_URL`, the sandboxed functions through theirs, the state
machines' service calls through `MOTO_PORT` (moto's interpreter calls localhost:MOTO_PORT).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import boto3

from localrun.account import ACCOUNT, FAKE_CREDENTIALS, REGION
from localrun.iam import S3Gate, parse_policy


@dataclass(frozen=True)
class Endpoint:
    """Where the emulator answers; clients of it."""

    url: str

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.url)


@contextmanager
def serving(gate: S3Gate) -> Iterator[Endpoint]:
    """A fresh moto (one process, one moto: it starts from nothing) behind `gate`, with this
    process's environment pointing at it, until the context ends."""
    # The server's request log would bury everything else; errors still show.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = _GatedMotoServer(gate)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = Endpoint(f"http://{host}:{port}")
        _moto_api(endpoint, "reset", None)
        _moto_api(endpoint, "config", {"stepfunctions": {"execute_state_machine": True}})
        endpoint_env = {"AWS_ENDPOINT_URL": endpoint.url, "MOTO_PORT": str(port)}
        with mock.patch.dict(os.environ, FAKE_CREDENTIALS | endpoint_env):
            yield endpoint
    finally:
        server.stop()


@contextmanager
def no_retry_sleep() -> Iterator[None]:
    """Retry intervals would really sleep (2 s, 4 s, ...): keep the Retry logic, skip the wait."""
    target = "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl.time.sleep"
    with mock.patch(target, lambda _seconds: None):
        yield


def moto_app() -> Any:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def moto_bucket_policy(bucket: str) -> dict[str, Any] | None:
    """A bucket's policy as moto keeps it (what PutBucketPolicy stored)."""
    from moto.s3.models import s3_backends

    return parse_policy(s3_backends[ACCOUNT]["aws"].get_bucket_policy(bucket))


def moto_object(bucket: str, key: str) -> bytes | None:
    """An object's bytes as moto keeps them (None: no such object), for the fakes that read S3
    as a service would (`localrun.rekognition`)."""
    from moto.s3.models import s3_backends

    try:
        found = s3_backends[ACCOUNT]["aws"].get_object(bucket, key)
    except Exception:  # no such bucket
        return None
    return None if found is None else bytes(found.value)


def _moto_api(endpoint: Endpoint, action: str, body: dict[str, Any] | None) -> None:
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(f"{endpoint.url}/moto-api/{action}", data, method="POST")
    with urllib.request.urlopen(request, timeout=30):  # loopback only
        pass


class _GatedMotoServer:
    """moto's HTTP server on loopback (as `moto.server.ThreadedMotoServer`), with the S3 gate in
    front of moto's application."""

    def __init__(self, gate: S3Gate) -> None:
        self._gate = gate
        self._ready = threading.Event()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def _serve(self) -> None:
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        self._server = make_server(
            "127.0.0.1", 0, self._gate, threaded=True, request_handler=MotoRequestHandler
        )
        self._ready.set()
        self._server.serve_forever()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self._ready.wait()

    def get_host_and_port(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
