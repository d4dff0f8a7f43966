"""A rep acts on their own leads; another rep's lead is refused unless the role may act on any."""

from __future__ import annotations

import datetime as dt

import pytest

from stages.models import Lead, LeadTransition, Stage, Status
from stages.services import TransitionError, attempt_log, lead_transition
from tests.factories import lead_at

MEETING = dt.datetime(2030, 1, 15, 10, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("name", "status", "kwargs"),
    [
        ("convert", Status.OPEN, {"meeting_at": MEETING}),
        ("start_attempt", Status.OPEN, {}),
        ("nurture", Status.CONTACT_ATTEMPT, {"follow_up_on": dt.date(2030, 3, 1)}),
        ("reopen", Status.NURTURING, {}),
        ("disqualify", Status.OPEN, {"reason": "no_response"}),
        ("recycle", Status.CONTACT_ATTEMPT, {"reason": "wrong timing"}),
    ],
)
def test_sdr_cannot_act_on_another_sdrs_mql(db, sdr, other_sdr, ae, name, status, kwargs):
    lead = lead_at(Stage.MQL, status, owner=sdr)
    if name == "convert":
        kwargs = {**kwargs, "ae": ae}
    history = lead.transitions.count()

    with pytest.raises(TransitionError) as caught:
        lead_transition(lead=lead, name=name, by=other_sdr, **kwargs)

    assert caught.value.problems == ["this lead belongs to another rep"]
    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.stage, stored.status, stored.owner) == (Stage.MQL, status, sdr)
    assert LeadTransition.objects.filter(lead=lead).count() == history


def test_sdr_cannot_book_a_meeting_on_another_sdrs_sql(db, sdr, other_sdr, ae):
    lead = lead_at(Stage.SQL, Status.CONTACT_ATTEMPT, owner=sdr)

    with pytest.raises(TransitionError, match="this lead belongs to another rep"):
        lead_transition(lead=lead, name="book_meeting", by=other_sdr, meeting_at=MEETING, ae=ae)

    assert Lead.objects.get(pk=lead.pk).owner == sdr


def test_sdr_cannot_log_an_attempt_on_another_sdrs_lead(db, sdr, other_sdr):
    lead = lead_at(Stage.MQL, owner=sdr)

    with pytest.raises(TransitionError, match="this lead belongs to another rep"):
        attempt_log(lead=lead, by=other_sdr, channel="call", outcome="no_answer")

    assert lead.attempts.count() == 0
    assert Lead.objects.get(pk=lead.pk).status == Status.OPEN


def test_ae_cannot_hand_back_another_aes_deal(db, sdr, ae, make_user):
    other_ae = make_user("ae2", "ae")
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    with pytest.raises(TransitionError, match="this lead belongs to another rep"):
        lead_transition(lead=lead, name="hand_back", by=other_ae, reason="not mine")

    assert Lead.objects.get(pk=lead.pk).owner == ae


def test_the_sdr_who_converts_an_unowned_mql_becomes_its_sdr(db, other_sdr, ae):
    lead = lead_at(Stage.MQL, owner=None)

    lead_transition(lead=lead, name="convert", by=other_sdr, meeting_at=MEETING, ae=ae)
    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.stage, stored.owner, stored.sdr) == (Stage.SQL, ae, other_sdr)

    # So that a hand-back returns it to someone's work list, not to no one.
    lead_transition(lead=stored, name="hand_back", by=ae, reason="no show")
    assert Lead.objects.get(pk=lead.pk).owner == other_sdr


def test_the_sdr_who_books_the_meeting_of_an_unowned_sql_becomes_its_sdr(db, sdr, ae):
    lead = lead_at(Stage.SQL, Status.CONTACT_ATTEMPT, owner=sdr)
    Lead.objects.filter(pk=lead.pk).update(owner=None)
    lead.refresh_from_db()

    lead_transition(lead=lead, name="book_meeting", by=sdr, meeting_at=MEETING, ae=ae)

    assert Lead.objects.get(pk=lead.pk).sdr == sdr


def test_marketer_and_admin_may_act_on_anyones_lead(db, marketer, admin_user, sdr):
    first = lead_at(Stage.MQL, owner=sdr)
    second = lead_at(Stage.MQL, owner=sdr)

    lead_transition(lead=first, name="disqualify", by=marketer, reason="duplicate")
    lead_transition(lead=second, name="start_attempt", by=admin_user)

    assert Lead.objects.get(pk=first.pk).stage == Stage.DISQUALIFIED
    assert Lead.objects.get(pk=second.pk).status == Status.CONTACT_ATTEMPT


def test_an_inactive_rep_can_no_longer_act_on_their_own_lead(db, sdr):
    lead = lead_at(Stage.MQL, owner=sdr)
    sdr.is_active = False
    sdr.save()

    with pytest.raises(TransitionError, match="your role may not do this"):
        lead_transition(lead=lead, name="start_attempt", by=sdr)
