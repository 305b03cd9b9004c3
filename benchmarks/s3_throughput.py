"""S3 write throughput on loopback: one-by-one `put_object` vs gt2yolo's `S3Storage.write_bytes`.

What is measured, per scenario (an added per-request latency, 0 ms = plain moto):
- the moto server runs in its own process (not sharing this process's GIL) on 127.0.0.1, with
  a WSGI hook that sleeps `latency` before moto handles each request: S3's time to first byte;
- one-by-one: `put_object` of OBJECTS label-sized bodies in a loop, with `s3_client()`;
- S3Storage: the same count of the same bodies through `S3Storage.write_bytes` and `flush`,
  whose own client comes from the same `s3_client()` (only the worker count differs);
- both against the same server, round-robin per repetition, after a warm-up of each; the CPU
  seconds each side spent (this process: getrusage; the server: /proc/PID/stat) are recorded.

Run alone with `python -m benchmarks.s3_throughput --help`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# moto's own ThreadedMotoServer, plus a latency hook and two CPU savings that change nothing
# in what moto answers: moto lists its package folder (~180 stat calls) on every request to map
# a Host header to a service, and logs a line per request.
SERVER_SCRIPT = """
import logging, sys, threading, time
import moto.backends
from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

latency = float(sys.argv[1])
modules = tuple(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: modules
logging.getLogger("werkzeug").setLevel(logging.ERROR)
app = DomainDispatcherApplication(create_backend_app)

def with_latency(environ, start_response):
    time.sleep(latency)  # sleeping, not spinning: the wait costs the server no CPU
    return app(environ, start_response)

server = make_server("127.0.0.1", 0, with_latency if latency else app, threaded=True,
                     request_handler=MotoRequestHandler)
print(server.server_port, flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()  # serve until the parent closes our stdin
server.shutdown()
"""
SPEEDUP_TARGET = 8.0
BODY = b"0 0.512345 0.498765 0.120000 0.250000\n" * 3  # a typical label file: ~120 bytes
DEFAULT_OBJECTS = 500
DEFAULT_LATENCIES_MS = (0.0, 20.0, 50.0)
DEFAULT_REPEAT = 3
WARM_UP = 40
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class MotoServer:
    """`moto` in a child process, each request delayed by `latency_ms`."""

    def __init__(self, latency_ms: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER_SCRIPT, str(latency_ms / 1000)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        port = self.process.stdout.readline().strip()
        if not port.isdigit():
            self.process.kill()
            raise RuntimeError("moto server did not start")
        self.endpoint = f"http://127.0.0.1:{port}"

    def cpu_seconds(self) -> float | None:
        """User + system CPU the server has used so far (Linux), else None."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def use_endpoint(endpoint: str) -> None:
    # Fake credentials for moto only; the endpoint keeps every request on loopback.
    os.environ.update({
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    })  # fmt: skip


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_by_one(client: Any, bucket: str, prefix: str, objects: int) -> None:
    for index in range(objects):
        client.put_object(Bucket=bucket, Key=f"{prefix}/labels/{index:06d}.txt", Body=BODY)


def bounded_pool(bucket: str, prefix: str, objects: int, workers: int) -> None:
    from gt2yolo_aws.s3 import S3Storage

    storage = S3Storage(f"s3://{bucket}/{prefix}", concurrency=workers)
    for index in range(objects):
        storage.write_bytes(f"labels/{index:06d}.txt", BODY)
    storage.close()  # flush: every object is durable when this returns


def timed(server: MotoServer, objects: int, run: Any, *args: Any) -> dict[str, float | None]:
    server_before, client_before = server.cpu_seconds(), own_cpu_seconds()
    started = time.perf_counter()
    run(*args)
    wall = time.perf_counter() - started
    server_after, client_after = server.cpu_seconds(), own_cpu_seconds()
    server_ms = (
        None
        if server_before is None or server_after is None
        else 1000 * (server_after - server_before) / objects
    )
    return {
        "per_s": objects / wall,
        "client_cpu_ms": 1000 * (client_after - client_before) / objects,
        "server_cpu_ms": server_ms,
    }


def scenario(latency_ms: float, objects: int, repeat: int, workers: int) -> dict[str, Any]:
    server = MotoServer(latency_ms)
    try:
        use_endpoint(server.endpoint)
        from gt2yolo_aws.s3 import s3_client

        client = s3_client()
        client.create_bucket(Bucket="bench")
        one_by_one(client, "bench", "warm-serial", WARM_UP)
        bounded_pool("bench", "warm-pooled", WARM_UP, workers)
        serial: list[dict[str, float | None]] = []
        pooled: list[dict[str, float | None]] = []
        for attempt in range(repeat):
            serial.append(timed(server, objects, one_by_one, client, "bench", f"serial{attempt}",
                                objects))  # fmt: skip
            pooled.append(timed(server, objects, bounded_pool, "bench", f"pooled{attempt}",
                                objects, workers))  # fmt: skip
            print(f"  {latency_ms:4g} ms added, run {attempt + 1}/{repeat}: one-by-one "
                  f"{serial[-1]['per_s']:6.1f}/s, S3Storage {pooled[-1]['per_s']:6.1f}/s",
                  flush=True)  # fmt: skip
    finally:
        server.stop()
    speedups = [p["per_s"] / s["per_s"] for s, p in zip(serial, pooled, strict=True)]  # type: ignore[operator]
    speedup = statistics.median(speedups)
    return {
        "latency_ms": latency_ms,
        "one_by_one": _medians(serial),
        "s3storage": _medians(pooled),
        "speedups": speedups,
        "speedup": speedup,
        "status": "PASS" if speedup >= SPEEDUP_TARGET else "FAIL",
    }


def _medians(runs: list[dict[str, float | None]]) -> dict[str, float | None]:
    result: dict[str, float | None] = {}
    for name in runs[0]:
        values = [value for run in runs if (value := run[name]) is not None]
        result[name] = statistics.median(values) if values else None
    return result


def cpu_ceiling(pooled: dict[str, float | None], cpus: int) -> float | None:
    """Puts/s the measured CPU costs allow with no waiting at all: each side is one GIL, and
    both share the machine's cores."""
    client, server = pooled["client_cpu_ms"], pooled["server_cpu_ms"]
    if client is None or server is None:
        return None
    return 1000 / max(client, server, (client + server) / cpus)


def run_s3_benchmark(
    objects: int = DEFAULT_OBJECTS,
    latencies_ms: Sequence[float] = DEFAULT_LATENCIES_MS,
    repeat: int = DEFAULT_REPEAT,
    workers: int | None = None,
) -> dict[str, Any]:
    from gt2yolo_aws.s3 import DEFAULT_CONCURRENCY

    workers = workers or DEFAULT_CONCURRENCY
    print(f"S3 writes: {objects} objects of {len(BODY)} bytes, {repeat} runs per scenario, "
          f"S3Storage with {workers} workers, moto in its own process on 127.0.0.1", flush=True)  # fmt: skip
    scenarios = [scenario(latency, objects, repeat, workers) for latency in latencies_ms]
    cpus = os.cpu_count() or 1
    for item in scenarios:
        item["cpu_ceiling_per_s"] = cpu_ceiling(item["s3storage"], cpus)
    result: dict[str, Any] = {
        "objects": objects,
        "body_bytes": len(BODY),
        "repeat": repeat,
        "workers": workers,
        "target": SPEEDUP_TARGET,
        "scenarios": scenarios,
    }
    result["markdown"] = markdown_lines(result)
    print(text_table(result))
    print("\n".join(result["markdown"]))
    return result


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def text_table(result: dict[str, Any]) -> str:
    lines = ["added latency | one-by-one/s | S3Storage/s | speedup | CPU ms/put client, server "
             "(one-by-one; S3Storage) | CPU ceiling/s"]  # fmt: skip
    for item in result["scenarios"]:
        serial, pooled = item["one_by_one"], item["s3storage"]
        ceiling = item["cpu_ceiling_per_s"]
        lines.append(
            f"{item['latency_ms']:g} ms | {serial['per_s']:.1f} | {pooled['per_s']:.1f} | "
            f"{item['speedup']:.1f}x | {_ms(serial['client_cpu_ms'])}, "
            f"{_ms(serial['server_cpu_ms'])}; {_ms(pooled['client_cpu_ms'])}, "
            f"{_ms(pooled['server_cpu_ms'])} | {'-' if ceiling is None else f'{ceiling:.0f}'}"
        )
    return "\n".join(lines)


def markdown_lines(result: dict[str, Any]) -> list[str]:
    return [
        f"- **{item['status']}** S3Storage >= {result['target']:g}x one-by-one put_object, "
        f"{item['latency_ms']:g} ms added per request ({result['objects']} objects, moto on "
        f"loopback, median of {result['repeat']}): {item['one_by_one']['per_s']:,.1f}/s vs "
        f"{item['s3storage']['per_s']:,.1f}/s = {item['speedup']:.1f}x"
        for item in result["scenarios"]
    ]


def _latencies(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.s3_throughput",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--objects", type=int, default=DEFAULT_OBJECTS)
    parser.add_argument("--latency-ms", type=_latencies, default=list(DEFAULT_LATENCIES_MS),
                        help="added per-request latencies, comma separated (default 0,20,50)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT)
    parser.add_argument("--workers", type=int, default=None,
                        help="S3Storage concurrency (default: gt2yolo's DEFAULT_CONCURRENCY)")  # fmt: skip
    args = parser.parse_args(argv)
    run_s3_benchmark(args.objects, args.latency_ms, args.repeat, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
