"""Size limits of the Segment API: 32 KB a message, 500 KB a batch, gzip or not."""

from __future__ import annotations

import gzip
import json

import pytest

from leadflow.tracking.models import Event

from .messages import basic, page

KB = 1024


def _page_of(size: int) -> dict:
    """A page message whose JSON body is `size` bytes or a little more."""
    message = page(properties={"url": "https://www.example.com/", "padding": ""})
    message["properties"]["padding"] = "x" * max(0, size - len(json.dumps(message)))
    return message


def test_a_message_just_under_32_kb_is_accepted(db, send):
    response = send("/v1/page", _page_of(32 * KB - 100))

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/v1/identify", "/v1/track", "/v1/page"])
def test_a_message_over_32_kb_is_refused_with_413(db, send, path):
    message = _page_of(32 * KB + 10)
    message["event"] = "Big"

    response = send(path, message)

    assert response.status_code == 413
    assert response.json() == {"success": False, "error": "body is larger than 32 KB"}
    assert not Event.objects.exists()


def test_a_message_that_inflates_over_32_kb_is_refused_with_413(db, send):
    message = _page_of(200 * KB)
    assert len(gzip.compress(json.dumps(message).encode())) < 32 * KB

    response = send("/v1/page", message, compress=True)

    assert response.status_code == 413
    assert not Event.objects.exists()


def test_a_batch_over_500_kb_is_refused_with_413(db, send):
    batch = [{"type": "page", **_page_of(20 * KB)} for _ in range(26)]

    response = send("/v1/batch", {"batch": batch})

    assert response.status_code == 413
    assert response.json() == {"success": False, "error": "body is larger than 500 KB"}
    assert not Event.objects.exists()


def test_a_gzip_batch_that_inflates_over_500_kb_is_refused_with_413(db, send):
    batch = [{"type": "page", **_page_of(30 * KB)} for _ in range(20)]

    response = send("/v1/batch", {"batch": batch}, compress=True)

    assert response.status_code == 413


def test_a_batch_under_500_kb_with_one_message_over_32_kb_stores_the_others(db, send):
    batch = [{"type": "page", **page()}, {"type": "page", **_page_of(40 * KB)}]

    response = send("/v1/batch", {"batch": batch})

    assert response.status_code == 200
    assert response.json()["rejected"] == [
        {"index": 1, "messageId": batch[1]["messageId"], "error": "message is larger than 32 KB"}
    ]
    assert Event.objects.count() == 1


def test_a_gzip_bomb_is_refused_without_inflating_it(db, client, write_key):
    bomb = gzip.compress(b'{"a": "' + b"0" * (50 * 1024 * KB) + b'"}')
    assert len(bomb) < 100 * KB

    response = client.post(
        "/v1/batch",
        data=bomb,
        content_type="application/json",
        headers={"Authorization": basic(write_key.key), "Content-Encoding": "gzip"},
    )

    assert response.status_code == 413


def test_the_32_kb_limit_counts_bytes_not_escaped_characters(db, send):
    # 12,000 "é" are 24 KB of UTF-8 (as a browser's JSON.stringify sends them), but 72 KB once
    # JSON escapes each as \u00e9.
    message = page(properties={"url": "https://www.example.com/", "note": "é" * 12_000})

    response = send("/v1/page", None, raw=json.dumps(message, ensure_ascii=False).encode())

    assert (response.status_code, response.json()) == (200, {"success": True})
    assert Event.objects.get().properties["note"] == "é" * 12_000


def test_a_batch_message_over_32_kb_of_utf_8_is_rejected(db, send):
    message = {"type": "page", **page(properties={"note": "é" * 17_000})}

    response = send("/v1/batch", {"batch": [message, {"type": "page", **page()}]})

    assert response.json()["rejected"][0]["error"] == "message is larger than 32 KB"
    assert Event.objects.count() == 1
