"""A message id is stored once per source: retries of the libraries never count twice."""

from __future__ import annotations

import pytest

from leadflow.tracking.models import Event, WriteKey

from .messages import page, track, typed


def test_the_same_message_sent_twice_is_stored_once(db, send):
    message = track("Signed Up")

    first = send("/v1/track", message)
    second = send("/v1/track", message)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == {"success": True}
    assert Event.objects.count() == 1


def test_a_retried_batch_is_stored_once(db, send):
    batch = [typed("page", page()) for _ in range(5)]

    send("/v1/batch", {"batch": batch})
    send("/v1/batch", {"batch": [*batch, typed("page", page())]})

    assert Event.objects.count() == 6


def test_a_message_id_repeated_within_one_batch_is_stored_once(db, send):
    message = typed("page", page(url="https://www.example.com/first"))
    again = {**message, "properties": {"url": "https://www.example.com/second"}}

    response = send("/v1/batch", {"batch": [message, again, typed("page", page())]})

    assert response.status_code == 200
    assert Event.objects.count() == 2
    assert Event.objects.get(message_id=message["messageId"]).url.endswith("/first")


def test_a_batch_of_only_duplicates_is_still_a_success(db, send):
    batch = [typed("page", page())]
    send("/v1/batch", {"batch": batch})

    response = send("/v1/batch", {"batch": batch})

    assert (response.status_code, response.json()) == (200, {"success": True})


def test_two_sources_may_use_the_same_message_id(db, send):
    backend = WriteKey.objects.create(name="backend", kind=WriteKey.Kind.BACKEND)
    message = page()

    send("/v1/page", message)
    send("/v1/page", message, key=backend.key)

    assert Event.objects.filter(message_id=message["messageId"]).count() == 2


def _all_types() -> dict[str, dict]:
    from .messages import alias, group, identify, screen

    return {
        "identify": identify("ann@example.com"),
        "track": track("Signed Up"),
        "page": page(),
        "screen": screen(),
        "group": group(),
        "alias": alias("u-1", "anon-1"),
    }


@pytest.mark.parametrize("kind", ["identify", "track", "page", "screen", "group", "alias"])
def test_every_type_is_stored_once_whichever_path_repeats_it(db, send, kind):
    message = _all_types()[kind]

    answers = [
        send(f"/v1/{kind}", message),
        send(f"/v1/{kind[0]}", message),
        send("/v1/batch", {"batch": [typed(kind, message)]}),
        send("/v1/b", {"batch": [typed(kind, message)] * 2}),
        send("/v1/s" if kind == "page" else "/v1/p", message),  # another type, same id
    ]

    assert [a.status_code for a in answers] == [200] * 5
    assert Event.objects.count() == 1
    assert Event.objects.get().type == kind


def test_a_replayed_batch_of_every_type_is_stored_once(db, send):
    batch = [typed(kind, message) for kind, message in _all_types().items()]

    for _ in range(3):
        assert send("/v1/batch", {"batch": batch}).status_code == 200

    assert Event.objects.count() == len(batch)
