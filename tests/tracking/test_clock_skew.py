"""Event times are corrected for the sender's clock, as Segment does with `sentAt`."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from leadflow.tracking.models import Event

from .messages import page, typed

NOW = dt.datetime(2030, 6, 1, 12, 0, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_a_client_clock_an_hour_fast_is_corrected(db, send):
    # The event happened 5 s before the send, by a clock that runs an hour ahead.
    fast_now = NOW + HOUR
    message = page(
        timestamp=(fast_now - dt.timedelta(seconds=5)).isoformat(), sentAt=fast_now.isoformat()
    )

    send("/v1/page", message)

    event = Event.objects.get()
    assert event.occurred_at == NOW - dt.timedelta(seconds=5)
    assert event.received_at == NOW


def test_a_client_clock_behind_is_corrected_too(db, send):
    slow_now = NOW - 3 * HOUR
    message = page(timestamp=(slow_now - HOUR).isoformat(), sentAt=slow_now.isoformat())

    send("/v1/page", message)

    assert Event.objects.get().occurred_at == NOW - HOUR


def test_without_sent_at_the_timestamp_is_taken_as_is(db, send):
    send("/v1/page", page(timestamp="2030-05-31T08:00:00+02:00"))

    assert Event.objects.get().occurred_at == dt.datetime(2030, 5, 31, 6, 0, tzinfo=dt.UTC)


def test_without_a_timestamp_the_event_happened_when_it_arrived(db, send):
    send("/v1/page", page(sentAt=(NOW + HOUR).isoformat()))

    assert Event.objects.get().occurred_at == NOW


def test_a_naive_timestamp_is_read_as_utc(db, send):
    send("/v1/page", page(timestamp="2030-05-31T08:00:00"))

    assert Event.objects.get().occurred_at == dt.datetime(2030, 5, 31, 8, 0, tzinfo=dt.UTC)


def test_original_timestamp_is_used_when_timestamp_is_missing(db, send):
    sent = NOW + 2 * HOUR
    send(
        "/v1/page",
        page(originalTimestamp=(sent - HOUR).isoformat(), sentAt=sent.isoformat()),
    )

    assert Event.objects.get().occurred_at == NOW - HOUR


def test_the_batch_sent_at_corrects_every_message_without_its_own(db, send):
    fast_now = NOW + HOUR
    own_sent_at = NOW + 2 * HOUR
    batch = [
        typed("page", page(timestamp=(fast_now - 10 * dt.timedelta(seconds=1)).isoformat())),
        typed("page", page(timestamp=own_sent_at.isoformat(), sentAt=own_sent_at.isoformat())),
    ]

    send("/v1/batch", {"batch": batch, "sentAt": fast_now.isoformat()})

    times = list(Event.objects.order_by("pk").values_list("occurred_at", flat=True))
    assert times == [NOW - dt.timedelta(seconds=10), NOW]
