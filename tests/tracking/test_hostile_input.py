"""Odd and hostile bodies are refused with a 4xx that says why, never a server error."""

from __future__ import annotations

import base64
import json

import pytest

from leadflow.people.models import Contact
from leadflow.tracking.models import Event

from .messages import identify, page, typed


def _refused(response, status: int, error: str | None = None) -> None:
    assert response.status_code == status, response.content
    if error is not None:
        assert response.json() == {"success": False, "error": error}
    assert not Event.objects.exists()


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(db, send, number):
    raw = f'{{"messageId": "m", "anonymousId": "a", "properties": {{"x": {number}}}}}'.encode()

    _refused(send("/v1/page", None, raw=raw), 400, "body is not valid JSON")


def test_a_number_too_large_for_a_float_is_refused(db, send):
    raw = b'{"messageId": "m", "anonymousId": "a", "properties": {"x": 1e400}}'

    _refused(send("/v1/page", None, raw=raw), 400, "body has a number too large to store")


def test_a_body_nested_deeper_than_python_reads_is_refused(db, send):
    raw = b'{"batch": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"

    _refused(send("/v1/batch", None, raw=raw), 400, "body is not valid JSON")


def test_a_deep_but_readable_message_is_stored_or_refused_never_a_crash(db, send):
    deep: dict = {}
    node = deep
    for _ in range(400):
        node["a"] = {}
        node = node["a"]

    response = send("/v1/page", page(properties=deep))

    assert response.status_code in (200, 400)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"timestamp": "2030-13-45T10:00:00Z"}, "timestamp is not an ISO 8601 date-time"),
        ({"timestamp": "2030-01-01T25:00:00Z"}, "timestamp is not an ISO 8601 date-time"),
        ({"sentAt": "2030-01-01T10:00:00+25:00"}, "sentAt is not an ISO 8601 date-time"),
        (
            {"timestamp": "0001-01-01T00:00:00Z", "sentAt": "9999-12-31T00:00:00Z"},
            "timestamp is out of range once corrected by sentAt",
        ),
        (
            {"timestamp": "9999-12-31T00:00:00Z", "sentAt": "0001-01-02T00:00:00Z"},
            "timestamp is out of range once corrected by sentAt",
        ),
    ],
)
def test_impossible_dates_are_named(db, send, change, error):
    _refused(send("/v1/page", {**page(), **change}), 400, error)


def test_traits_longer_than_the_contact_fields_are_cut_not_a_crash(db, send):
    message = identify("ann@example.com", firstName="A" * 500, phone="1" * 80, title="T" * 900)

    assert send("/v1/identify", message).status_code == 200

    contact = Contact.objects.get()
    assert (len(contact.first_name), len(contact.phone), len(contact.job_title)) == (100, 50, 200)


def test_an_email_longer_than_the_column_is_refused(db, send):
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"

    _refused(send("/v1/identify", identify(email)), 400)


@pytest.mark.parametrize(
    "key", ["k\x00ey", "\ud800", "é" * 10, "x" * 65, " ", "key\nline"], ids=repr
)
def test_a_write_key_that_cannot_be_one_is_refused_without_asking_the_database(
    db, send, key, django_assert_num_queries
):
    body = json.dumps({**page(), "writeKey": key}).encode()  # \ud800 stays escaped in JSON

    with django_assert_num_queries(0):
        response = send("/v1/page", None, raw=body, auth=False)

    _refused(response, 401, "invalid or revoked write key")


def test_a_basic_user_with_a_nul_is_refused(db, client):
    token = base64.b64encode(b"abc\x00def:").decode()

    response = client.post(
        "/v1/page", data=page(), content_type="application/json",
        headers={"Authorization": f"Basic {token}"},
    )  # fmt: skip

    _refused(response, 401)


def test_a_declared_length_over_the_limit_is_refused_before_reading(db, send):
    response = send("/v1/batch", {"batch": []}, headers={"Content-Length": str(600 * 1024)})

    assert response.status_code == 413


def test_a_body_of_megabytes_is_413_not_a_generic_400(db, send):
    body = {"batch": [typed("page", page(properties={"x": "y" * 1000})) for _ in range(3000)]}

    _refused(send("/v1/batch", body), 413, "body is larger than 500 KB")


def test_a_nul_in_a_property_name_is_refused(db, send):
    raw = b'{"messageId": "m", "anonymousId": "a", "properties": {"a\\u0000b": 1}}'

    _refused(send("/v1/page", None, raw=raw), 400, "message contains a NUL character")


def test_a_batch_of_thousands_of_non_messages_is_answered(db, send):
    response = send("/v1/batch", {"batch": [1] * 50_000})

    assert response.status_code in (400, 429)
