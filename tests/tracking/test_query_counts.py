"""The ingest hot paths: a fixed number of queries a request, whatever the size of the batch."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.tracking.models import Event

from .messages import identify, message_id, page, typed

KNOWN_USERS = 5


@pytest.fixture
def known(send) -> list[str]:
    """A few visitors who identified themselves before: their events belong to leads."""
    batch = [
        typed("identify", {**identify(f"user{n}@example.com", f"known-{n}"), "userId": f"u{n}"})
        for n in range(KNOWN_USERS)
    ]
    assert send("/v1/batch", {"batch": batch}).status_code == 200
    return [f"known-{n}" for n in range(KNOWN_USERS)]


def _mixed_batch(size: int, known: list[str]) -> list[dict]:
    """Page and track calls from anonymous visitors, known visitors and known user ids."""
    messages = []
    for n in range(size):
        if n % 3 == 0:
            messages.append(typed("page", page(f"anon-{n}", url=f"https://x.test/p/{n}")))
        elif n % 3 == 1:
            messages.append(
                typed("page", page(known[n % len(known)], url="https://x.test/pricing"))
            )
        else:
            messages.append(
                {
                    "type": "track",
                    "messageId": message_id(),
                    "userId": f"u{n % KNOWN_USERS}",
                    "event": "Feature Used",
                }
            )
    return messages


def _queries(send, path: str, body: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = send(path, body)
    assert response.status_code == 200, response.content
    return len(queries)


def test_a_single_track_call_stays_within_its_query_budget(
    db, send, known, django_assert_max_num_queries
):
    # Key, savepoint, visitors upsert, leads of the visitors, insert, last event time, release.
    with django_assert_max_num_queries(7):
        response = send(
            "/v1/track",
            {"messageId": message_id(), "anonymousId": known[0], "event": "Signed Up"},
        )

    assert response.status_code == 200
    assert Event.objects.filter(name="Signed Up").get().lead is not None


def test_an_anonymous_page_call_stays_within_a_smaller_budget(
    db, send, django_assert_max_num_queries
):
    with django_assert_max_num_queries(5):
        assert send("/v1/page", page("anon-x")).status_code == 200


def test_a_batch_of_100_events_stays_within_its_query_budget(
    db, send, known, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        response = send("/v1/batch", {"batch": _mixed_batch(100, known)})

    assert response.status_code == 200
    assert Event.objects.count() == KNOWN_USERS + 100
    assert Event.objects.filter(lead__isnull=False).count() == KNOWN_USERS + 66


def test_the_queries_of_a_batch_do_not_grow_with_its_size(db, send, known):
    small = _queries(send, "/v1/batch", {"batch": _mixed_batch(10, known)})
    large = _queries(send, "/v1/batch", {"batch": _mixed_batch(100, known)})

    assert large == small


def test_duplicates_cost_no_extra_queries(db, send, known):
    batch = _mixed_batch(100, known)
    first = _queries(send, "/v1/batch", {"batch": batch})
    again = _queries(send, "/v1/batch", {"batch": batch})

    assert again <= first
    assert Event.objects.count() == KNOWN_USERS + 100
