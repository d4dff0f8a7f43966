"""A rule change rescores every lead in chunks, qualifies through the state machine, and reports
its progress; scores decay by a periodic pass and cooling MQLs stay MQLs."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from scoring import sql
from scoring.models import RescoreRun, ScoringRule
from scoring.services import (
    PROGRESS_KEY,
    lead_explain,
    leads_rescore,
    rescore_chunk,
    rescore_progress,
    rescore_slice,
    rescore_start,
)
from scoring.tasks import decay_scores
from stages.models import Lead, LeadTransition, Stage, StageRules, Status
from tests.factories import lead_at

WHITEPAPER = ("track", "Whitepaper Downloaded")
PRICING = ("page", "/pricing")
DEMO = ("track", "Demo Requested")


def _table_exists(name: str) -> bool:
    return name in connection.introspection.table_names()


def _fresh(lead: Lead) -> Lead:
    return Lead.objects.select_related("contact").get(pk=lead.pk)


@pytest.fixture
def many_leads(db, demo_rules, add_events, sdr):
    """Twelve leads: four with the demo journey's interest but one pricing view short of MQL."""
    leads = [lead_at(Stage.LEAD, company="Acme", job_title="Analyst") for _ in range(12)]
    for lead in leads[:4]:
        add_events(lead, WHITEPAPER, PRICING, PRICING)
    for lead in leads[4:]:
        add_events(lead, PRICING)
    leads_rescore(lead_ids=[lead.pk for lead in leads])
    return leads


@override_settings(SCORING_RESCORE_CHUNKS=3, SCORING_RESCORE_MIN_CHUNK=1)
def test_a_rule_change_rescores_everyone_in_chunks_and_qualifies_who_now_meets_the_rule(
    many_leads, django_capture_on_commit_callbacks, task_runs, admin_user
):
    assert not Lead.objects.filter(stage=Stage.MQL).exists()  # 25 + 20 + 2 + 10 = 57 < 60
    ScoringRule.objects.filter(name="Pricing page viewed").update(points=15, max_points=45)

    with django_capture_on_commit_callbacks(execute=True):
        run = rescore_start(reason=RescoreRun.Reason.RULES, by=admin_user)

    run.refresh_from_db()
    assert [name for name, _ in task_runs].count("scoring.tasks.rescore_chunk") == 3
    assert run.chunks == 3 and sorted(run.done) == [0, 1, 2]
    # One slice of the (small) events table first, then the three chunks.
    assert [name for name, _ in task_runs].count("scoring.tasks.rescore_slice") == 1
    assert run.slices_done == [0]
    assert rescore_progress(run.pk) == {"done": 4, "total": 4, "finished": True}
    assert not _table_exists(sql.partials_table(run.pk))  # dropped once finished
    assert not _table_exists(sql.keys_table(run.pk))
    assert (run.qualified, run.started_by, run.finished_at is not None) == (4, admin_user, True)
    for lead in many_leads:
        lead = _fresh(lead)
        assert lead.score == lead_explain(lead=lead, now=lead.scored_at).total
    mqls = Lead.objects.filter(stage=Stage.MQL)
    assert set(mqls) == set(many_leads[:4])
    assert set(LeadTransition.objects.filter(name="qualify").values_list("actor", flat=True)) == {
        "scoring"
    }
    assert all(lead.status == Status.OPEN for lead in mqls)


def test_progress_counts_chunks_done_and_a_redelivered_chunk_counts_once(
    many_leads, django_capture_on_commit_callbacks
):
    with override_settings(SCORING_RESCORE_CHUNKS=4, SCORING_RESCORE_MIN_CHUNK=1):
        run = rescore_start(reason=RescoreRun.Reason.MANUAL)  # not committed: nothing runs yet
    run.as_of = timezone.now()
    run.save()

    assert rescore_progress(run.pk) == {"done": 0, "total": 5, "finished": False}
    rescore_slice(run_id=run.pk, index=0)
    rescore_slice(run_id=run.pk, index=0)
    assert rescore_progress(run.pk) == {"done": 1, "total": 5, "finished": False}
    rescore_chunk(run_id=run.pk, index=2)
    rescore_chunk(run_id=run.pk, index=2)
    assert rescore_progress(run.pk) == {"done": 2, "total": 5, "finished": False}
    assert cache.get(PROGRESS_KEY.format(run.pk)) == 2
    for index in (0, 1, 3):
        rescore_chunk(run_id=run.pk, index=index)
    assert rescore_progress(run.pk) == {"done": 5, "total": 5, "finished": True}


def test_a_rescore_of_an_empty_database_finishes_at_once(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = rescore_start(reason=RescoreRun.Reason.MANUAL)

    assert rescore_progress(run.pk) == {"done": 0, "total": 0, "finished": True}


def test_a_rescore_never_overwrites_a_score_computed_later(
    many_leads, django_capture_on_commit_callbacks, add_events
):
    lead = many_leads[0]
    run = rescore_start(reason=RescoreRun.Reason.MANUAL)
    run.as_of = timezone.now() - dt.timedelta(minutes=1)  # as if it began before the event
    run.save()
    add_events(lead, PRICING)
    leads_rescore(lead_ids=[lead.pk])  # the task for the new event ran first
    newer = _fresh(lead)

    rescore_chunk(run_id=run.pk, index=0)

    assert (_fresh(lead).score, _fresh(lead).scored_at) == (newer.score, newer.scored_at)
    assert newer.stage == Stage.MQL


def test_the_whole_run_uses_the_rules_it_started_with(
    many_leads, django_capture_on_commit_callbacks
):
    run = rescore_start(reason=RescoreRun.Reason.MANUAL)
    run.as_of = timezone.now()
    run.save()
    ScoringRule.objects.filter(name="Pricing page viewed").update(points=100)

    rescore_chunk(run_id=run.pk, index=0)

    assert not Lead.objects.filter(stage=Stage.MQL).exists()


@pytest.fixture
def decaying_rules(db, demo_rules):
    ScoringRule.objects.filter(kind="behaviour").update(half_life_days=30)


def test_scores_decay_by_the_periodic_pass_and_an_mql_below_the_rule_is_flagged_cooling(
    decaying_rules, add_events, sdr, django_capture_on_commit_callbacks
):
    lead = lead_at(Stage.LEAD, company="Acme", job_title="Analyst")
    cold = lead_at(Stage.LEAD, company="Acme", job_title="Analyst")
    add_events(lead, WHITEPAPER, PRICING, PRICING, PRICING, DEMO)
    add_events(cold, PRICING)
    assert leads_rescore(lead_ids=[lead.pk, cold.pk]) == 1
    assert (_fresh(lead).stage, _fresh(lead).score) == (Stage.MQL, 10 + 95 + 3)

    with (
        time_machine.travel(timezone.now() + dt.timedelta(days=45)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run_id = decay_scores()

    assert rescore_progress(run_id)["finished"]

    lead, cold = _fresh(lead), _fresh(cold)
    # 98 behaviour points decayed by 2^-1.5 (35) plus 10 fit: 45, below 60.
    assert (lead.behaviour_score, lead.score) == (35, 45)
    assert (lead.stage, lead.status, lead.is_cooling) == (Stage.MQL, Status.OPEN, True)
    assert lead.transitions.filter(name="recycle").count() == 0
    assert (cold.score, cold.is_cooling) == (4 + 10, False)
    assert lead.score == lead_explain(lead=lead, now=lead.scored_at).total


def test_a_cooling_mql_warms_up_with_new_interest_and_any_stage_change_clears_the_flag(
    db, demo_rules, add_events, sdr, marketer
):
    lead = lead_at(Stage.MQL, owner=sdr, company="Acme", job_title="Analyst")
    leads_rescore(lead_ids=[lead.pk])
    assert _fresh(lead).is_cooling  # the factory's score, now recomputed from no events: 10

    add_events(lead, WHITEPAPER, PRICING, PRICING, PRICING)
    leads_rescore(lead_ids=[lead.pk])
    assert not _fresh(lead).is_cooling

    Lead.objects.filter(pk=lead.pk).update(is_cooling=True)
    from stages.services import lead_transition

    lead_transition(lead=lead.pk, name="recycle", by=marketer, reason="wrong timing")
    assert (_fresh(lead).stage, _fresh(lead).is_cooling) == (Stage.LEAD, False)


def test_the_decay_pass_does_nothing_without_decaying_rules(db, demo_rules, task_runs):
    assert decay_scores() is None
    assert not RescoreRun.objects.exists()


def test_the_decay_pass_waits_for_a_rescore_under_way(decaying_rules):
    rescore_start(reason=RescoreRun.Reason.RULES)  # not committed: still under way

    assert decay_scores() is None
    assert RescoreRun.objects.count() == 1


def test_the_mql_rule_can_ask_for_behaviour_and_fit_minima(db, demo_rules, add_events, sdr):
    rules = StageRules.current()
    rules.mql_min_fit = 15
    rules.save()
    fits = lead_at(Stage.LEAD, company="Acme", job_title="Head of Ops")  # fit 20
    browses = lead_at(Stage.LEAD, company="Acme", job_title="Analyst")  # fit 10
    for lead in (fits, browses):
        add_events(lead, WHITEPAPER, PRICING, PRICING, PRICING)

    assert leads_rescore(lead_ids=[fits.pk, browses.pk]) == 1

    assert _fresh(fits).stage == Stage.MQL
    browses = _fresh(browses)
    assert (browses.stage, browses.score) == (Stage.LEAD, 68)
    from stages.services import transition_problems

    assert transition_problems(browses, "qualify", None) == ["fit score 10 is below the minimum 15"]


def test_a_redelivered_score_task_changes_nothing_even_with_decay(
    decaying_rules, add_events, sdr, task_runs
):
    from scoring.tasks import score_leads

    lead = lead_at(Stage.LEAD, company="Acme", job_title="Analyst")
    add_events(lead, WHITEPAPER, PRICING, PRICING, PRICING)
    with time_machine.travel(timezone.now() + dt.timedelta(days=3), tick=False):
        score_leads(lead_ids=[lead.pk])
        first = _fresh(lead)
        score_leads(lead_ids=[lead.pk])  # the broker delivers it again

    second = _fresh(lead)
    assert (second.score, second.scored_at, second.stage) == (
        first.score,
        first.scored_at,
        first.stage,
    )
    assert second.transitions.filter(name="qualify").count() == 1
