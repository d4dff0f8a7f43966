"""The ingest hot paths: a fixed number of queries a request, whatever the size of the batch."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.tracking.models import Event
from tests.activity import folded

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
    # One statement: the key is cached in the process, and without identify or alias calls the
    # store is a single statement (visitors, contacts, leads, insert, the leads' update).
    with django_assert_max_num_queries(1):
        response = send(
            "/v1/track",
            {"messageId": message_id(), "anonymousId": known[0], "event": "Signed Up"},
        )

    assert response.status_code == 200
    assert Event.objects.filter(name="Signed Up").get().lead is not None


def test_an_anonymous_page_call_stays_within_a_smaller_budget(db, send, django_assert_num_queries):
    # The first call of a process reads its write key; the next ones find it cached.
    with django_assert_num_queries(2):
        assert send("/v1/page", page("anon-x")).status_code == 200
    # The store: the visitor upsert and the insert in one statement, atomic by itself.
    with django_assert_num_queries(1):
        assert send("/v1/page", page("anon-y")).status_code == 200


def test_a_batch_of_100_events_stays_within_its_query_budget(
    db, send, known, django_assert_max_num_queries
):
    with django_assert_max_num_queries(1):
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


BROWSER_CONTEXT = {
    "page": {"url": "https://x.test/pricing", "referrer": "https://www.google.com/"},
    "campaign": {},
}


def _all_types_batch(size: int, known: list[str]) -> list[dict]:
    """Every set-based call type, from browsers with referrers and UTM fields, and backends."""
    messages = []
    for n in range(size):
        who = (
            {"anonymousId": known[n % len(known)]}
            if n % 2
            else {"userId": f"u{n % KNOWN_USERS}"}
            if n % 4 == 0
            else {"anonymousId": f"anon-{n}"}
        )
        context = (
            {**BROWSER_CONTEXT, "campaign": {"source": "ads", "medium": "cpc", "name": f"c{n}"}}
            if n % 3 == 0
            else BROWSER_CONTEXT
        )
        base = {"messageId": message_id(), "context": context, **who}
        kind = ("page", "track", "screen", "group")[n % 4]
        extra = {
            "page": {"properties": {"url": f"https://x.test/p/{n}"}},
            "track": {"event": "Feature Used", "properties": {"n": n}},
            "screen": {"name": "Settings"},
            "group": {"groupId": f"g{n % 3}", "traits": {"name": f"Company {n % 3}"}},
        }[kind]
        messages.append({"type": kind, **base, **extra, "integrations": {"All": True}})
    return messages


@pytest.mark.parametrize("path", ["/v1/track", "/v1/t"])
def test_a_single_browser_track_call_costs_exactly_its_budget(
    db, send, known, django_assert_num_queries, path
):
    message = {
        "messageId": message_id(),
        "anonymousId": known[0],
        "event": "Signed Up",
        "context": BROWSER_CONTEXT,
    }
    # One statement upserts the visitor, finds the contact and the lead, inserts, and appends
    # the lead's activity (last event time, attribution) for the worker; atomic by itself, so no
    # transaction. The key is cached in the process; the rate limit is one Redis round trip, no
    # query.
    with django_assert_num_queries(1):
        assert send(path, message).status_code == 200

    lead = folded(Event.objects.get(name="Signed Up").lead)
    assert (lead.last_touch_source, lead.last_touch_medium) == ("google", "organic")


def test_a_batch_of_100_calls_of_every_type_costs_exactly_its_budget(
    db, send, known, django_assert_num_queries
):
    batch = _all_types_batch(100, known)

    # One statement: visitors, contacts by user id, their leads, the insert, the companies of
    # the group calls, the leads' update (last event, attribution).
    with django_assert_num_queries(1):
        response = send("/v1/batch", {"batch": batch})

    assert response.json() == {"success": True}
    assert Event.objects.count() == KNOWN_USERS + 100


def test_the_queries_of_an_all_types_batch_do_not_grow_with_its_size(db, send, known):
    small = _queries(send, "/v1/b", {"batch": _all_types_batch(12, known)})
    large = _queries(send, "/v1/b", {"batch": _all_types_batch(100, known)})

    assert large == small == 1


def test_the_store_statement_is_short_enough_for_psycopg_to_cache_its_parsing():
    # Past this length psycopg parses the statement's placeholders again on every call.
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH

    from leadflow.tracking.services import _store_sql

    for variant in itertools.product((False, True), repeat=3):
        assert len(_store_sql(*variant)) <= MAX_CACHED_STATEMENT_LENGTH
