"""The benchmark's own installation: a database, a Redis db, gunicorn and a Celery worker.

Everything it starts it stops again, on success, failure or Ctrl-C: processes run in their own
process group, and `Stack.close()` ends each group it started by its id.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Production's gunicorn settings: the benchmark serves leadflow and its floors with them.
GUNICORN_CONFIG = ROOT / "gunicorn.conf.py"


def gunicorn_defaults() -> tuple[int, int]:
    """The workers and threads production runs with on this machine (gunicorn.conf.py)."""
    settings = runpy.run_path(str(GUNICORN_CONFIG))
    return settings["workers"], settings["threads"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_url() -> str:
    """DATABASE_URL, or the embedded PostgreSQL's URL (started if needed) when it is unset."""
    if url := os.environ.get("DATABASE_URL"):
        return url
    from leadflow.lib.embedded_pg import database_url

    data_dir = Path(os.environ.get("LEADFLOW_DATA_DIR", ROOT / ".data"))
    return database_url(data_dir / "pg")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def conninfo(url: str) -> str:
    """A libpq connection string for a URL (psycopg reads postgres:// URLs as they are)."""
    return url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url


def admin_conninfo() -> str:
    """The server's maintenance database, to create and drop the bench's own."""
    return conninfo(with_database(server_url(), "postgres"))


def database_create(name: str) -> None:
    """A new, empty database `name` (dropped first if it exists)."""
    with psycopg.connect(admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def redis_url(db: int) -> str:
    """The bench's own Redis database on REDIS_URL's server (127.0.0.1:6379 when unset)."""
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{db}"))


@dataclass
class Stack:
    scale: str
    # 0: as gunicorn.conf.py says for this machine (one process a core, 8 threads each).
    workers: int = 0
    threads: int = 0
    worker_concurrency: int = 2
    keep_database: bool = False
    redis_db: int = -1  # -1: 9 for small (CI), 8 for the others, so that they never meet
    database: str = ""
    database_url: str = ""
    env: dict[str, str] = field(default_factory=dict)
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="leadflow-bench-")))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        default_workers, default_threads = gunicorn_defaults()
        self.workers = self.workers or default_workers
        self.threads = self.threads or default_threads
        if self.redis_db < 0:
            self.redis_db = int(
                os.environ.get("BENCH_REDIS_DB") or (9 if self.scale == "small" else 8)
            )
        # BENCH_DATABASE: another name, for two benchmarks of one server side by side.
        self.database = os.environ.get("BENCH_DATABASE") or f"leadflow_bench_{self.scale}"
        self.database_url = with_database(server_url(), self.database)
        prefix = f"leadflow-bench-{self.scale}"
        self.env = {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": redis_url(self.redis_db),
            "CELERY_QUEUE": prefix,
            "CACHE_PREFIX": prefix,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Plain HTTP on 127.0.0.1: no proxy in front to terminate TLS.
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            # The limiter runs as in production (one Redis call a request), with a budget that
            # the load never reaches.
            "TRACKING_RATE_LIMIT": "100000000",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "leadflow.settings",
            "PYTHONPATH": str(ROOT),
        }

    # -- the database --

    def database_exists(self) -> bool:
        with psycopg.connect(admin_conninfo(), autocommit=True) as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.database])
            return row.fetchone() is not None

    def database_create(self) -> None:
        database_create(self.database)

    def database_drop(self) -> None:
        with psycopg.connect(admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def redis_flush(self) -> None:
        import redis

        redis.Redis.from_url(self.env["REDIS_URL"]).flushdb()

    # -- processes --

    def _start(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        env = {**os.environ, **self.env, **(extra_env or {})}
        # Its own session: Ctrl-C in the terminal reaches the bench, which stops it in order.
        self.processes[name] = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def gunicorn_start(self, name: str, app: str, *, workers: int | None = None) -> int:
        port = free_port()
        self.ports[name] = port
        self._start(
            name,
            [
                PYTHON,
                "-m",
                "gunicorn",
                app,
                "--config",
                str(GUNICORN_CONFIG),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers or self.workers),
                "--threads",
                str(self.threads),
            ],
        )
        self._wait_http(name, f"http://127.0.0.1:{port}/healthz")
        return port

    def worker_start(self) -> None:
        self._start(
            "worker",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "leadflow",
                "worker",
                "--concurrency",
                str(self.worker_concurrency),
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"bench-{self.scale}@%h",
            ],
        )

    def worker_wait(self, app) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self._alive("worker")
            if app.control.ping(destination=None, timeout=1.0):
                return
        raise RuntimeError(f"the Celery worker did not answer within 60 s: see {self.logs}")

    def _alive(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is not None:
            log = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log}")

    def _wait_http(self, name: str, url: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self._alive(name)
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (127.0.0.1)
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer {url} within 60 s: see {self.logs}")

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        # The main process first: gunicorn and Celery then stop their own children gracefully
        # (a pool process killed mid-task would log a lost job). Whatever is left of the
        # group after that is killed.
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)

    def close(self) -> None:
        """Stop every process this stack started, then drop its database unless kept."""
        for name in list(self.processes):
            try:
                self.stop(name)
            except Exception as exc:
                print(f"bench: could not stop {name}: {exc}", file=sys.stderr)
        with contextlib.suppress(Exception):  # Redis gone: nothing left to flush
            self.redis_flush()
        if not self.keep_database:
            try:
                self.database_drop()
            except Exception as exc:
                print(f"bench: could not drop {self.database}: {exc}", file=sys.stderr)
