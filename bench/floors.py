"""Physical floors, measured in the same run as the figures they stand beside.

- `app`: a bare WSGI handler served by the same gunicorn as leadflow. `/v1/track` parses the
  JSON and does one INSERT; `/v1/batch` parses and COPYs the rows. No Django, no validation, no
  identity resolution: what a request costs at the least on this machine.
- `copy_floor`: psycopg COPY of the very rows a batch call carries, straight into PostgreSQL,
  from as many connections as the HTTP benchmark has clients.
- `sql_time`: a bare SQL statement timed from this process (a queue page's query, one aggregate
  pass over the events).

The floor table copies the events table (`LIKE ... INCLUDING ALL`: same columns, indexes and
unique key) and is dropped at the end of the run.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

FLOOR_TABLE = "bench_floor_event"
COLUMNS = (
    "source_id, message_id, type, name, url, properties, context, anonymous_id, user_id,"
    " occurred_at, received_at"
)


def floor_table_create(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        conn.execute(f"CREATE TABLE {FLOOR_TABLE} (LIKE tracking_event INCLUDING ALL)")


def floor_table_drop(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")


def _row(message: dict[str, Any], now: datetime) -> tuple:
    properties = message.get("properties") or {}
    return (
        1,
        str(message.get("messageId", "")),
        message.get("type", "track"),
        message.get("event") or message.get("name") or "",
        properties.get("url", "") if isinstance(properties, dict) else "",
        json.dumps(properties),
        json.dumps(message.get("context") or {}),
        message.get("anonymousId") or "",
        message.get("userId") or "",
        message.get("timestamp") or now,
        now,
    )


# -- the bare handler --

_local = threading.local()


def _conn() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        url = os.environ["DATABASE_URL"]
        url = url.replace("postgres://", "postgresql://", 1)
        conn = _local.conn = psycopg.connect(url, autocommit=True)
    return conn


def app(environ: dict[str, Any], start_response: Callable) -> list[bytes]:
    """The floor handler (gunicorn bench.floors:app)."""
    path = environ.get("PATH_INFO", "")
    if path == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    now = datetime.now(UTC)
    conn = _conn()
    if path == "/v1/batch":
        rows = [_row(message, now) for message in body.get("batch", [])]
        copy_sql = f"COPY {FLOOR_TABLE} ({COLUMNS}) FROM STDIN"
        with conn.transaction(), conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
    else:
        conn.execute(
            f"INSERT INTO {FLOOR_TABLE} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s)",
            _row(body, now),
        )
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"success": true}']


# -- COPY straight into PostgreSQL --


def copy_payloads(bodies: list[str], stamp: str) -> list[list[tuple]]:
    """The rows of each batch body, with `stamp` left in the message ids for `copy_floor`."""
    now = datetime.now(UTC)
    return [[_row(m, now) for m in json.loads(body)["batch"]] for body in bodies]


def copy_floor(
    conninfo: str, payloads: list[list[tuple]], *, stamp: str, clients: int, duration: float
) -> dict[str, float]:
    """COPY the batches from `clients` connections for `duration` seconds: rows/s and latency."""
    latencies: list[float] = []
    rows = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + duration
    counter = iter(range(10**9))
    run = os.urandom(2).hex()  # the floor table keeps the rows of earlier runs

    def client() -> None:
        nonlocal rows
        mine, count = [], 0
        with psycopg.connect(conninfo, autocommit=True) as conn:
            while time.perf_counter() < deadline:
                n = next(counter)
                batch = payloads[n % len(payloads)]
                tag = f"{run}{n:08x}"
                started = time.perf_counter()
                copy_sql = f"COPY {FLOOR_TABLE} ({COLUMNS}) FROM STDIN"
                with conn.transaction(), conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
                    for row in batch:
                        copy.write_row((row[0], row[1].replace(stamp, tag), *row[2:]))
                mine.append(time.perf_counter() - started)
                count += len(batch)
        with lock:
            latencies.extend(mine)
            rows += count

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "rows_per_s": rows / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else float("nan"),
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000 if latencies else float("nan"),
    }


def sql_time(conninfo: str, statement: str, params: Any = None, *, repeat: int = 20) -> list[float]:
    """Seconds each of `repeat` executions of a statement took (all rows fetched)."""
    times = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for _ in range(repeat):
            started = time.perf_counter()
            conn.execute(statement, params).fetchall()
            times.append(time.perf_counter() - started)
    return times
