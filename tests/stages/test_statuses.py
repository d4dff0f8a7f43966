"""The work statuses inside a stage: their own transitions, and a reset on every stage change."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from stages.models import Lead, Stage, Status
from stages.services import TransitionError, lead_book_meeting, lead_nurture, lead_transition
from tests.factories import lead_at

MEETING = dt.datetime(2030, 1, 15, 10, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("stage", "status", "name", "kwargs", "after"),
    [
        (Stage.MQL, Status.CONTACT_ATTEMPT, "disqualify", {"reason": "spam"}, Status.NONE),
        (Stage.MQL, Status.NURTURING, "recycle", {"reason": "later"}, Status.NONE),
        (Stage.MQL, Status.NURTURING, "convert", {"meeting_at": MEETING}, Status.ACTIVE),
        (Stage.MQL, Status.CONTACT_ATTEMPT, "convert", {"meeting_at": MEETING}, Status.ACTIVE),
        (Stage.SQL, Status.CONTACT_ATTEMPT, "win", {"deal_value": None}, Status.NONE),
        (Stage.SQL, Status.ACTIVE, "recycle", {"reason": "no budget this year"}, Status.NONE),
        (Stage.SQL, Status.ACTIVE, "disqualify", {"reason": "lost"}, Status.NONE),
    ],
)
def test_a_stage_change_resets_the_status(db, sdr, ae, stage, status, name, kwargs, after):
    lead = lead_at(stage, status, owner=sdr, ae=ae)
    if name == "convert":
        kwargs = {**kwargs, "ae": ae}

    lead_transition(lead=lead, name=name, by="import", **kwargs)

    stored = Lead.objects.get(pk=lead.pk)
    assert stored.status == after
    assert stored.follow_up_on is None
    assert stored.transitions.order_by("pk").last().data["status"] == after


def test_qualify_opens_the_mql(db, marketer, sdr):
    lead = lead_at(Stage.LEAD)
    Lead.objects.filter(pk=lead.pk).update(score=75)
    lead.refresh_from_db()

    lead_transition(lead=lead, name="qualify", by=marketer, owner=sdr)

    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.stage, stored.status, stored.owner) == (Stage.MQL, Status.OPEN, sdr)
    assert stored.became_mql_at is not None


def test_a_nurtured_mql_is_reopened_and_forgets_its_follow_up_date(db, sdr):
    lead = lead_at(Stage.MQL, Status.CONTACT_ATTEMPT, owner=sdr)
    follow_up = timezone.localdate() + dt.timedelta(days=30)

    lead_nurture(lead=lead, by=sdr, follow_up_on=follow_up, reason="next quarter")
    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.status, stored.follow_up_on) == (Status.NURTURING, follow_up)

    lead_transition(lead=stored, name="reopen", by=sdr)
    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.stage, stored.status, stored.follow_up_on) == (Stage.MQL, Status.OPEN, None)
    assert list(
        stored.transitions.filter(field="status").order_by("pk").values_list("source", "target")
    ) == [
        ("open", "contact_attempt"),
        ("contact_attempt", "nurturing"),
        ("nurturing", "open"),
    ]


def test_hand_back_returns_the_lead_to_its_sdr(db, sdr, ae):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)
    assert (lead.owner, lead.sdr) == (ae, sdr)

    lead_transition(lead=lead, name="hand_back", by=ae, reason="no show")

    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.stage, stored.status, stored.owner) == (Stage.SQL, Status.CONTACT_ATTEMPT, sdr)
    assert stored.meeting_at is None


def test_the_sdr_books_a_new_meeting_after_a_hand_back(db, sdr, ae):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)
    lead_transition(lead=lead, name="hand_back", by=ae, reason="no show")

    lead_book_meeting(lead=lead.pk, by=sdr, meeting_at=MEETING, ae=ae)

    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.status, stored.owner, stored.sdr, stored.meeting_at) == (
        Status.ACTIVE,
        ae,
        sdr,
        MEETING,
    )


def test_an_sdr_books_the_meeting_of_a_sales_sourced_contact(db, sdr, ae):
    lead = lead_at(Stage.SQL, Status.CONTACT_ATTEMPT, owner=sdr)

    lead_book_meeting(lead=lead, by=sdr, meeting_at=MEETING, ae=ae)

    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.stage, stored.status, stored.owner, stored.sdr) == (
        Stage.SQL,
        Status.ACTIVE,
        ae,
        sdr,
    )


def test_a_deal_no_sdr_worked_cannot_be_handed_back_to_no_one(db, ae):
    # An AE's own sales-sourced contact enters active, without an SDR.
    lead = lead_at(Stage.VISITOR)
    lead_transition(lead=lead, name="source_direct", by=ae, owner=ae, active=True)

    with pytest.raises(TransitionError) as caught:
        lead_transition(lead=lead, name="hand_back", by=ae, reason="not ready")

    assert caught.value.problems == ["no SDR worked this lead: there is no one to hand it back to"]
    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.status, stored.owner) == (Status.ACTIVE, ae)
