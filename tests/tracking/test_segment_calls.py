"""The four Segment calls are accepted and stored as the libraries send them."""

from __future__ import annotations

import pytest

from leadflow.tracking.models import Event

from .messages import identify, message_id, page, track, typed


@pytest.mark.parametrize(
    ("path", "message", "kind"),
    [
        ("/v1/identify", identify("ann@example.com"), "identify"),
        ("/v1/track", track("Signed Up"), "track"),
        ("/v1/page", page(), "page"),
    ],
)
def test_each_single_call_answers_success_and_stores_the_event(
    db, send, write_key, path, message, kind
):
    response = send(path, message)

    assert response.status_code == 200
    assert response.json() == {"success": True}
    event = Event.objects.get()
    assert (event.type, event.message_id, event.source) == (kind, message["messageId"], write_key)


def test_a_batch_answers_success_and_stores_every_message(db, send):
    messages = [
        typed("page", page()),
        typed("track", track("Pricing Viewed")),
        typed("identify", identify("bob@example.com")),
    ]

    response = send("/v1/batch", {"batch": messages})

    assert (response.status_code, response.json()) == (200, {"success": True})
    assert sorted(Event.objects.values_list("type", flat=True)) == ["identify", "page", "track"]


def test_a_track_call_keeps_its_event_name_properties_and_context(db, send):
    context = {"ip": "203.0.113.9", "page": {"url": "https://www.example.com/docs"}}
    message = track(
        "Whitepaper Downloaded", userId="u-42", properties={"title": "Lifecycle"}, context=context
    )

    send("/v1/track", message)

    event = Event.objects.get()
    assert (event.name, event.user_id, event.anonymous_id) == (
        "Whitepaper Downloaded",
        "u-42",
        "anon-1",
    )
    assert (event.properties, event.context) == ({"title": "Lifecycle"}, context)
    assert event.url == "https://www.example.com/docs"


def test_a_page_call_takes_its_url_from_properties_or_else_from_the_context(db, send):
    send("/v1/page", page(url="https://www.example.com/pricing", name="Pricing"))
    send(
        "/v1/page",
        {
            "messageId": message_id(),
            "anonymousId": "anon-2",
            "context": {"page": {"url": "https://www.example.com/features"}},
        },
    )

    assert list(Event.objects.order_by("pk").values_list("name", "url")) == [
        ("Pricing", "https://www.example.com/pricing"),
        ("", "https://www.example.com/features"),
    ]


def test_a_user_id_alone_identifies_the_sender(db, send):
    response = send("/v1/track", {"messageId": message_id(), "userId": 7, "event": "Login"})

    assert response.status_code == 200
    assert Event.objects.get().user_id == "7"


@pytest.mark.parametrize("path", ["/v1/identify", "/v1/track", "/v1/page", "/v1/batch"])
def test_get_is_not_allowed(db, client, path):
    response = client.get(path)

    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_the_endpoints_need_no_csrf_token(db, write_key):
    from django.test import Client

    from .messages import basic

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        "/v1/page",
        data=page(),
        content_type="application/json",
        headers={"Authorization": basic(write_key.key)},
    )

    assert response.status_code == 200
