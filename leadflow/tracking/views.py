"""The Segment-compatible tracking API: /v1/identify, /v1/track, /v1/page, /v1/batch."""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import zlib
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import WriteKey
from .services import events_ingest


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"success": False, "error": message}, status=status)


def _body(request: HttpRequest, limit: int) -> dict[str, Any]:
    raw = request.body
    if len(raw) > limit:
        raise ApiError(413, f"body is larger than {limit // 1024} KB")
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        try:
            # Read one byte past the limit: a small gzip bomb is refused, not inflated.
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
                raw = stream.read(limit + 1)
        except (OSError, EOFError, zlib.error):
            raise ApiError(400, "body is not valid gzip") from None
        if len(raw) > limit:
            raise ApiError(413, f"body is larger than {limit // 1024} KB")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "body must be a JSON object")
    return body


def _write_key(request: HttpRequest, body: dict[str, Any]) -> WriteKey:
    key = ""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            key = base64.b64decode(header[6:].strip()).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(401, "Authorization header is not valid Basic auth") from None
    key = key or (body.get("writeKey") if isinstance(body.get("writeKey"), str) else "")
    if not key:
        raise ApiError(401, "no write key: send it as the Basic auth user name or as writeKey")
    source = WriteKey.objects.filter(key=key, revoked_at__isnull=True).first()
    if source is None:
        raise ApiError(401, "invalid or revoked write key")
    return source


@csrf_exempt
@require_POST
def single(request: HttpRequest, type_: str) -> JsonResponse:
    try:
        body = _body(request, settings.TRACKING_MAX_MESSAGE_BYTES)
        source = _write_key(request, body)
    except ApiError as exc:
        return _error(exc.status, exc.message)
    result = events_ingest(source=source, raws=[body], type_=type_, received_at=timezone.now())
    if result.rejected:
        return _error(400, result.rejected[0]["error"])
    return JsonResponse({"success": True})


def _inherit(body: dict[str, Any], message: Any) -> Any:
    """A batch's own context and sentAt apply to each message that has none of its own."""
    if not isinstance(message, dict):
        return message
    shared_context = body.get("context")
    if isinstance(shared_context, dict) and isinstance(message.get("context", {}), dict):
        message = {**message, "context": {**shared_context, **(message.get("context") or {})}}
    if "sentAt" not in message and "sentAt" in body:
        message = {**message, "sentAt": body["sentAt"]}
    return message


@csrf_exempt
@require_POST
def batch(request: HttpRequest) -> JsonResponse:
    try:
        body = _body(request, settings.TRACKING_MAX_BATCH_BYTES)
        source = _write_key(request, body)
    except ApiError as exc:
        return _error(exc.status, exc.message)
    messages = body.get("batch")
    if not isinstance(messages, list):
        return _error(400, "batch must be a list of messages")
    messages = [_inherit(body, message) for message in messages]
    result = events_ingest(source=source, raws=messages, received_at=timezone.now())
    if result.rejected and not result.accepted and not result.duplicates:
        return JsonResponse(
            {"success": False, "error": "no message was valid", "rejected": result.rejected},
            status=400,
        )
    answer: dict[str, Any] = {"success": True}
    if result.rejected:
        answer["rejected"] = result.rejected
    return JsonResponse(answer)
