"""A batch stores its good messages and reports the bad ones by index."""

from __future__ import annotations

import datetime as dt

from leadflow.tracking.models import Event

from .messages import identify, message_id, page, track, typed


def test_one_bad_message_does_not_sink_the_batch(db, send):
    good = [typed("page", page()), typed("track", track("Signed Up"))]
    bad = {"type": "track", "messageId": message_id(), "anonymousId": "anon-1"}

    response = send("/v1/batch", {"batch": [good[0], bad, good[1]]})

    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "rejected": [
            {
                "index": 1,
                "messageId": bad["messageId"],
                "error": "event is required for a track call",
            }
        ],
    }
    assert sorted(Event.objects.values_list("message_id", flat=True)) == sorted(
        m["messageId"] for m in good
    )


def test_every_bad_message_is_reported_with_its_own_error(db, send):
    batch = [
        "not an object",
        {"type": "login", "messageId": "m-login", "userId": "u"},
        {"type": "page", "anonymousId": "a"},
        typed("page", page()),
        typed("identify", identify("not-an-email")),
    ]

    response = send("/v1/batch", {"batch": batch})

    assert response.status_code == 200
    assert response.json()["rejected"] == [
        {"index": 0, "messageId": None, "error": "a message must be a JSON object"},
        {
            "index": 1,
            "messageId": "m-login",
            "error": "type must be one of identify, track, page, screen, group, alias",
        },
        {"index": 2, "messageId": None, "error": "messageId is required"},
        {
            "index": 4,
            "messageId": batch[4]["messageId"],
            "error": "traits.email is not a valid email address",
        },
    ]
    assert Event.objects.count() == 1


def test_a_batch_of_only_bad_messages_is_refused(db, send):
    batch = [{"type": "page", "anonymousId": "a"}, {"type": "nope", "messageId": "m"}]

    response = send("/v1/batch", {"batch": batch})

    assert response.status_code == 400
    body = response.json()
    assert (body["success"], body["error"]) == (False, "no message was valid")
    assert [r["index"] for r in body["rejected"]] == [0, 1]


def test_an_empty_batch_is_a_success_that_stores_nothing(db, send):
    response = send("/v1/batch", {"batch": []})

    assert (response.status_code, response.json()) == (200, {"success": True})
    assert not Event.objects.exists()


def test_the_batch_context_applies_to_messages_without_their_own(db, send):
    shared = {"library": {"name": "analytics-python", "version": "2.3.4"}, "ip": "198.51.100.1"}
    own = typed("page", page(context={"ip": "203.0.113.5"}))
    bare = typed("page", page())

    send("/v1/batch", {"batch": [own, bare], "context": shared})

    contexts = dict(Event.objects.values_list("message_id", "context"))
    assert contexts[own["messageId"]] == {**shared, "ip": "203.0.113.5"}
    assert contexts[bare["messageId"]] == shared


def test_the_type_of_a_single_call_comes_from_its_endpoint(db, send):
    send("/v1/page", {**page(), "type": "track"})

    assert Event.objects.get().type == "page"


def test_a_batch_message_keeps_its_own_timestamp(db, send):
    at = dt.datetime(2030, 5, 1, 8, 0, tzinfo=dt.UTC)

    send("/v1/batch", {"batch": [typed("page", page(timestamp=at.isoformat()))]})

    assert Event.objects.get().occurred_at == at
