"""Browsers on any site may send: preflight answered, every answer open to the sending origin."""

from __future__ import annotations

import json

import pytest

from leadflow.tracking.models import Event

from .messages import page, typed

PATHS = [
    *(f"/v1/{kind}" for kind in ("identify", "track", "page", "screen", "group", "alias")),
    *(f"/v1/{letter}" for letter in "itpsga"),
    "/v1/batch",
    "/v1/b",
]
ORIGIN = "https://shop.example"


@pytest.mark.parametrize("path", PATHS)
def test_a_preflight_is_answered_for_every_path(db, client, path):
    response = client.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "authorization", "content-encoding"} <= allowed
    assert int(response["Access-Control-Max-Age"]) >= 600
    assert "Origin" in response["Vary"]


def test_a_preflight_without_an_origin_allows_any(db, client):
    response = client.options("/v1/t")

    assert response["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("key", "status"), [(None, 200), ("wrong", 401)], ids=["accepted", "refused"]
)
def test_post_answers_carry_the_cors_header_too(db, send, key, status):
    response = send("/v1/page", page(), key=key, headers={"Origin": ORIGIN})

    assert response.status_code == status
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_a_malformed_body_from_a_browser_still_gets_a_readable_answer(db, send):
    response = send("/v1/t", None, raw=b"{oops", headers={"Origin": ORIGIN})

    assert response.status_code == 400
    assert response["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize("path", ["/v1/p", "/v1/b"])
def test_a_text_plain_body_with_the_write_key_inside_is_accepted(db, client, write_key, path):
    # analytics.js sends text/plain so that a browser needs no preflight; no Authorization.
    message = {**page(), "type": "page", "writeKey": write_key.key}
    body = message if path == "/v1/p" else {"batch": [message], "writeKey": write_key.key}

    response = client.post(
        path, data=json.dumps(body), content_type="text/plain", headers={"Origin": ORIGIN}
    )

    assert (response.status_code, response.json()) == (200, {"success": True})
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert Event.objects.get().source == write_key


def test_a_text_plain_gzip_batch_is_accepted(db, send):
    response = send(
        "/v1/b", {"batch": [typed("page", page())]}, content_type="text/plain", compress=True
    )

    assert response.status_code == 200
    assert Event.objects.count() == 1


@pytest.mark.parametrize("path", ["/v1/t", "/v1/b"])
def test_get_is_still_not_allowed(db, client, path):
    response = client.get(path)

    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_a_page_may_read_how_long_to_wait(db, send):
    response = send("/v1/t", page(), headers={"Origin": ORIGIN})

    exposed = {h.strip() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"Retry-After", "X-RateLimit-Reset"} <= exposed


def test_an_origin_that_is_not_one_is_not_echoed(db, client):
    response = client.options("/v1/t", headers={"Origin": "a b\tc"})

    assert response["Access-Control-Allow-Origin"] == "*"
