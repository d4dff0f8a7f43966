"""Queueing recomputes: after commit, once per lead, and bursts for a lead coalesce."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.utils import timezone

from scoring.services import PENDING_KEY, leads_schedule_rescore
from scoring.tasks import sweep_stale_scores
from stages.models import Lead, Stage
from tests.factories import lead_at


def test_nothing_is_queued_before_commit(db, task_runs, django_capture_on_commit_callbacks):
    lead = lead_at(Stage.LEAD)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        leads_schedule_rescore([lead.pk])

    assert task_runs == []
    assert len(callbacks) == 1


def test_one_task_for_the_leads_after_commit(db, task_runs, django_capture_on_commit_callbacks):
    first, second = lead_at(Stage.LEAD), lead_at(Stage.LEAD)

    with django_capture_on_commit_callbacks(execute=True):
        leads_schedule_rescore([second.pk, first.pk, second.pk, None, 0])

    assert task_runs == [("scoring.tasks.score_leads", (sorted([first.pk, second.pk]),))]
    assert Lead.objects.filter(scored_at__isnull=False).count() == 2


def test_a_lead_already_waiting_is_not_queued_again(
    db, task_runs, django_capture_on_commit_callbacks
):
    waiting, fresh = lead_at(Stage.LEAD), lead_at(Stage.LEAD)
    cache.add(PENDING_KEY.format(waiting.pk), 1, 60)

    with django_capture_on_commit_callbacks(execute=True):
        leads_schedule_rescore([waiting.pk, fresh.pk])
    with django_capture_on_commit_callbacks(execute=True):
        leads_schedule_rescore([waiting.pk])

    assert task_runs == [("scoring.tasks.score_leads", ([fresh.pk],))]


def test_a_finished_task_lets_the_next_burst_queue_again(
    db, task_runs, django_capture_on_commit_callbacks
):
    lead = lead_at(Stage.LEAD)

    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            leads_schedule_rescore([lead.pk])

    # Tasks run eagerly here, so each one has cleared its mark before the next burst.
    assert task_runs == [("scoring.tasks.score_leads", ([lead.pk],))] * 3
    assert cache.get(PENDING_KEY.format(lead.pk)) is None


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

    assert task_runs[-1] == ("scoring.tasks.score_leads", (sorted([never_scored.pk, stale.pk]),))
    assert Lead.objects.get(pk=stale.pk).scored_at > now
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_stale_scores() == 0
