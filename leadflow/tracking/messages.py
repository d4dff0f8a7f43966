"""Parse Segment tracking messages into plain values, with errors that name the field."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.dateparse import parse_datetime

from leadflow.people.models import Contact, email_normalize

TYPES = ("identify", "track", "page", "screen", "group", "alias")
# Top-level fields that have a column of their own (or are the request's, not the message's):
# every other field is kept as sent in Event.extra. receivedAt is ours, never the sender's.
_MAPPED = frozenset(
    {"type", "messageId", "anonymousId", "userId", "properties", "context", "writeKey"}
    | {"receivedAt"}
)
_NAMED = {"track": "event", "page": "name", "screen": "name"}

# PostgreSQL stores no NUL character, in text or in jsonb: a \u0000 escape not itself escaped.
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")

# Segment trait names (both spellings the libraries send) → contact fields.
TRAIT_FIELDS = {
    "firstName": "first_name",
    "first_name": "first_name",
    "lastName": "last_name",
    "last_name": "last_name",
    "company": "company",
    "title": "job_title",
    "jobTitle": "job_title",
    "job_title": "job_title",
    "phone": "phone",
    "country": "country",
}


class MessageError(ValueError):
    pass


@dataclass
class Message:
    type: str
    message_id: str
    anonymous_id: str
    user_id: str
    name: str
    url: str
    properties: dict[str, Any]
    context: dict[str, Any]
    occurred_at: dt.datetime
    extra: dict[str, Any] = field(default_factory=dict)
    # The same three objects as JSON text, for the jsonb columns.
    properties_json: str = "{}"
    context_json: str = "{}"
    extra_json: str = "{}"
    email: str = ""
    contact_fields: dict[str, str] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    # alias: the id (anonymous or a former user id) whose history joins userId's contact.
    previous_id: str = ""
    # group: the company's name from the group's traits, for the contact's company field.
    company: str = ""


def _text(raw: dict[str, Any], key: str, limit: int = 200) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise MessageError(f"{key} must be a string")
    value = value.strip()
    if len(value) > limit:
        raise MessageError(f"{key} is longer than {limit} characters")
    return value


def _object(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MessageError(f"{key} must be an object")
    return value


def _time(raw: dict[str, Any], key: str) -> dt.datetime | None:
    value = raw.get(key)
    if value in (None, ""):
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well-formed but impossible: month 13, hour 25, offset +25:00
        parsed = None
    if parsed is None:
        raise MessageError(f"{key} is not an ISO 8601 date-time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


_MAX_LENGTH = {name: Contact._meta.get_field(name).max_length for name in {*TRAIT_FIELDS.values()}}
EMAIL_MAX_LENGTH = Contact._meta.get_field("email").max_length


def _contact_fields(traits: dict[str, Any]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for trait, name in TRAIT_FIELDS.items():
        value = traits.get(trait)
        if isinstance(value, dict):  # Segment's company trait may be an object with a name
            value = value.get("name")
        if (
            isinstance(value, str | int | float)
            and not isinstance(value, bool)
            and str(value).strip()
        ):
            fields[name] = str(value).strip()[: _MAX_LENGTH[name]]
    address = traits.get("address")
    if isinstance(address, dict) and isinstance(address.get("country"), str):
        fields.setdefault("country", address["country"].strip()[: _MAX_LENGTH["country"]])
    return fields


def _dumps(value: Any) -> str:
    try:
        # orjson writes the same compact UTF-8 JSON several times faster; what it refuses (an
        # integer past 64 bits, half a surrogate pair, deep nesting) goes the standard way.
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    except RecursionError:
        raise MessageError("message is nested too deeply") from None


def message_parse(
    raw: Any, *, type_: str | None, received_at: dt.datetime, max_bytes: int, ip: str = ""
) -> Message:
    """Validate one message. `type_` is the endpoint's type (None inside a batch).

    `ip` is the sender's address: it fills context.ip when the message has none, as Segment does
    (a client that sends its own, even null or "0.0.0.0" to opt out, keeps it).
    """
    if not isinstance(raw, dict):
        raise MessageError("a message must be a JSON object")
    # Serialized once here, in three parts: they give the size, and the jsonb columns get the
    # same text (psycopg would serialize the objects again, deeper in the stack).
    rest = {k: v for k, v in raw.items() if k not in ("properties", "context")}
    texts = [_dumps(raw.get("properties")), _dumps(raw.get("context")), _dumps(rest)]
    try:
        # Bytes of UTF-8 as the body came: escaping each non-ASCII character would count it 6 times.
        size = sum(len(text.encode()) for text in texts) + 30
    except UnicodeEncodeError:
        raise MessageError("message contains half of a surrogate pair, not text") from None
    if size > max_bytes:
        raise MessageError(f"message is larger than {max_bytes // 1024} KB")
    if any("\\u0000" in text and _NUL.search(text) for text in texts):
        raise MessageError("message contains a NUL character")
    kind = type_ or raw.get("type")
    if kind not in TYPES:
        raise MessageError(f"type must be one of {', '.join(TYPES)}")
    message_id = _text(raw, "messageId")
    if not message_id:
        raise MessageError("messageId is required")
    anonymous_id = _text(raw, "anonymousId")
    user_id = _text(raw, "userId")
    if not (anonymous_id or user_id):
        raise MessageError("anonymousId or userId is required")
    properties = _object(raw, "properties")
    context = _object(raw, "context")
    context_json = texts[1] if context else "{}"
    if ip and "ip" not in context:
        # Spliced into the serialized text: the size limit counts what the sender sent.
        context = {**context, "ip": ip}
        tail = f'"ip":{_dumps(ip)}}}'
        context_json = f"{context_json[:-1]},{tail}" if len(context_json) > 2 else "{" + tail
    traits = _object(raw, "traits")

    name_key = _NAMED.get(kind)
    name = _text(raw, name_key) if name_key else ""
    if kind == "track" and not name:
        raise MessageError("event is required for a track call")
    previous_id = company = ""
    if kind == "alias":
        previous_id = _text(raw, "previousId")
        if not previous_id:
            raise MessageError("previousId is required for an alias call")
        if not user_id:
            raise MessageError("userId is required for an alias call")
    elif kind == "group":
        if not _text(raw, "groupId"):
            raise MessageError("groupId is required for a group call")
        company = traits.get("name")
        company = (
            str(company).strip()[: _MAX_LENGTH["company"]]
            if isinstance(company, str | int | float) and not isinstance(company, bool)
            else ""
        )
    page = _object(context, "page")
    url = properties.get("url") if kind == "page" else None
    url = (
        url if isinstance(url, str) else page.get("url") if isinstance(page.get("url"), str) else ""
    )

    # Correct the client's clock as Segment does: shift its timestamp by the gap between its
    # sentAt and our receipt, so a phone an hour fast does not log events in the future.
    timestamp = _time(raw, "timestamp") or _time(raw, "originalTimestamp")
    sent_at = _time(raw, "sentAt")
    try:
        if timestamp is None:
            occurred_at = received_at
        elif sent_at is not None:
            occurred_at = timestamp + (received_at - sent_at)
        else:
            occurred_at = timestamp
    except OverflowError:
        raise MessageError("timestamp is out of range once corrected by sentAt") from None

    email, contact_fields = "", {}
    if kind == "identify":
        traits = traits or _object(context, "traits")
        raw_email = traits.get("email")
        if raw_email not in (None, ""):
            if not isinstance(raw_email, str):
                raise MessageError("traits.email must be a string")
            email = email_normalize(raw_email)
            if len(email) > EMAIL_MAX_LENGTH:
                raise MessageError(f"traits.email is longer than {EMAIL_MAX_LENGTH} characters")
            try:
                validate_email(email)
            except ValidationError:
                raise MessageError("traits.email is not a valid email address") from None
        contact_fields = _contact_fields(traits)
    extra = {k: v for k, v in rest.items() if k not in _MAPPED and k != name_key}
    return Message(
        type=kind,
        message_id=message_id,
        anonymous_id=anonymous_id,
        user_id=user_id,
        name=name,
        url=url[:2000],
        properties=properties,
        context=context,
        occurred_at=occurred_at,
        extra=extra,
        properties_json=texts[0] if properties else "{}",
        context_json=context_json,
        extra_json=_dumps(extra) if extra else "{}",
        email=email,
        contact_fields=contact_fields,
        traits=traits if kind == "identify" else {},
        previous_id=previous_id,
        company=company,
    )
