"""Screen, group and alias are stored like the other calls, with their own required fields."""

from __future__ import annotations

import pytest

from leadflow.tracking.models import Event

from .messages import alias, group, identify, message_id, page, screen, track, typed

CALLS = {
    "identify": lambda: identify("ann@example.com"),
    "track": lambda: track("Signed Up"),
    "page": lambda: page(),
    "screen": lambda: screen("Settings"),
    "group": lambda: group(),
    "alias": lambda: alias("user-1", "anon-1"),
}


@pytest.mark.parametrize("kind", list(CALLS))
@pytest.mark.parametrize("short", [False, True], ids=["full path", "short path"])
def test_every_call_is_accepted_on_its_path_and_its_short_path(db, send, write_key, kind, short):
    message = CALLS[kind]()
    path = f"/v1/{kind[0]}" if short else f"/v1/{kind}"

    response = send(path, message)

    assert (response.status_code, response.json()) == (200, {"success": True})
    event = Event.objects.get()
    assert (event.type, event.message_id, event.source) == (kind, message["messageId"], write_key)


@pytest.mark.parametrize("path", ["/v1/batch", "/v1/b", "/v1/import"])
def test_a_batch_takes_every_type_of_call(db, send, path):
    batch = [typed(kind, make()) for kind, make in CALLS.items()]

    response = send(path, {"batch": batch})

    assert (response.status_code, response.json()) == (200, {"success": True})
    assert sorted(Event.objects.values_list("type", flat=True)) == sorted(CALLS)


def test_a_screen_call_keeps_its_name_and_properties(db, send):
    send("/v1/screen", screen("Checkout", properties={"step": 2}))

    event = Event.objects.get()
    assert (event.name, event.properties, event.url) == ("Checkout", {"step": 2}, "")


def test_a_group_call_keeps_the_group_id_and_company_traits(db, send):
    send("/v1/group", group("g-42", "Initech"))

    event = Event.objects.get()
    assert event.extra["groupId"] == "g-42"
    assert event.extra["traits"] == {"name": "Initech", "industry": "Software"}


def test_an_alias_call_keeps_its_previous_id(db, send):
    send("/v1/alias", alias("user-1", "anon-9"))

    event = Event.objects.get()
    assert (event.user_id, event.extra["previousId"]) == ("user-1", "anon-9")


@pytest.mark.parametrize(
    ("path", "message", "error"),
    [
        ("/v1/group", {**group(), "groupId": ""}, "groupId is required for a group call"),
        (
            "/v1/alias",
            {"messageId": "m", "userId": "u"},
            "previousId is required for an alias call",
        ),
        (
            "/v1/alias",
            {"messageId": "m", "anonymousId": "a", "previousId": "p"},
            "userId is required for an alias call",
        ),
        ("/v1/screen", {**screen(), "name": {"x": 1}}, "name must be a string"),
        ("/v1/group", {**group(), "traits": "Acme"}, "traits must be an object"),
    ],
)
def test_a_call_without_its_own_required_field_is_refused_naming_it(db, send, path, message, error):
    response = send(path, message)

    assert (response.status_code, response.json()) == (400, {"success": False, "error": error})
    assert not Event.objects.exists()


def test_unknown_fields_are_kept_not_rejected(db, send):
    message = track(
        "Signed Up",
        integrations={"All": False, "Mixpanel": True},
        _metadata={"bundled": ["Segment.io"]},
        category="Onboarding",
        version=2,
        timestamp="2030-01-01T00:00:00Z",
        sentAt="2030-01-01T00:00:01Z",
    )

    assert send("/v1/track", message).status_code == 200

    assert Event.objects.get().extra == {
        "integrations": {"All": False, "Mixpanel": True},
        "_metadata": {"bundled": ["Segment.io"]},
        "category": "Onboarding",
        "version": 2,
        "timestamp": "2030-01-01T00:00:00Z",
        "sentAt": "2030-01-01T00:00:01Z",
    }


def test_the_traits_of_every_call_are_kept_identify_ones_too(db, send):
    send("/v1/identify", identify("ann@example.com", plan="pro"))
    send("/v1/track", track("Upgraded", traits={"plan": "enterprise"}))

    extras = list(Event.objects.order_by("pk").values_list("type", "extra"))
    assert extras == [
        ("identify", {"traits": {"email": "ann@example.com", "plan": "pro"}}),
        ("track", {"traits": {"plan": "enterprise"}}),
    ]


def test_the_write_key_type_and_a_client_received_at_are_not_kept(db, send, write_key):
    message = {
        **page(),
        "type": "page",
        "writeKey": write_key.key,
        "receivedAt": "1999-01-01T00:00:00Z",
    }

    send("/v1/page", message, auth=False)

    event = Event.objects.get()
    assert event.extra == {}
    assert event.received_at.year > 2000


def test_the_batch_integrations_apply_to_messages_without_their_own(db, send):
    own = typed("track", track("A", integrations={"All": True}))
    bare = typed("track", track("B"))

    send("/v1/batch", {"batch": [own, bare], "integrations": {"All": False}})

    extras = dict(Event.objects.values_list("name", "extra"))
    assert extras["A"]["integrations"] == {"All": True}
    assert extras["B"]["integrations"] == {"All": False}


def test_a_message_from_analytics_js_lands_whole(db, send, write_key):
    """The shape @segment/analytics-next sends to /v1/t: text/plain, writeKey in the body."""
    message = {
        "timestamp": "2030-01-01T10:00:00.000Z",
        "integrations": {},
        "type": "track",
        "properties": {"plan": "pro"},
        "event": "Trial Started",
        "messageId": "ajs-next-1700000000000-abc",
        "anonymousId": "7a1b1c2d-0000-4000-8000-000000000001",
        "userId": None,
        "context": {
            "page": {
                "path": "/pricing",
                "referrer": "https://www.google.com/",
                "search": "",
                "title": "Pricing",
                "url": "https://shop.example/pricing",
            },
            "userAgent": "Mozilla/5.0",
            "locale": "en-US",
            "library": {"name": "analytics.js", "version": "next-1.70.0"},
            "campaign": {},
        },
        "writeKey": write_key.key,
        "sentAt": "2030-01-01T10:00:00.100Z",
        "_metadata": {"bundled": ["Segment.io"], "unbundled": [], "bundledIds": []},
    }

    response = send("/v1/t", message, auth=False, content_type="text/plain")

    assert response.status_code == 200
    event = Event.objects.get()
    assert (event.type, event.name, event.url) == (
        "track",
        "Trial Started",
        message["context"]["page"]["url"],
    )
    assert event.user_id == ""


def test_a_user_id_of_null_is_no_user_id(db, send):
    response = send(
        "/v1/track", {"messageId": message_id(), "anonymousId": "a", "userId": None, "event": "E"}
    )

    assert response.status_code == 200
    assert Event.objects.get().user_id == ""


def test_group_and_alias_events_read_well_on_a_timeline(db, send):
    send("/v1/group", group("g-1", "Initech"))
    send("/v1/alias", alias("u-1", "anon-7"))
    send("/v1/screen", screen("Checkout"))

    labels = [str(event) for event in Event.objects.order_by("pk")]
    assert labels == ["group Initech", "alias anon-7", "screen Checkout"]
