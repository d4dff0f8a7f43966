from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client

from .messages import basic


@pytest.fixture(autouse=True)
def _fresh_write_keys() -> None:
    # Tests change keys behind the model's back (queryset updates): start from the database.
    from leadflow.tracking.keys import write_keys_forget

    write_keys_forget()


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
        remote_addr: str | None = None,
    ) -> HttpResponse:
        data = raw if raw is not None else json.dumps(body).encode()
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = basic(write_key.key if key is None else key)
        if compress:
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        environ = {"REMOTE_ADDR": remote_addr} if remote_addr else {}
        return client.post(path, data=data, content_type=content_type, headers=headers, **environ)

    return post
