"""Sales-sourced contacts enter directly as SQL, owned by a rep."""

from __future__ import annotations

import datetime as dt

import pytest

from leadflow.people.models import Contact
from stages.models import Lead, Source, Stage, Status
from stages.services import TransitionError, contact_source_direct
from tests.factories import lead_at

MEETING = dt.datetime(2030, 1, 15, 10, 30, tzinfo=dt.UTC)


def test_sdr_enters_a_new_contact_as_sql_in_contact_attempt(db, sdr):
    lead = contact_source_direct(
        by=sdr, email="Grace@Hopper.org", company="Navy", job_title="Admiral", source="event"
    )

    stored = Lead.objects.select_related("contact").get(pk=lead.pk)
    assert (stored.stage, stored.status, stored.owner, stored.source) == (
        Stage.SQL,
        Status.CONTACT_ATTEMPT,
        sdr,
        Source.EVENT,
    )
    assert (stored.contact.email, stored.contact.company) == ("grace@hopper.org", "Navy")
    record = stored.transitions.get()
    assert (record.name, record.source, record.target, record.by, record.reason) == (
        "source_direct",
        "visitor",
        "sql",
        sdr,
        "sales-sourced (event)",
    )


def test_ae_enters_their_own_contact_as_an_active_sql(db, ae):
    lead = contact_source_direct(by=ae, email="ken@example.com", meeting_at=MEETING)

    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.status, stored.owner, stored.meeting_at) == (Status.ACTIVE, ae, MEETING)
    assert stored.source == Source.OUTBOUND


def test_an_existing_lead_is_taken_over_whatever_the_case_of_its_email(db, sdr):
    lead = lead_at(Stage.LEAD, email="linus@example.com")

    taken = contact_source_direct(by=sdr, email=" LINUS@example.com ", source="referral")

    assert taken.pk == lead.pk
    assert Contact.objects.filter(email__iexact="linus@example.com").count() == 1
    assert Lead.objects.get(pk=lead.pk).stage == Stage.SQL


def test_a_contact_further_down_the_funnel_is_refused(db, sdr):
    lead = lead_at(Stage.MQL, email="ada@example.com", owner=sdr)

    with pytest.raises(TransitionError, match=r"ada@example.com is already a MQL"):
        contact_source_direct(by=sdr, email="ada@example.com", company="Other Co")

    stored = Lead.objects.select_related("contact").get(pk=lead.pk)
    assert (stored.stage, stored.source) == (Stage.MQL, Source.TRACKING)
    assert stored.contact.company != "Other Co"


def test_the_source_must_be_a_sales_source(db, sdr):
    with pytest.raises(TransitionError, match="choose outbound, event or referral"):
        contact_source_direct(by=sdr, email="x@example.com", source="tracking")

    assert not Contact.objects.filter(email="x@example.com").exists()


def test_the_owner_must_be_an_active_sdr_or_ae(db, sdr, marketer):
    with pytest.raises(TransitionError, match="marketer is not an active SDR or AE"):
        contact_source_direct(by=sdr, email="y@example.com", owner=marketer)

    assert not Contact.objects.filter(email="y@example.com").exists()


def test_marketer_cannot_enter_a_sales_sourced_contact(db, marketer, sdr):
    with pytest.raises(TransitionError, match="your role may not do this"):
        contact_source_direct(by=marketer, email="z@example.com", owner=sdr)

    # The contact and the lead made on the way are rolled back with the refusal.
    assert not Contact.objects.filter(email="z@example.com").exists()
    assert not Lead.objects.exists()


def test_a_sales_sourced_contact_gets_its_fit_points_at_once(
    demo_rules, sdr, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lead = contact_source_direct(
            by=sdr, email="new@prospect.example", company="Prospect", job_title="Head of IT"
        )

    lead.refresh_from_db()
    assert (lead.fit_score, lead.stage) == (20, Stage.SQL)
