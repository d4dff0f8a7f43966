"""The load generator: raw asyncio sockets, bounded in time and in requests, 127.0.0.1 only.

Run as its own process (`python -m bench.load < spec.json`) so that its CPU is measured apart
from the server's: it prints one JSON object with the counts, the latency percentiles and the
CPU seconds it took. Bodies are built once and stamped with a fresh id per request (a byte
replacement of the same length), so building requests costs next to nothing.

Two shapes: closed (`clients` connections send back to back, as fast as the server answers) and
open (`rate` requests a second on a fixed schedule, whatever the answers, for steady loads).
A server that closes the connection after each answer (gunicorn's sync workers) gets a new
connection per request, as a real client would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import resource
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

STAMP = b"@@@@@@@@@@@@"  # replaced in each request's body by its own 12-character id


@dataclass
class Spec:
    port: int
    path: str
    bodies: list[str]  # JSON bodies, each with STAMP where message ids must differ
    duration: float
    clients: int = 8
    rate: float = 0.0  # open loop when > 0: requests a second
    max_in_flight: int = 64  # open loop: past this many unanswered requests the schedule slips
    max_requests: int = 10_000_000
    key: str = ""
    cookie: str = ""
    method: str = "POST"
    events_per_request: int = 1
    host: str = "127.0.0.1"


@dataclass
class Result:
    requests: int = 0
    ok: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _requests(spec: Spec) -> list[bytes]:
    """Request templates: head and body bytes, the body still holding STAMP."""
    auth = ""
    if spec.key:
        token = base64.b64encode(f"{spec.key}:".encode()).decode()
        auth = f"Authorization: Basic {token}\r\n"
    cookie = f"Cookie: {spec.cookie}\r\n" if spec.cookie else ""
    out = []
    for body in spec.bodies or [""]:
        raw = body.encode()
        head = (
            f"{spec.method} {spec.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}{cookie}"
            f"User-Agent: leadflow-bench\r\nAccept: */*\r\n"
        )
        if spec.method == "POST":
            head += f"Content-Type: application/json\r\nContent-Length: {len(raw)}\r\n"
        out.append((head + "\r\n").encode() + raw)
    return out


class _Conn:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> int:
        """Send one request and read its whole answer; return the status."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.spec.host, self.spec.port)
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close, chunked = 0, False, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def run(spec: Spec) -> Result:
    templates = _requests(spec)
    result = Result()
    prefix = uuid.uuid4().hex[:4]
    counter = 0
    deadline = time.perf_counter() + spec.duration

    def next_request() -> bytes:
        nonlocal counter
        counter += 1
        template = templates[counter % len(templates)]
        return template.replace(STAMP, f"{prefix}{counter:08x}".encode())

    async def one(conn: _Conn, request: bytes) -> None:
        started = time.perf_counter()
        try:
            status = await conn.send(request)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            conn.close()
            result.errors += 1
            return
        result.latencies.append(time.perf_counter() - started)
        result.statuses[str(status)] = result.statuses.get(str(status), 0) + 1
        if 200 <= status < 300:
            result.ok += 1

    async def closed_client() -> None:
        conn = _Conn(spec)
        while time.perf_counter() < deadline and result.requests < spec.max_requests:
            result.requests += 1
            await one(conn, next_request())
        conn.close()

    began = time.perf_counter()
    if spec.rate > 0:
        # Open loop: each request leaves at its time on a free connection (or a new one).
        idle: list[_Conn] = []
        pending: set[asyncio.Task] = set()
        interval = 1 / spec.rate

        async def fire(request: bytes) -> None:
            conn = idle.pop() if idle else _Conn(spec)
            await one(conn, request)
            idle.append(conn)

        n = 0
        while time.perf_counter() < deadline and n < spec.max_requests:
            at = began + n * interval
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            while len(pending) >= spec.max_in_flight and time.perf_counter() < deadline:
                await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            n += 1
            result.requests += 1
            task = asyncio.create_task(fire(next_request()))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending, timeout=30)
        for conn in idle:
            conn.close()
    else:
        await asyncio.gather(*(closed_client() for _ in range(spec.clients)))
    result.elapsed = time.perf_counter() - began
    return result


def summary(spec: Spec, result: Result, cpu: float) -> dict[str, Any]:
    lat = result.latencies
    return {
        "requests": result.requests,
        "ok": result.ok,
        "errors": result.errors,
        "statuses": result.statuses,
        "elapsed": result.elapsed,
        "rps": result.ok / result.elapsed if result.elapsed else 0.0,
        "events_per_s": result.ok * spec.events_per_request / result.elapsed
        if result.elapsed
        else 0.0,
        "p50_ms": percentile(lat, 50) * 1000,
        "p95_ms": percentile(lat, 95) * 1000,
        "p99_ms": percentile(lat, 99) * 1000,
        "max_ms": max(lat) * 1000 if lat else float("nan"),
        "client_cpu_s": cpu,
        "client_cpu_share": cpu / result.elapsed if result.elapsed else 0.0,
    }


def main() -> None:
    spec = Spec(**json.load(sys.stdin))
    if spec.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("bench.load only sends to this machine")
    random.seed(7)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(spec))
    else:
        result = uvloop.run(run(spec))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps(summary(spec, result, usage.ru_utime + usage.ru_stime)))


if __name__ == "__main__":
    main()
