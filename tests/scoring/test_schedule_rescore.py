"""Queueing recomputes: after commit, one task for every lead of a burst of requests, and a lead
waiting is not queued twice."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from django.test import override_settings
from django.utils import timezone

from scoring import services
from scoring.services import RESCORE_QUEUE, leads_pending_rescore, leads_schedule_rescore
from scoring.tasks import score_leads, sweep_stale_scores
from stages.models import Lead, Stage
from tests.factories import lead_at

SCORE_LEADS = "scoring.tasks.score_leads"


def _redis():
    return cache._cache.get_client(write=True)


def _pending() -> set[int]:
    return RESCORE_QUEUE.pending()


def _drain_queued() -> bool:
    return RESCORE_QUEUE.queued()


def _queue(*lead_ids: int) -> None:
    _redis().sadd(cache.make_and_validate_key(RESCORE_QUEUE.name), *lead_ids)


def _scored() -> set[int]:
    return set(Lead.objects.filter(scored_at__isnull=False).values_list("pk", flat=True))


def test_nothing_is_queued_before_commit(db, task_runs, django_capture_on_commit_callbacks):
    lead = lead_at(Stage.LEAD)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        leads_schedule_rescore([lead.pk])

    assert task_runs == []
    assert len(callbacks) == 1


@pytest.mark.redis
def test_one_task_scores_the_leads_of_a_burst_after_commit(
    db, task_runs, django_capture_on_commit_callbacks
):
    first, second, _other = lead_at(Stage.LEAD), lead_at(Stage.LEAD), lead_at(Stage.LEAD)

    with django_capture_on_commit_callbacks(execute=True):
        leads_schedule_rescore([second.pk, first.pk, second.pk, None, 0])

    # The task takes the pending set: it carries no ids itself.
    assert task_runs == [(SCORE_LEADS, ())]
    assert _scored() == {first.pk, second.pk}
    assert (_pending(), _drain_queued()) == (set(), False)


@pytest.mark.redis
def test_requests_arriving_while_a_recompute_waits_join_it(
    db, task_runs, django_capture_on_commit_callbacks
):
    ann, bob = lead_at(Stage.LEAD), lead_at(Stage.LEAD)
    # A task is queued already.
    _redis().set(cache.make_and_validate_key(f"{RESCORE_QUEUE.name}:queued"), 1)

    for burst in ([ann.pk], [ann.pk, bob.pk]):
        with django_capture_on_commit_callbacks(execute=True):
            leads_schedule_rescore(burst)

    assert task_runs == []  # no second task: the queued one will take them
    assert _pending() == {ann.pk, bob.pk}

    score_leads.delay()

    assert _scored() == {ann.pk, bob.pk}
    assert (_pending(), _drain_queued()) == (set(), False)


@pytest.mark.redis
def test_a_finished_recompute_lets_the_next_burst_queue_again(
    db, task_runs, django_capture_on_commit_callbacks
):
    lead = lead_at(Stage.LEAD)

    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            leads_schedule_rescore([lead.pk])

    # Tasks run eagerly here, so each one has cleared its mark before the next burst.
    assert task_runs == [(SCORE_LEADS, ())] * 3
    assert (_pending(), _drain_queued()) == (set(), False)


@pytest.mark.redis
def test_a_long_queue_is_taken_in_batches_until_empty(db):
    leads = [lead_at(Stage.LEAD) for _ in range(5)]
    _queue(*(lead.pk for lead in leads))

    leads_pending_rescore(batch=2)

    assert _scored() == {lead.pk for lead in leads}
    assert _pending() == set()


@pytest.mark.redis
def test_a_failed_recompute_puts_its_leads_back(db, monkeypatch):
    ann, bob = lead_at(Stage.LEAD), lead_at(Stage.LEAD)
    _queue(ann.pk, bob.pk)

    def deadlock(**kwargs):
        raise OperationalError("deadlock detected")

    monkeypatch.setattr(services, "scores_write", deadlock)
    with pytest.raises(OperationalError):
        leads_pending_rescore()

    assert _pending() == {ann.pk, bob.pk}  # the retry (or the sweep) takes them again


@pytest.mark.redis
def test_a_lead_another_transaction_holds_waits_in_the_queue_without_blocking(transactional_db):
    busy, free = lead_at(Stage.LEAD), lead_at(Stage.LEAD)
    _queue(busy.pk, free.pk)
    db = connection.settings_dict
    other = psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432
    )
    try:
        # An ingest storing an event of `busy`, say: its row is locked until that commits.
        other.execute("SELECT 1 FROM stages_lead WHERE id = %s FOR UPDATE", [busy.pk])

        leads_pending_rescore()

        assert _scored() == {free.pk}
        assert _pending() == {busy.pk}  # left for the task the holder queues when it commits
    finally:
        other.rollback()
        other.close()
    leads_pending_rescore()
    assert _scored() == {busy.pk, free.pk}


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_without_redis_the_leads_are_scored_at_once(
    db, task_runs, django_capture_on_commit_callbacks
):
    first, second = lead_at(Stage.LEAD), lead_at(Stage.LEAD)

    with django_capture_on_commit_callbacks(execute=True):
        leads_schedule_rescore([second.pk, first.pk, None])

    assert task_runs == [(SCORE_LEADS, (sorted([first.pk, second.pk]),))]
    assert _scored() == {first.pk, second.pk}


def test_an_empty_burst_queues_nothing(db, task_runs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        leads_schedule_rescore([])
        leads_schedule_rescore([None])

    assert (callbacks, task_runs) == ([], [])


def test_the_sweep_requeues_leads_whose_events_are_newer_than_their_score(
    db, task_runs, django_capture_on_commit_callbacks
):
    now = timezone.now()
    never_scored, stale, current, _without_events = (lead_at(Stage.LEAD) for _ in range(4))
    Lead.objects.filter(pk=never_scored.pk).update(last_event_at=now)
    Lead.objects.filter(pk=stale.pk).update(last_event_at=now, scored_at=now - dt.timedelta(1))
    Lead.objects.filter(pk=current.pk).update(last_event_at=now, scored_at=now)

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_stale_scores() == 2

    assert task_runs[-1][0] == SCORE_LEADS
    assert Lead.objects.get(pk=stale.pk).scored_at > now
    assert Lead.objects.get(pk=never_scored.pk).scored_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_stale_scores() == 0


@pytest.mark.redis
def test_the_queue_writes_the_scores_a_direct_recompute_writes(db, demo_rules, add_events):
    # The queue's statement locks the leads once their scores are computed and writes those it
    # locked: the same numbers as the statement that scores leads it was given.
    leads = [lead_at(Stage.LEAD) for _ in range(6)]
    for n, lead in enumerate(leads):
        add_events(lead, *[("page", "/pricing")] * n, ("track", "Demo Requested"))
    ids = [lead.pk for lead in leads]

    def scores() -> dict[int, tuple[int, int, int]]:
        rows = Lead.objects.filter(pk__in=ids).values_list(
            "pk", "behaviour_score", "fit_score", "score"
        )
        return {pk: tuple(values) for pk, *values in rows}

    _queue(*ids)
    leads_pending_rescore(batch=4)
    queued = scores()
    Lead.objects.filter(pk__in=ids).update(scored_at=None, behaviour_score=0, score=0)
    services.leads_rescore(lead_ids=ids)

    assert queued == scores()
    assert len({score for *_, score in queued.values()}) > 1  # the rules told them apart
    assert _scored() == set(ids)
