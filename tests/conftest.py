"""Shared fixtures: personas for every role, lead factories, a real Celery worker, Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from celery.signals import task_prerun
from django.conf import settings
from django.test.utils import override_settings

from leadflow import celery_app

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run where a
# loop is running unless told this is deliberate. The tests never share a connection with it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("REDIS_URL"):
        skip = pytest.mark.skip(reason="REDIS_URL is not set: no broker for a real Celery worker")
        for item in items:
            if "redis" in item.keywords:
                item.add_marker(skip)
    if not Path(CHROMIUM).exists():
        skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: apt-get install -y chromium")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _test_settings() -> Iterator[None]:
    """Production settings with two exceptions: the test client and the live server speak
    plain HTTP, and static files come from the source tree (no collectstatic manifest)."""
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(
        # Personas are made for every test; the production hasher would spend most of the run.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        SECURE_SSL_REDIRECT=False,
        SESSION_COOKIE_SECURE=False,
        CSRF_COOKIE_SECURE=False,
        STORAGES=storages,
    ):
        yield


@pytest.fixture(scope="session", autouse=True)
def _tasks_in_process() -> Iterator[None]:
    """Run tasks in the test process unless a test asks for the real worker (`celery_worker`)."""
    celery_app.conf.task_always_eager = True
    yield


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    # Pending-score marks and cached rules must not leak from one test's leads to the next.
    from django.core.cache import cache

    from leadflow.tracking import ratelimit

    # ...nor the rate limiter's blocks of budget, which a web process keeps in memory.
    ratelimit._blocks.clear()
    ratelimit._used_written.clear()
    location = settings.CACHES["default"]["BACKEND"]
    if location.endswith("RedisCache"):
        # Delete only this project's keys: the Redis may be shared with a broker or other apps.
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:*"))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture
def task_runs() -> Iterator[list[tuple[str, tuple]]]:
    """The tasks that ran (in process, eagerly), with their arguments, in order."""
    runs: list[tuple[str, tuple]] = []

    def record(sender=None, args=(), **kwargs) -> None:
        runs.append((sender.name, tuple(args)))

    task_prerun.connect(record, weak=False)
    yield runs
    task_prerun.disconnect(record)


# -- personas --


@pytest.fixture
def roles(db) -> None:
    from leadflow.people.roles import roles_ensure

    roles_ensure()


@pytest.fixture
def make_user(roles):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    def make(username: str, role: str | None = None, **extra):
        user = get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def marketer(make_user):
    return make_user("marketer", "marketer")


@pytest.fixture
def sdr(make_user):
    return make_user("sdr", "sdr")


@pytest.fixture
def other_sdr(make_user):
    return make_user("sdr2", "sdr")


@pytest.fixture
def ae(make_user):
    return make_user("ae", "ae")


@pytest.fixture
def admin_user(make_user):
    return make_user("admin", "admin", is_staff=True)


@pytest.fixture
def outsider(make_user):
    return make_user("outsider")


@pytest.fixture
def personas(marketer, sdr, ae, admin_user, outsider):
    return {"marketer": marketer, "sdr": sdr, "ae": ae, "admin": admin_user, "outsider": outsider}


@pytest.fixture
def write_key(db):
    from leadflow.tracking.models import WriteKey

    return WriteKey.objects.create(name="website")


@pytest.fixture
def demo_rules(db):
    from scoring.demo import rules_install

    rules_install()


# -- a real Celery worker --


def _database_url() -> str:
    db = settings.DATABASES["default"]
    host = quote(db.get("HOST") or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgresql://{auth}@{host}{port}/{db['NAME']}"


@pytest.fixture
def celery_worker(transactional_db, tmp_path) -> Iterator[subprocess.Popen]:
    """A real `celery -A leadflow worker` process on the test database and Redis."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set")
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
    }
    celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
    hostname = f"test-{os.getpid()}"
    command = [
        celery, "-A", "leadflow", "worker", "--pool=threads", "--concurrency=4",
        "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--hostname", f"{hostname}@%h",
    ]  # fmt: skip
    # The log goes to a file, not a pipe: a pipe nobody reads fills up and stalls the worker.
    log_path = tmp_path / "celery-worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        worker.log_path = log_path
        try:
            _wait_for_worker(worker, hostname)
            celery_app.conf.task_always_eager = False
            yield worker
        finally:
            celery_app.conf.task_always_eager = True
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()


def _wait_for_worker(worker: subprocess.Popen, hostname: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"celery worker exited: {worker.log_path.read_text()}")
        replies = celery_app.control.ping(timeout=0.5)
        if any(name.startswith(f"{hostname}@") for reply in replies for name in reply):
            return
    raise RuntimeError("celery worker did not answer a ping within 60 s")


# -- Chromium --


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "leadflow-test"


def browser_login(page, live_server, username: str) -> None:
    """Log in through the login form, as a person would."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")


def open_action(scope, label: str):
    """Open the action disclosure (a <summary>) with this label; return its open panel."""
    scope.locator("summary").filter(has_text=label).first.click()
    return scope.locator("details[open]").last
