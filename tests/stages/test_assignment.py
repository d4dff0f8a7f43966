"""Assignment: by name or round-robin, skipping reps away or at capacity; every change recorded
and the new owner told."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from stages.models import Lead, Notification, OwnerChange, RepAvailability, Stage, Status
from stages.services import TransitionError, lead_assign, lead_convert, lead_qualify, sdr_next
from tests.factories import lead_at


def _qualifiable() -> Lead:
    lead = lead_at(Stage.LEAD)
    Lead.objects.filter(pk=lead.pk).update(score=100)
    lead.refresh_from_db()
    return lead


def test_an_sdr_away_gets_no_new_leads(db, sdr, other_sdr):
    RepAvailability.objects.create(user=sdr, is_away=True)

    owners = {lead_qualify(lead=_qualifiable(), by="scoring").owner for _ in range(3)}

    assert owners == {other_sdr}


def test_an_sdr_at_capacity_is_skipped_until_a_lead_leaves_their_list(db, sdr, other_sdr):
    RepAvailability.objects.create(user=sdr, capacity=1)
    RepAvailability.objects.create(user=other_sdr, capacity=1)
    first = lead_at(Stage.MQL, owner=sdr)
    lead_at(Stage.MQL, owner=other_sdr)

    assert sdr_next() is None
    waiting = lead_qualify(lead=_qualifiable(), by="scoring")
    assert (waiting.stage, waiting.owner) == (Stage.MQL, None)

    Lead.objects.filter(pk=first.pk).update(owner=None)  # e.g. reassigned elsewhere
    assert sdr_next() == sdr


def test_a_marketer_assigns_an_mql_by_name_and_it_is_recorded(db, marketer, sdr, other_sdr):
    lead = lead_at(Stage.MQL, owner=sdr)

    lead_assign(lead=lead, by=marketer, owner=other_sdr, reason="speaks German")

    lead.refresh_from_db()
    assert lead.owner == other_sdr
    change = lead.owner_changes.latest("created_at")
    assert (change.previous, change.owner, change.by, change.reason) == (
        sdr,
        other_sdr,
        marketer,
        "speaks German",
    )
    note = Notification.objects.get(user=other_sdr, kind=Notification.Kind.ASSIGNED)
    assert note.lead == lead and "from marketer" in note.text


def test_round_robin_assignment_picks_the_least_loaded_sdr(db, marketer, sdr, other_sdr):
    lead_at(Stage.MQL, owner=sdr)
    lead = lead_at(Stage.MQL)
    Lead.objects.filter(pk=lead.pk).update(owner=None)

    lead_assign(lead=lead.pk, by=marketer)

    lead.refresh_from_db()
    assert lead.owner == other_sdr
    assert lead.owner_changes.latest("created_at").reason == "round-robin"


def test_round_robin_with_everyone_away_says_so(db, marketer, sdr):
    RepAvailability.objects.create(user=sdr, is_away=True)
    lead = lead_at(Stage.MQL)
    Lead.objects.filter(pk=lead.pk).update(owner=None)

    with pytest.raises(TransitionError, match="away or at capacity"):
        lead_assign(lead=lead.pk, by=marketer)


@pytest.mark.parametrize("who", ["sdr", "ae"])
def test_reps_may_not_assign(db, request, who, other_sdr):
    lead = lead_at(Stage.MQL, owner=other_sdr)

    with pytest.raises(TransitionError, match="may not assign"):
        lead_assign(lead=lead, by=request.getfixturevalue(who), owner=other_sdr)


def test_an_mql_goes_to_an_sdr_and_an_active_sql_to_an_ae(db, marketer, sdr, ae):
    mql = lead_at(Stage.MQL, owner=sdr)
    with pytest.raises(TransitionError, match="not an active SDR"):
        lead_assign(lead=mql, by=marketer, owner=ae)

    deal = lead_at(Stage.SQL, owner=sdr, ae=ae)
    with pytest.raises(TransitionError, match="not an active AE"):
        lead_assign(lead=deal, by=marketer, owner=sdr)


def test_closed_leads_are_not_assigned(db, marketer, sdr, ae):
    customer = lead_at(Stage.CUSTOMER, owner=sdr, ae=ae)

    with pytest.raises(TransitionError, match="not assigned to a rep"):
        lead_assign(lead=customer, by=marketer, owner=sdr)


def test_transitions_that_change_the_owner_are_recorded_too(db, sdr, ae):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    changes = list(lead.owner_changes.order_by("created_at", "id"))

    assert [(c.previous, c.owner, c.reason) for c in changes] == [
        (None, sdr, "Qualify as MQL"),
        (sdr, ae, "Book meeting"),
    ]
    # The scoring worker's assignment tells the SDR; the AE is told by the booking.
    assert Notification.objects.filter(user=sdr, lead=lead).count() == 1
    assert Notification.objects.filter(user=ae, lead=lead).count() == 1
    assert OwnerChange.objects.filter(lead=lead, actor="fixture").count() == 2


def test_a_meeting_without_an_ae_goes_to_the_round_robins_next_ae(db, sdr, ae, make_user):
    busy = make_user("ae-busy", "ae")
    lead_at(Stage.SQL, owner=sdr, ae=busy)
    away = make_user("ae-away", "ae")
    RepAvailability.objects.create(user=away, is_away=True)
    lead = lead_at(Stage.MQL, owner=sdr)

    lead_convert(lead=lead, by=sdr, meeting_at=timezone.now() + dt.timedelta(days=1), ae=None)

    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.SQL, ae)


def test_with_every_ae_away_a_meeting_needs_an_ae_by_name(db, sdr, ae):
    RepAvailability.objects.create(user=ae, is_away=True)
    lead = lead_at(Stage.MQL, owner=sdr)

    with pytest.raises(TransitionError, match="every AE is away"):
        lead_convert(lead=lead, by=sdr, meeting_at=timezone.now() + dt.timedelta(days=1), ae=None)
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
