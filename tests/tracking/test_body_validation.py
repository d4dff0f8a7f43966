"""A malformed body or message is refused with 400 and a message that names what is wrong."""

from __future__ import annotations

import pytest

from leadflow.tracking.models import Event

from .messages import message_id, page, track


def _refused(response, error: str) -> None:
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": error}
    assert not Event.objects.exists()


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe\x00", b'{"a": 1'])
@pytest.mark.parametrize("path", ["/v1/track", "/v1/batch"])
def test_malformed_json_is_refused(db, send, path, raw):
    _refused(send(path, None, raw=raw), "body is not valid JSON")


@pytest.mark.parametrize("body", [[], [{"messageId": "m"}], "text", 42, None])
def test_a_body_that_is_not_an_object_is_refused(db, send, body):
    _refused(send("/v1/page", body), "body must be a JSON object")


def test_a_message_without_message_id_is_refused(db, send):
    message = page()
    del message["messageId"]

    _refused(send("/v1/page", message), "messageId is required")


def test_a_message_without_anonymous_id_or_user_id_is_refused(db, send):
    _refused(
        send("/v1/track", {"messageId": message_id(), "event": "Signed Up"}),
        "anonymousId or userId is required",
    )
    _refused(
        send("/v1/track", {"messageId": message_id(), "event": "E", "anonymousId": "  "}),
        "anonymousId or userId is required",
    )


def test_a_track_call_without_an_event_is_refused(db, send):
    message = track()
    del message["event"]

    _refused(send("/v1/track", message), "event is required for a track call")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"messageId": {"id": 1}}, "messageId must be a string"),
        ({"anonymousId": "x" * 201}, "anonymousId is longer than 200 characters"),
        ({"properties": ["url"]}, "properties must be an object"),
        ({"context": "web"}, "context must be an object"),
        ({"timestamp": "yesterday"}, "timestamp is not an ISO 8601 date-time"),
        ({"timestamp": 1700000000}, "timestamp is not an ISO 8601 date-time"),
        ({"sentAt": "soon"}, "sentAt is not an ISO 8601 date-time"),
    ],
)
def test_a_field_of_the_wrong_kind_is_named(db, send, change, error):
    _refused(send("/v1/page", {**page(), **change}), error)


@pytest.mark.parametrize(
    ("email", "error"),
    [
        ("not-an-email", "traits.email is not a valid email address"),
        (42, "traits.email must be a string"),
    ],
)
def test_identify_with_a_bad_email_is_refused(db, send, email, error):
    message = {"messageId": message_id(), "anonymousId": "a", "traits": {"email": email}}

    _refused(send("/v1/identify", message), error)


def test_a_body_that_says_gzip_but_is_not_is_refused(db, client, write_key):
    from .messages import basic

    response = client.post(
        "/v1/page",
        data=b'{"messageId": "m", "anonymousId": "a"}',
        content_type="application/json",
        headers={"Authorization": basic(write_key.key), "Content-Encoding": "gzip"},
    )

    _refused(response, "body is not valid gzip")


def test_a_gzip_body_is_accepted(db, send):
    response = send("/v1/page", page(url="https://www.example.com/pricing"), compress=True)

    assert (response.status_code, response.json()) == (200, {"success": True})
    assert Event.objects.get().url == "https://www.example.com/pricing"


def test_a_gzip_batch_is_accepted(db, send):
    batch = [{"type": "page", **page()} for _ in range(20)]

    response = send("/v1/batch", {"batch": batch}, compress=True)

    assert response.status_code == 200
    assert Event.objects.count() == 20


@pytest.mark.parametrize("batch", [None, {"type": "page"}, "page", 3])
def test_a_batch_that_is_not_a_list_is_refused(db, send, batch):
    body = {} if batch is None else {"batch": batch}

    _refused(send("/v1/batch", body), "batch must be a list of messages")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (
            b'{"messageId": "m1", "anonymousId": "a", "properties": {"x": "\\ud800"}}',
            "message contains half of a surrogate pair, not text",
        ),
        (
            b'{"messageId": "m1", "anonymousId": "a", "properties": {"x": "a\\u0000b"}}',
            "message contains a NUL character",
        ),
        (b'{"messageId": "m1", "anonymousId": "a\\u0000"}', "message contains a NUL character"),
    ],
)
def test_text_postgresql_cannot_store_is_refused_not_a_server_error(db, send, raw, error):
    _refused(send("/v1/page", None, raw=raw), error)


def test_an_escaped_backslash_before_u0000_is_ordinary_text(db, send):
    raw = b'{"messageId": "m1", "anonymousId": "a", "properties": {"x": "C:\\\\u0000"}}'

    assert send("/v1/page", None, raw=raw).status_code == 200
    assert Event.objects.get().properties == {"x": "C:\\u0000"}
