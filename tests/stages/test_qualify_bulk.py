"""Qualifying many leads at once leaves exactly what qualifying them one by one through the state
machine leaves: fields, audit, owners, owner changes, notifications and journeys."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django_fsm.signals import post_transition, pre_transition

from leadflow.people.models import Contact
from leadflow.reports.models import JourneyDay, LeadJourney
from stages.models import (
    Lead,
    LeadTransition,
    Notification,
    OwnerChange,
    RepAvailability,
    Stage,
    StageRules,
    Status,
)
from stages.services import (
    FOLLOWED_RECEIVERS,
    TransitionError,
    lead_qualify,
    leads_qualify_bulk,
)
from tests.factories import lead_at

NOW = dt.datetime(2030, 3, 4, 10, 0, tzinfo=dt.UTC)


def _scored(lead: Lead, score: int, fit: int = 10) -> Lead:
    Lead.objects.filter(pk=lead.pk).update(score=score, fit_score=fit, behaviour_score=score - fit)
    return lead


def _state() -> dict[str, Any]:
    """Every row a qualification may write, without the ids the sequences give them."""

    def rows(model, *order: str) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in row.items() if k != "id"}
            for row in model.objects.order_by(*order, "pk").values()
        ]

    return {
        "leads": list(Lead.objects.order_by("pk").values()),
        "transitions": rows(LeadTransition, "lead_id", "created_at"),
        "owner_changes": rows(OwnerChange, "lead_id", "created_at"),
        "notifications": rows(Notification, "user_id", "lead_id", "kind"),
        "journeys": rows(LeadJourney, "lead_id"),
        "journey_days": rows(
            JourneyDay, *[f.attname for f in JourneyDay._meta.fields if not f.primary_key]
        ),
    }


def _both_ways(ids: list[int]) -> tuple[dict[str, Any], dict[str, Any], list[int]]:
    """The state after `lead_qualify` on each lead in id order, rolled back, then the state
    after `leads_qualify_bulk` on them all, and the ids the bulk path qualified."""
    with transaction.atomic():
        for pk in sorted(ids):
            with contextlib.suppress(TransitionError):  # as scoring's leads_qualify does
                lead_qualify(lead=pk, by="scoring")
        one_by_one = _state()
        transaction.set_rollback(True)
    qualified = leads_qualify_bulk(lead_ids=ids, by="scoring")
    return one_by_one, _state(), qualified


@pytest.fixture
def sdrs(make_user, sdr, other_sdr):
    away = make_user("sdr-away", "sdr")
    RepAvailability.objects.create(user=away, is_away=True)
    RepAvailability.objects.create(user=other_sdr, capacity=3)
    return [sdr, other_sdr, away]


def test_qualifying_in_bulk_writes_what_the_state_machine_writes_one_lead_at_a_time(db, sdrs):
    sdr, other_sdr, _ = sdrs
    with time_machine.travel(NOW, tick=False):
        lead_at(Stage.MQL, owner=sdr)  # sdr has one to work already
        threshold = StageRules.current().mql_threshold
        ready = [_scored(lead_at(Stage.LEAD), threshold + n) for n in range(6)]
        below = _scored(lead_at(Stage.LEAD), threshold - 1)
        no_title = _scored(lead_at(Stage.LEAD, job_title=""), threshold + 5)
        mql = lead_at(Stage.MQL)
        visitor = _scored(lead_at(Stage.VISITOR), threshold + 5)
        owned = _scored(lead_at(Stage.LEAD), threshold)
        Lead.objects.filter(pk=owned.pk).update(owner=other_sdr)
        ids = [lead.pk for lead in [*ready, below, no_title, mql, visitor, owned]]

        one_by_one, bulk, qualified = _both_ways(ids)

    assert bulk == one_by_one
    assert qualified == sorted(lead.pk for lead in [*ready, owned])
    owners = {lead.pk: lead.owner_id for lead in Lead.objects.filter(pk__in=qualified)}
    # other_sdr reaches their capacity of 3; the away SDR gets none.
    assert sorted(owners.values()).count(other_sdr.pk) == 3
    assert set(owners.values()) == {sdr.pk, other_sdr.pk}


def test_without_an_sdr_free_the_bulk_path_keeps_the_owner_as_the_state_machine_does(db, sdrs):
    sdr, other_sdr, _ = sdrs
    RepAvailability.objects.create(user=sdr, is_away=True)
    RepAvailability.objects.filter(user=other_sdr).update(capacity=0)
    with time_machine.travel(NOW, tick=False):
        leads = [_scored(lead_at(Stage.LEAD), 100) for _ in range(3)]
        Lead.objects.filter(pk=leads[0].pk).update(owner=sdr)

        one_by_one, bulk, qualified = _both_ways([lead.pk for lead in leads])

    assert bulk == one_by_one
    assert len(qualified) == 3
    assert [lead.owner_id for lead in Lead.objects.order_by("pk")[:3]] == [sdr.pk, None, None]


@pytest.mark.parametrize("seed", range(3))
def test_bulk_and_one_by_one_agree_on_random_leads_and_reps(db, make_user, seed):
    rng = random.Random(seed)
    reps = [make_user(f"rep{n}", "sdr") for n in range(rng.randint(0, 4))]
    for rep in reps:
        RepAvailability.objects.create(
            user=rep, is_away=rng.random() < 0.2, capacity=rng.choice([None, 1, 2, 5])
        )
    threshold = StageRules.current().mql_threshold
    with time_machine.travel(NOW, tick=False):
        for rep in reps:
            for _ in range(rng.randint(0, 2)):
                lead_at(Stage.MQL, rng.choice([Status.OPEN, Status.NURTURING]), owner=rep)
        leads = []
        for _ in range(25):
            stage = rng.choice([Stage.LEAD] * 5 + [Stage.VISITOR, Stage.MQL, Stage.DISQUALIFIED])
            lead = lead_at(stage)
            Contact.objects.filter(pk=lead.contact_id).update(
                job_title=rng.choice(["", "CTO", "Analyst"])
            )
            leads.append(_scored(lead, rng.randint(threshold - 10, threshold + 40)))

        one_by_one, bulk, _ = _both_ways([lead.pk for lead in leads])

    assert bulk == one_by_one


def test_leads_locked_by_another_transaction_are_left_to_it(transactional_db, sdr):
    # transactional_db: the lock must be held by another connection than the bulk's.
    import threading

    leads = [_scored(lead_at(Stage.LEAD), 100) for _ in range(3)]
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        from django.db import connection

        with transaction.atomic():
            Lead.objects.select_for_update().get(pk=leads[1].pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(10)
    try:
        qualified = leads_qualify_bulk(lead_ids=[lead.pk for lead in leads], by="scoring")
    finally:
        release.set()
        holder.join()

    assert qualified == [leads[0].pk, leads[2].pk]
    assert Lead.objects.get(pk=leads[1].pk).stage == Stage.LEAD


def test_the_bulk_qualify_follows_every_receiver_of_a_transition():
    # The bulk path moves leads with one UPDATE and bulk inserts, not through django-fsm's
    # signals nor model saves: what a receiver does for a transition must be done there too
    # (stages.services.FOLLOWED_RECEIVERS), and no receiver may wait on the rows' saves.
    def names(signal, sender) -> set[str]:
        sync, async_ = signal._live_receivers(sender)
        return {f"{r.__module__}.{r.__qualname__}" for r in [*sync, *async_]}

    assert names(post_transition, Lead) <= FOLLOWED_RECEIVERS
    assert names(pre_transition, Lead) == set()
    for model in (Lead, LeadTransition, OwnerChange, Notification):
        assert names(pre_save, model) == set(), model
        assert names(post_save, model) == set(), model
