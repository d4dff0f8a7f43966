"""The ingest leaves its leads alone; the scoring worker folds what it learnt into them."""

from __future__ import annotations

import datetime as dt
import threading

import hypothesis.strategies as st
import pytest
from django.db import connection, connections
from django.db.models import Max
from django.utils import timezone
from hypothesis import HealthCheck, given, settings

from leadflow.tracking.activity import activity_fold, activity_pending
from leadflow.tracking.attribution import Touch
from leadflow.tracking.models import LeadActivity
from leadflow.tracking.services import _activity_append, _Span
from scoring.services import RESCORE_QUEUE, lead_explain, leads_pending_rescore
from scoring.tasks import sweep_stale_scores
from stages.models import Lead, Stage
from tests.factories import lead_at

from .messages import identify, page, typed

SITE = "https://www.shop.example"
T0 = dt.datetime(2030, 3, 1, 9, 0, tzinfo=dt.UTC)


def _visit(anonymous_id: str, hours: float, referrer: str) -> dict:
    at = (T0 + dt.timedelta(hours=hours)).isoformat()
    context = {"page": {"url": f"{SITE}/", "referrer": referrer}}
    return typed("page", page(anonymous_id, url=f"{SITE}/", context=context, timestamp=at))


def _lead_row(pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text, * FROM stages_lead WHERE id = %s", [pk])
        return cursor.fetchone()


def test_the_ingest_writes_activity_and_leaves_the_lead_row_alone(db, send):
    send("/v1/identify", identify("ann@example.com", "anon-1"))
    lead = Lead.objects.get()
    activity_fold([lead.pk])
    before = _lead_row(lead.pk)

    send("/v1/batch", {"batch": [_visit("anon-1", 0, "https://www.google.com/")]})

    assert _lead_row(lead.pk) == before  # same row version: not even locked for an update
    row = LeadActivity.objects.get(lead=lead)
    assert (row.first_source, row.first_medium, row.first_at) == ("google", "organic", T0)
    assert row.received_at is not None

    activity_fold([lead.pk])

    lead.refresh_from_db()
    assert (lead.first_touch_source, lead.last_touch_source) == ("google", "google")
    assert lead.last_event_at == row.received_at
    assert not LeadActivity.objects.exists()


def test_a_lead_held_by_another_transaction_does_not_hold_up_the_ingest(transactional_db, send):
    send("/v1/identify", identify("ann@example.com", "anon-1"))
    lead = Lead.objects.get()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        # A person moving the lead (or the worker writing its score) keeps its row locked.
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute("SELECT id FROM stages_lead WHERE id = %s FOR UPDATE", [lead.pk])
                held.set()
                release.wait(timeout=30)
                cursor.execute("ROLLBACK")
        finally:
            connections["default"].close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(timeout=10)
        with connection.cursor() as cursor:
            # An ingest that waited for the lock would fail here instead of hanging.
            cursor.execute("SET lock_timeout = '1s'")
        body = {"batch": [_visit("anon-1", n, "https://www.bing.com/") for n in range(5)]}
        assert send("/v1/batch", body).status_code == 200

        folded = activity_fold([lead.pk], skip_locked=True)

        assert folded == ([], [lead.pk])  # the worker skips it; its activity waits
        assert LeadActivity.objects.filter(lead=lead).exists()
    finally:
        release.set()
        holder.join(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")

    assert activity_fold([lead.pk], skip_locked=True) == ([lead.pk], [])
    lead.refresh_from_db()
    assert (lead.first_touch_source, lead.first_touch_at) == ("bing", T0)
    assert not LeadActivity.objects.exists()


@pytest.mark.redis
def test_the_worker_folds_before_it_scores_and_drops_leads_gone_since(db, send, demo_rules):
    send("/v1/identify", identify("ann@example.com", "anon-1"))
    ann = Lead.objects.get()
    gone = lead_at(Stage.LEAD)
    send("/v1/batch", {"batch": [_visit("anon-1", 1, "https://www.google.com/")]})
    received = LeadActivity.objects.aggregate(newest=Max("received_at"))["newest"]
    RESCORE_QUEUE._add({ann.pk, gone.pk})
    gone.delete()  # merged away while it waited

    leads_pending_rescore()

    ann.refresh_from_db()
    assert (ann.first_touch_source, ann.last_event_at) == ("google", received)
    assert ann.scored_at is not None
    assert ann.score == lead_explain(lead=ann, now=ann.scored_at).total
    assert RESCORE_QUEUE.pending() == set()  # the lead gone is dropped, not retried forever
    assert not LeadActivity.objects.exists()


def test_the_sweep_finds_activity_a_lost_task_left(db, send, task_runs):
    send("/v1/identify", identify("ann@example.com", "anon-1"))
    lead = Lead.objects.get()
    activity_fold([lead.pk])
    send("/v1/batch", {"batch": [_visit("anon-1", 1, "https://www.bing.com/")]})
    # Its score is as new as its newest event as the lead row has it: only the activity tells.
    Lead.objects.filter(pk=lead.pk).update(scored_at=timezone.now())

    assert activity_pending(limit=10) == [lead.pk]
    assert sweep_stale_scores() == 1


touches = st.sampled_from(
    [Touch("direct", "none"), Touch("google", "organic"), Touch("ads", "cpc", "q1")]
)
calls = st.lists(  # each call: its touches (hour, touch), one activity row
    st.lists(st.tuples(st.integers(0, 5), touches), min_size=1, max_size=4), min_size=1, max_size=5
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(calls=calls, folds=st.data())
def test_folding_in_any_grouping_gives_the_touches_of_all_the_events_at_once(db, calls, folds):
    lead = lead_at(Stage.LEAD)
    spans = []
    for call in calls:
        at, touch = call[0]
        span = _Span(T0 + dt.timedelta(hours=at), touch, T0 + dt.timedelta(hours=at), touch)
        for at, touch in call[1:]:
            span.add(T0 + dt.timedelta(hours=at), touch)
        spans.append(span)
    # What one ingest of every event would give (the Python rule `leads_attribute` uses).
    everything = _Span(spans[0].first_at, spans[0].first, spans[0].last_at, spans[0].last)
    for span in spans:
        everything.add(span.first_at, span.first)
        everything.add(span.last_at, span.last)

    for span in spans:  # one call after another, the worker folding whenever it happens to run
        _activity_append([lead.pk], {lead.pk: span}, T0)
        if folds.draw(st.booleans()):
            activity_fold([lead.pk])
    activity_fold([lead.pk])

    lead.refresh_from_db()
    assert (lead.first_touch_source, lead.first_touch_campaign, lead.first_touch_at) == (
        everything.first.source,
        everything.first.campaign,
        everything.first_at,
    )
    assert (lead.last_touch_source, lead.last_touch_campaign, lead.last_touch_at) == (
        everything.last.source,
        everything.last.campaign,
        everything.last_at,
    )
    assert lead.last_event_at == T0


@pytest.mark.redis
def test_the_journey_of_a_new_lead_gets_the_first_touch_the_worker_folds(
    db, send, django_capture_on_commit_callbacks
):
    from leadflow.reports.models import LeadJourney

    send("/v1/batch", {"batch": [_visit("anon-1", 0, "https://www.google.com/")]})

    with django_capture_on_commit_callbacks(execute=True):
        # The identify makes the lead (its journey queued for a refresh) and attaches the
        # visit; the worker folds the visit's touch into the lead, then refreshes the journey.
        send("/v1/identify", identify("ann@example.com", "anon-1"))

    journey = LeadJourney.objects.get(lead=Lead.objects.get())
    assert (journey.first_touch_source, journey.first_touch_medium) == ("google", "organic")


def test_activity_of_a_lead_gone_meanwhile_is_dropped_by_the_fold(db):
    # An ingest that saw the lead appended its row while a merge deleted the lead: no lead will
    # ever fold it, so the fold drops it instead of the sweep and the demo finding it forever.
    lead = lead_at(Stage.LEAD)
    gone = lead.pk + 1000  # no such lead: the merge's delete took it after the ingest's read
    LeadActivity.objects.create(lead=lead, received_at=T0)
    LeadActivity.objects.create(lead_id=gone, received_at=T0)

    assert activity_fold(activity_pending(limit=10)) == ([lead.pk], [])

    assert activity_pending(limit=10) == []
    lead.refresh_from_db()
    assert lead.last_event_at == T0
