"""What the load generator sends: Segment messages as analytics.js and the server libraries send
them, with `load.STAMP` where each request needs its own ids."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from leadflow.people.demo import data

from .load import STAMP

_STAMP = STAMP.decode()


def _context(rng: random.Random, path: str, campaign: dict[str, str] | None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "ip": f"198.51.100.{rng.randrange(1, 250)}",
        "userAgent": rng.choice(data.USER_AGENTS),
        "locale": "en-US",
        "library": {"name": "analytics.js", "version": "npm:next-1.70.0"},
        "page": {
            "path": path,
            "url": data.SITE + path,
            "title": data.PAGES.get(path, "Blog"),
            "referrer": "https://www.google.com/",
            "search": "",
        },
    }
    if campaign:
        context["campaign"] = campaign
    return context


def _message(rng: random.Random, index: int, anonymous: str, user_id: str) -> dict[str, Any]:
    path = rng.choice([*data.PAGES, *data.BLOG_POSTS])
    _, campaign, _ = rng.choice(data.ACQUISITION)
    message: dict[str, Any] = {
        "messageId": f"{_STAMP}-{index:03d}",
        "anonymousId": anonymous,
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "context": _context(rng, path, campaign if index % 5 == 0 else None),
    }
    if user_id:
        message["userId"] = user_id
    if rng.random() < 0.7:
        message.update(
            type="page",
            name=data.PAGES.get(path, "Blog"),
            properties={"path": path, "url": data.SITE + path, "title": "Page"},
        )
    else:
        message.update(
            type="track",
            event=rng.choice(["Newsletter Subscribed", "Webinar Registered", "Button Clicked"]),
            properties={"plan": rng.choice(["free", "pro"]), "location": "header"},
        )
    return message


def batch_bodies(user_ids: list[str], *, count: int = 32, size: int = 100) -> list[str]:
    """`count` batch bodies of `size` messages: new browsers (five calls each), known users by
    user id (three in ten), and one identify a batch (a new person giving an email)."""
    rng = random.Random(11)
    bodies = []
    for _ in range(count):
        messages = []
        for index in range(size):
            anonymous = f"{_STAMP}-a{index // 5}"
            user_id = rng.choice(user_ids) if user_ids and rng.random() < 0.3 else ""
            messages.append(_message(rng, index, "" if user_id else anonymous, user_id))
        messages[-1] = {
            "type": "identify",
            "messageId": f"{_STAMP}-id",
            "anonymousId": f"{_STAMP}-a0",
            "traits": {
                "email": f"{_STAMP}@bench.example.com",
                "firstName": rng.choice(data.FIRST_NAMES),
                "lastName": rng.choice(data.LAST_NAMES),
            },
            "context": _context(rng, "/contact", None),
        }
        bodies.append(
            json.dumps({"batch": messages, "sentAt": dt.datetime.now(dt.UTC).isoformat()})
        )
    return bodies


def track_bodies(user_ids: list[str], *, count: int = 64) -> list[str]:
    """Single /v1/track bodies: a browser's event, a known user's one time in three."""
    rng = random.Random(13)
    bodies = []
    for _ in range(count):
        user_id = rng.choice(user_ids) if user_ids and rng.random() < 0.3 else ""
        message = _message(rng, 0, "" if user_id else f"{_STAMP}-t", user_id)
        message.update(
            type="track",
            event="Button Clicked",
            properties={"plan": "pro", "location": "header"},
        )
        message.pop("name", None)
        message["messageId"] = _STAMP
        bodies.append(json.dumps(message))
    return bodies
