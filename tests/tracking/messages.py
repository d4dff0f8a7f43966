"""Segment messages as the libraries send them, for the tracking tests."""

from __future__ import annotations

import base64
import itertools


def basic(key: str) -> str:
    """The Authorization header of the Segment libraries: the write key as the user, no password."""
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


_ids = itertools.count(1)


def message_id() -> str:
    return f"msg-{next(_ids)}"


def page(anonymous_id: str = "anon-1", url: str = "https://www.example.com/", **extra) -> dict:
    return {
        "messageId": message_id(),
        "anonymousId": anonymous_id,
        "properties": {"url": url},
        **extra,
    }


def track(event: str = "Signed Up", **extra) -> dict:
    return {"messageId": message_id(), "anonymousId": "anon-1", "event": event, **extra}


def identify(email: str, anonymous_id: str = "anon-1", **traits) -> dict:
    return {
        "messageId": message_id(),
        "anonymousId": anonymous_id,
        "traits": {"email": email, **traits},
    }


def typed(kind: str, message: dict) -> dict:
    return {"type": kind, **message}


def screen(name: str = "Home", anonymous_id: str = "anon-1", **extra) -> dict:
    return {"messageId": message_id(), "anonymousId": anonymous_id, "name": name, **extra}


def group(group_id: str = "acme", company: str = "Acme", **extra) -> dict:
    return {
        "messageId": message_id(),
        "anonymousId": "anon-1",
        "groupId": group_id,
        "traits": {"name": company, "industry": "Software"},
        **extra,
    }


def alias(user_id: str, previous_id: str, **extra) -> dict:
    return {"messageId": message_id(), "userId": user_id, "previousId": previous_id, **extra}
