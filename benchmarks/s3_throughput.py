"""S3 write throughput on loopback: one-by-one `put_object` vs gt2yolo's `S3Storage.write_bytes`.

The moto server runs in its own process: in this process it would share the GIL with the
client threads and the measurement would be of the GIL, not of request concurrency.
Run alone with `python -m benchmarks.s3_throughput [OBJECTS]`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

SERVER_SCRIPT = """
import sys, threading
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # serve until the parent closes our stdin
server.stop()
"""
SPEEDUP_TARGET = 8.0
BODY = b"0 0.512345 0.498765 0.120000 0.250000\n" * 3  # a typical label file: ~120 bytes


def start_server() -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        # A log line per request costs the server CPU and floods the terminal: discard it.
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None
    port = server.stdout.readline().strip()
    while port and not port.isdigit():  # moto announces itself on stdout before the port
        port = server.stdout.readline().strip()
    if not port.isdigit():
        server.kill()
        raise RuntimeError("moto server did not start")
    return server, f"http://127.0.0.1:{port}"


def use_endpoint(endpoint: str) -> None:
    # Fake credentials for moto only; the endpoint keeps every request on loopback.
    os.environ.update({
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    })  # fmt: skip


def one_by_one(client: Any, bucket: str, objects: int) -> float:
    started = time.perf_counter()
    for index in range(objects):
        client.put_object(Bucket=bucket, Key=f"serial/labels/{index:06d}.txt", Body=BODY)
    return time.perf_counter() - started


def bounded_pool(bucket: str, objects: int) -> float:
    from gt2yolo_aws.s3 import S3Storage

    storage = S3Storage(f"s3://{bucket}/pooled")
    started = time.perf_counter()
    for index in range(objects):
        storage.write_bytes(f"labels/{index:06d}.txt", BODY)
    storage.flush()
    elapsed = time.perf_counter() - started
    storage.close()
    return elapsed


def run_s3_benchmark(objects: int = 2000) -> dict[str, Any]:
    server, endpoint = start_server()
    try:
        use_endpoint(endpoint)
        from gt2yolo_aws.s3 import s3_client

        client = s3_client()
        client.create_bucket(Bucket="bench")
        bounded_pool("bench", 50)  # warm-up: connections, thread start, moto's first-use cost
        serial = one_by_one(client, "bench", objects)
        pooled = bounded_pool("bench", objects)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)
    result = {
        "objects": objects,
        "one_by_one_s": serial,
        "s3storage_s": pooled,
        "one_by_one_per_s": objects / serial,
        "s3storage_per_s": objects / pooled,
        "speedup": serial / pooled,
        "target": SPEEDUP_TARGET,
        "status": "PASS" if serial / pooled >= SPEEDUP_TARGET else "FAIL",
    }
    print(
        f"S3 writes ({objects} objects, moto on loopback): one-by-one {objects / serial:,.0f}/s, "
        f"S3Storage {objects / pooled:,.0f}/s -> {serial / pooled:.1f}x\n"
        f"{result['status']:7}  S3Storage >= {SPEEDUP_TARGET:g}x one-by-one put_object"
    )
    return result


if __name__ == "__main__":
    run_s3_benchmark(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
