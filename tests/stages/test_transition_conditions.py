"""The conditions of the transitions: each unmet one is named in words, and nothing moves."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from leadflow.people.models import Contact
from stages.models import Lead, LeadTransition, Stage, StageRules, Status
from stages.services import TransitionError, lead_convert, lead_transition
from tests.factories import lead_at

MEETING = dt.datetime(2030, 1, 15, 10, 30, tzinfo=dt.UTC)


def _unchanged(lead: Lead, stage: str, status: str, transitions: int) -> None:
    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.stage, stored.status) == (stage, status)
    assert LeadTransition.objects.filter(lead=lead).count() == transitions


def _with_score(lead: Lead, score: int) -> Lead:
    Lead.objects.filter(pk=lead.pk).update(score=score)
    return Lead.objects.select_related("contact").get(pk=lead.pk)


def _blank(lead: Lead, **fields: str) -> Lead:
    Contact.objects.filter(pk=lead.contact_id).update(**fields)
    return Lead.objects.select_related("contact").get(pk=lead.pk)


def test_marketer_cannot_qualify_a_lead_below_the_mql_threshold(db, marketer):
    lead = _with_score(lead_at(Stage.LEAD), 59)

    with pytest.raises(TransitionError) as caught:
        lead_transition(lead=lead, name="qualify", by=marketer)

    assert caught.value.problems == ["score 59 is below the MQL threshold 60"]
    assert str(caught.value) == "cannot qualify as mql: score 59 is below the MQL threshold 60"
    _unchanged(lead, Stage.LEAD, Status.NONE, 1)


def test_the_scoring_worker_cannot_qualify_a_lead_below_the_threshold_either(db):
    lead = _with_score(lead_at(Stage.LEAD), 10)

    with pytest.raises(TransitionError, match="score 10 is below the MQL threshold 60"):
        lead_transition(lead=lead, name="qualify", by="scoring")

    _unchanged(lead, Stage.LEAD, Status.NONE, 1)


def test_a_lead_at_exactly_the_threshold_qualifies(db, marketer):
    lead = _with_score(lead_at(Stage.LEAD), 60)

    assert lead_transition(lead=lead, name="qualify", by=marketer).stage == Stage.MQL


def test_the_threshold_is_the_one_the_admin_set(db, marketer):
    rules = StageRules.current()
    rules.mql_threshold = 80
    rules.save()
    lead = _with_score(lead_at(Stage.LEAD), 79)

    with pytest.raises(TransitionError, match="score 79 is below the MQL threshold 80"):
        lead_transition(lead=lead, name="qualify", by=marketer)


def test_qualify_names_every_missing_fit_field_after_the_score(db, marketer):
    lead = _blank(_with_score(lead_at(Stage.LEAD), 12), job_title="", company="")

    with pytest.raises(TransitionError) as caught:
        lead_transition(lead=lead, name="qualify", by=marketer)

    assert caught.value.problems == [
        "score 12 is below the MQL threshold 60",
        "company missing",
        "job title missing",
    ]
    _unchanged(lead, Stage.LEAD, Status.NONE, 1)


def test_a_high_score_does_not_qualify_a_lead_without_a_job_title(db, marketer):
    lead = _blank(_with_score(lead_at(Stage.LEAD), 500), job_title="")

    with pytest.raises(TransitionError) as caught:
        lead_transition(lead=lead, name="qualify", by=marketer)

    assert caught.value.problems == ["job title missing"]


def test_the_required_fit_fields_are_the_ones_the_admin_chose(db, marketer):
    rules = StageRules.current()
    rules.mql_required_fields = ["phone"]
    rules.save()
    lead = _blank(_with_score(lead_at(Stage.LEAD), 60), job_title="", phone="")

    with pytest.raises(TransitionError) as caught:
        lead_transition(lead=lead, name="qualify", by=marketer)
    assert caught.value.problems == ["phone missing"]

    lead = Lead.objects.select_related("contact").get(pk=lead.pk)
    Contact.objects.filter(pk=lead.contact_id).update(phone="+33 1 23 45 67 89")
    lead = Lead.objects.select_related("contact").get(pk=lead.pk)
    assert lead_transition(lead=lead, name="qualify", by=marketer).stage == Stage.MQL


def test_sdr_cannot_convert_an_mql_without_company_and_job_title(db, sdr, ae):
    lead = _blank(lead_at(Stage.MQL, owner=sdr), company="", job_title="")

    with pytest.raises(TransitionError) as caught:
        lead_convert(lead=lead, by=sdr, meeting_at=MEETING, ae=ae)

    assert caught.value.problems == ["company missing", "job title missing"]
    _unchanged(lead, Stage.MQL, Status.OPEN, 2)
    assert Lead.objects.get(pk=lead.pk).owner == sdr


@pytest.mark.parametrize(("meeting_at", "with_ae"), [(None, True), (MEETING, False), (None, False)])
def test_sdr_cannot_convert_without_a_meeting_and_an_ae(db, sdr, ae, meeting_at, with_ae):
    lead = lead_at(Stage.MQL, owner=sdr)

    with pytest.raises(TransitionError) as caught:
        lead_transition(
            lead=lead, name="convert", by=sdr, meeting_at=meeting_at, ae=ae if with_ae else None
        )

    assert caught.value.problems == ["a meeting date and an AE are required to book a meeting"]
    assert (lead.stage, lead.owner) == (Stage.MQL, sdr)
    _unchanged(lead, Stage.MQL, Status.OPEN, 2)


def test_sdr_cannot_hand_a_meeting_to_someone_who_is_not_an_ae(db, sdr, other_sdr):
    lead = lead_at(Stage.MQL, owner=sdr)

    with pytest.raises(TransitionError, match="sdr2 is not an active AE"):
        lead_convert(lead=lead, by=sdr, meeting_at=MEETING, ae=other_sdr)

    _unchanged(lead, Stage.MQL, Status.OPEN, 2)


def test_sdr_cannot_hand_a_meeting_to_an_inactive_ae(db, sdr, make_user):
    gone = make_user("gone", "ae", is_active=False)
    lead = lead_at(Stage.MQL, owner=sdr)

    with pytest.raises(TransitionError, match="gone is not an active AE"):
        lead_convert(lead=lead, by=sdr, meeting_at=MEETING, ae=gone)


def test_sdr_converts_an_mql_with_a_meeting_to_an_ae(db, sdr, ae):
    lead = lead_at(Stage.MQL, Status.CONTACT_ATTEMPT, owner=sdr)

    lead_convert(lead=lead, by=sdr, meeting_at=MEETING, ae=ae)

    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.stage, stored.status, stored.owner, stored.sdr) == (
        Stage.SQL,
        Status.ACTIVE,
        ae,
        sdr,
    )
    assert stored.meeting_at == MEETING
    assert stored.became_sql_at is not None


def test_sdr_cannot_win_a_deal(db, sdr, ae):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    with pytest.raises(TransitionError, match="your role may not do this"):
        lead_transition(lead=lead, name="win", by=sdr, deal_value=None)

    _unchanged(lead, Stage.SQL, Status.ACTIVE, 3)


def test_only_the_ae_who_owns_the_deal_may_win_it(db, sdr, ae, make_user):
    other_ae = make_user("ae2", "ae")
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    with pytest.raises(TransitionError, match="this lead belongs to another rep"):
        lead_transition(lead=lead, name="win", by=other_ae, deal_value=None)
    _unchanged(lead, Stage.SQL, Status.ACTIVE, 3)

    won = lead_transition(lead=lead, name="win", by=ae, deal_value=None)
    assert won.stage == Stage.CUSTOMER
    assert won.became_customer_at is not None


@pytest.mark.parametrize("reason", ["", "meh", "NO_BUDGET", "Deal lost"])
def test_disqualify_needs_a_reason_from_the_list(db, marketer, reason):
    lead = lead_at(Stage.MQL)

    with pytest.raises(TransitionError) as caught:
        lead_transition(lead=lead, name="disqualify", by=marketer, reason=reason)

    assert caught.value.problems == [f"choose a reason from the list, not {reason!r}"]
    assert lead.stage == Stage.MQL
    _unchanged(lead, Stage.MQL, Status.OPEN, 2)


def test_disqualify_without_any_reason_fails_and_changes_nothing(db):
    lead = lead_at(Stage.LEAD)

    with pytest.raises(TransitionError, match="reason"):
        lead_transition(lead=lead, name="disqualify", by="import")

    _unchanged(lead, Stage.LEAD, Status.NONE, 1)


def test_disqualify_keeps_the_reason_and_the_time(db, marketer):
    lead = lead_at(Stage.LEAD)

    lead_transition(lead=lead, name="disqualify", by=marketer, reason="competitor")

    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.stage, stored.disqualify_reason) == (Stage.DISQUALIFIED, "competitor")
    assert stored.disqualified_at is not None
    assert stored.transitions.get(name="disqualify").reason == "competitor"


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_recycle_needs_a_reason(db, sdr, reason):
    lead = lead_at(Stage.MQL, owner=sdr)

    with pytest.raises(TransitionError) as caught:
        lead_transition(lead=lead, name="recycle", by=sdr, reason=reason)

    assert caught.value.problems == ["a reason is required to recycle a lead"]
    _unchanged(lead, Stage.MQL, Status.OPEN, 2)
    assert Lead.objects.get(pk=lead.pk).owner == sdr


def test_recycle_brings_a_disqualified_lead_back_as_a_lead_without_owner(db, marketer, sdr):
    lead = lead_at(Stage.DISQUALIFIED, owner=sdr)

    lead_transition(lead=lead, name="recycle", by=marketer, reason="new budget")

    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.stage, stored.status, stored.owner, stored.meeting_at) == (
        Stage.LEAD,
        Status.NONE,
        None,
        None,
    )
    assert stored.transitions.order_by("pk").last().reason == "new budget"


def test_nurture_needs_a_follow_up_date(db, sdr):
    lead = lead_at(Stage.MQL, owner=sdr)

    with pytest.raises(TransitionError, match="a follow-up date is required"):
        lead_transition(lead=lead, name="nurture", by=sdr, follow_up_on=None)

    _unchanged(lead, Stage.MQL, Status.OPEN, 2)


def test_hand_back_needs_a_reason(db, sdr, ae):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    with pytest.raises(TransitionError, match="say why the lead goes back to the SDR"):
        lead_transition(lead=lead, name="hand_back", by=ae, reason=" ")

    _unchanged(lead, Stage.SQL, Status.ACTIVE, 3)
    assert Lead.objects.get(pk=lead.pk).owner == ae


def test_book_meeting_needs_company_and_job_title(db, sdr, ae):
    lead = _blank(lead_at(Stage.SQL, Status.CONTACT_ATTEMPT, owner=sdr), job_title="")

    with pytest.raises(TransitionError) as caught:
        lead_transition(lead=lead, name="book_meeting", by=sdr, meeting_at=MEETING, ae=ae)

    assert caught.value.problems == ["job title missing"]
    _unchanged(lead, Stage.SQL, Status.CONTACT_ATTEMPT, 1)


def test_identify_needs_an_email(db):
    lead = _blank(lead_at(Stage.VISITOR), email="")

    with pytest.raises(TransitionError) as caught:
        lead_transition(lead=lead, name="identify", by="tracking")

    assert caught.value.problems == ["email missing"]
    _unchanged(lead, Stage.VISITOR, Status.NONE, 0)


def test_an_unknown_transition_is_an_error_not_a_crash(db, admin_user):
    lead = lead_at(Stage.LEAD)

    with pytest.raises(TransitionError, match="there is no transition called 'promote'"):
        lead_transition(lead=lead, name="promote", by=admin_user)
    with pytest.raises(TransitionError, match="there is no transition called 'save'"):
        lead_transition(lead=lead, name="save", by=admin_user)


def test_a_transition_leaves_the_score_a_worker_wrote_meanwhile(db, marketer):
    lead = lead_at(Stage.MQL)
    stale = Lead.objects.select_related("contact").get(pk=lead.pk)
    Lead.objects.filter(pk=lead.pk).update(score=87, scored_at=timezone.now())

    lead_transition(lead=stale, name="disqualify", by=marketer, reason="spam")

    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.stage, stored.score) == (Stage.DISQUALIFIED, 87)
