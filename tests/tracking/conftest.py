from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client

from .messages import basic


@pytest.fixture
def send(client: Client, write_key) -> Callable[..., HttpResponse]:
    """POST a body to a tracking endpoint as a Segment library does (Basic auth, JSON)."""

    def post(
        path: str,
        body: Any,
        *,
        key: str | None = None,
        auth: bool = True,
        compress: bool = False,
        raw: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        data = raw if raw is not None else json.dumps(body).encode()
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = basic(write_key.key if key is None else key)
        if compress:
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        return client.post(path, data=data, content_type=content_type, headers=headers)

    return post
