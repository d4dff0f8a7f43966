"""Shared steps of the end-to-end tests: a real Segment client, and waiting on the worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from segment.analytics import Client

SITE = "https://www.example.com"


def segment_client(*, host: str, write_key: str, errors: list) -> Client:
    """segment-analytics-python as a website backend runs it: threaded, batching, gzip on."""
    return Client(
        write_key=write_key,
        host=host,
        gzip=True,
        upload_interval=0.2,
        max_retries=2,
        on_error=lambda error, batch: errors.append(error),
    )


def send_demo_journey(client: Client, *, email: str, anonymous_id: str | None = None) -> str:
    """The demo path to MQL: browse, identify with company and title, white paper, pricing x3."""
    anonymous_id = anonymous_id or str(uuid.uuid4())
    client.page(anonymous_id=anonymous_id, name="Home", properties={"url": f"{SITE}/"})
    client.page(anonymous_id=anonymous_id, name="Features", properties={"url": f"{SITE}/features"})
    client.identify(
        anonymous_id=anonymous_id,
        traits={
            "email": email,
            "firstName": "Ada",
            "lastName": "Lovelace",
            "company": "Analytical Engines Ltd",
            "title": "Head of Operations",
        },
    )
    client.track(
        anonymous_id=anonymous_id,
        event="Whitepaper Downloaded",
        properties={"title": "The lead lifecycle"},
    )
    for _ in range(3):
        client.page(
            anonymous_id=anonymous_id, name="Pricing", properties={"url": f"{SITE}/pricing"}
        )
    client.flush()
    return anonymous_id


def wait_for(check: Callable[[], object], *, timeout: float = 30.0, what: str = "condition"):
    """Poll `check` until it returns something truthy (the worker runs in another process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
