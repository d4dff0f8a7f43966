"""gunicorn.conf.py: the settings that the image, docker-compose.yml and the benchmark share."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from bench.stack import gunicorn_defaults

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "gunicorn.conf.py"


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch):
    def load(**env: str) -> dict[str, Any]:
        for name in ("WEB_WORKERS", "WEB_THREADS"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(CONFIG))

    return load


def test_one_process_a_core_of_eight_threads_by_default(settings):
    loaded = settings()
    assert loaded["workers"] == len(os.sched_getaffinity(0))
    assert loaded["threads"] == 8
    assert loaded["worker_class"] == "gthread"
    # A worker is not restarted every few seconds of a busy install (it was every 2,000 calls).
    assert loaded["max_requests"] >= 50_000
    assert loaded["max_requests_jitter"] > 0


def test_sized_by_the_environment(settings):
    loaded = settings(WEB_WORKERS="3", WEB_THREADS="2")
    assert (loaded["workers"], loaded["threads"]) == (3, 2)


def test_an_empty_variable_means_the_default(settings):
    # docker-compose passes WEB_WORKERS= and WEB_THREADS= empty when .env leaves them out.
    loaded = settings(WEB_WORKERS="", WEB_THREADS="")
    assert (loaded["workers"], loaded["threads"]) == (len(os.sched_getaffinity(0)), 8)


@pytest.mark.parametrize(
    ("name", "value"), [("WEB_WORKERS", "0"), ("WEB_WORKERS", "four"), ("WEB_THREADS", "-1")]
)
def test_a_bad_size_is_refused_by_name(settings, name, value):
    with pytest.raises(
        ImproperlyConfigured, match=rf"^{name}='{value}': expected an integer of at least 1$"
    ):
        settings(**{name: value})


def test_the_benchmark_serves_with_the_same_settings(settings):
    loaded = settings()
    assert gunicorn_defaults() == (loaded["workers"], loaded["threads"])


def _gunicorn(**env: str) -> subprocess.CompletedProcess:
    """gunicorn's own reading of the file (it loads an app too), with these variables set."""
    base = {k: v for k, v in os.environ.items() if k not in ("WEB_WORKERS", "WEB_THREADS")}
    command = [sys.executable, "-m", "gunicorn", "--config", str(CONFIG), "--print-config"]
    return subprocess.run(
        [*command, "bench.floors:app"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_gunicorn_reads_it():
    # A misspelt setting would fail here.
    result = _gunicorn(WEB_THREADS="5")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^threads\s*=\s*5$", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^max_requests\s*=\s*100000$", result.stdout, re.MULTILINE)
    assert re.search(r"^backlog\s*=\s*2048$", result.stdout, re.MULTILINE)


def test_gunicorn_stops_on_a_bad_size():
    result = _gunicorn(WEB_WORKERS="0")
    assert result.returncode != 0
    assert "WEB_WORKERS='0': expected an integer of at least 1" in result.stdout + result.stderr
