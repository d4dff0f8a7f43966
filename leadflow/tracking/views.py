"""The Segment-compatible tracking API: /v1/identify, track, page, screen, group, alias, batch,
and the short paths of the browser library (/v1/i, /v1/t, ..., /v1/b), all open to any origin."""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import ipaddress
import json
import math
import re
import zlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from .keys import write_key_find
from .models import RetiredKey, WriteKey
from .ratelimit import rate_take
from .services import events_ingest

# Printable ASCII without spaces, as long as the column: anything else cannot be a key.
_KEY_SHAPE = re.compile(r"[\x21-\x7e]{1,64}")
_ORIGIN_SHAPE = re.compile(r"[\x21-\x7e]{1,500}")
CORS_HEADERS = {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, Content-Encoding",
    "Access-Control-Max-Age": "86400",
}


# The answer to nearly every call, serialized once.
SUCCESS = b'{"success": true}'


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"success": False, "error": message}, status=status)


class _OutOfRange(Exception):
    pass


def _no_constant(name: str) -> Any:
    # NaN and Infinity are not JSON, and PostgreSQL's jsonb refuses them.
    raise ValueError(name)


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _OutOfRange(text)
    return number


# Python's own parser, as strict as JSON: it refuses NaN and Infinity (PostgreSQL's jsonb would)
# and reads integers past 64 bits exactly. Built once: the hooks would build one per call.
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def _loads(raw: bytes) -> Any:
    """json.loads of a body, in any encoding JSON allows (UTF-8, -16 or -32)."""
    return _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))


def _body(request: HttpRequest, limit: int) -> dict[str, Any]:
    """The JSON object of the body, whatever its Content-Type: analytics.js sends text/plain so
    that a browser needs no preflight."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:  # refused before it is read
        raise ApiError(413, f"body is larger than {limit // 1024} KB")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise ApiError(413, f"body is larger than {limit // 1024} KB") from None
    if len(raw) > limit:
        raise ApiError(413, f"body is larger than {limit // 1024} KB")
    # Headers are read from META: `request.headers` would first build a dict of all of them.
    if request.META.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
        try:
            # Read one byte past the limit: a small gzip bomb is refused, not inflated.
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
                raw = stream.read(limit + 1)
        except (OSError, EOFError, zlib.error):
            raise ApiError(400, "body is not valid gzip") from None
        if len(raw) > limit:
            raise ApiError(413, f"body is larger than {limit // 1024} KB")
    try:
        body = _loads(raw)
    except _OutOfRange:
        raise ApiError(400, "body has a number too large to store") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "body must be a JSON object")
    return body


def _write_key(request: HttpRequest, body: dict[str, Any]) -> WriteKey:
    key = ""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("basic "):
        try:
            key = base64.b64decode(header[6:].strip()).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(401, "Authorization header is not valid Basic auth") from None
    key = key or (body.get("writeKey") if isinstance(body.get("writeKey"), str) else "")
    if not key:
        raise ApiError(401, "no write key: send it as the Basic auth user name or as writeKey")
    # Keys are short URL-safe tokens: anything else is no key, and must not reach the database
    # (a NUL or half a surrogate pair would fail there rather than answer 401).
    if not _KEY_SHAPE.fullmatch(key):
        raise ApiError(401, "invalid or revoked write key")
    source = write_key_find(key)
    if source is not None and source.is_active:
        return source
    if source is not None or RetiredKey.objects.filter(key=key).exists():
        raise ApiError(401, "revoked write key")
    raise ApiError(401, "invalid or revoked write key")


def client_ip(request: HttpRequest) -> str:
    """The sender's address, for context.ip: the peer's, or behind TRACKING_TRUSTED_PROXIES
    proxies the address that the farthest of them saw (the Nth entry from the right of
    X-Forwarded-For). Entries further left are written by the client and prove nothing."""
    address = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRACKING_TRUSTED_PROXIES
    if hops > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        # Fewer entries than proxies: the request did not come through them all (a call from
        # inside the network), and the peer is the sender.
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return ""


def _cors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer the browser's preflight and open every answer to the sending page's origin.

    Write keys are public (they ship in pages), and no cookie is read: any origin may send.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204, headers=CORS_HEADERS)
        elif request.method != "POST":
            response = HttpResponseNotAllowed(["POST"])
        else:
            response = view(request, *args, **kwargs)
        origin = request.META.get("HTTP_ORIGIN", "")
        response["Access-Control-Allow-Origin"] = origin if _ORIGIN_SHAPE.fullmatch(origin) else "*"
        # A page may read these only if told: analytics.js waits X-RateLimit-Reset after a 429.
        response["Access-Control-Expose-Headers"] = "Retry-After, X-RateLimit-Reset"
        patch_vary_headers(response, ["Origin"])
        return response

    return csrf_exempt(wrapped)


def _limited(source: WriteKey, events: int) -> JsonResponse | None:
    decision = rate_take(source_id=source.pk, events=events)
    if decision.allowed:
        return None
    response = _error(
        429,
        f"rate limit: this write key may send {decision.limit} events every "
        f"{settings.TRACKING_RATE_WINDOW} s; retry in {decision.retry_after} s",
    )
    # Retry-After for HTTP clients; X-RateLimit-Reset is what analytics.js reads.
    response["Retry-After"] = str(decision.retry_after)
    response["X-RateLimit-Reset"] = str(decision.retry_after)
    return response


@_cors
def single(request: HttpRequest, type_: str) -> HttpResponse:
    try:
        body = _body(request, settings.TRACKING_MAX_MESSAGE_BYTES)
        source = _write_key(request, body)
    except ApiError as exc:
        return _error(exc.status, exc.message)
    if limited := _limited(source, 1):
        return limited
    result = events_ingest(
        source=source,
        raws=[body],
        type_=type_,
        received_at=timezone.now(),
        ip=client_ip(request),
    )
    if result.rejected:
        return _error(400, result.rejected[0]["error"])
    return HttpResponse(SUCCESS, content_type="application/json")


def _inherit(body: dict[str, Any], message: Any) -> Any:
    """A batch's own context, integrations and sentAt apply to each message without its own."""
    if not isinstance(message, dict):
        return message
    for name in ("context", "integrations"):
        shared = body.get(name)
        if isinstance(shared, dict) and isinstance(message.get(name, {}), dict):
            message = {**message, name: {**shared, **(message.get(name) or {})}}
    if "sentAt" not in message and "sentAt" in body:
        message = {**message, "sentAt": body["sentAt"]}
    return message


@_cors
def batch(request: HttpRequest) -> HttpResponse:
    try:
        body = _body(request, settings.TRACKING_MAX_BATCH_BYTES)
        source = _write_key(request, body)
    except ApiError as exc:
        return _error(exc.status, exc.message)
    messages = body.get("batch")
    if not isinstance(messages, list):
        return _error(400, "batch must be a list of messages")
    if messages and (limited := _limited(source, len(messages))):
        return limited
    messages = [_inherit(body, message) for message in messages]
    result = events_ingest(
        source=source, raws=messages, received_at=timezone.now(), ip=client_ip(request)
    )
    if result.rejected and not result.accepted and not result.duplicates:
        return JsonResponse(
            {"success": False, "error": "no message was valid", "rejected": result.rejected},
            status=400,
        )
    if result.rejected:
        return JsonResponse({"success": True, "rejected": result.rejected})
    return HttpResponse(SUCCESS, content_type="application/json")
