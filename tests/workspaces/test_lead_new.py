"""Entering a contact that sales sourced itself."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from leadflow.people.models import Contact
from stages.models import Lead, Source, Stage, Status
from tests.factories import lead_at


def _form(**fields):
    return {
        "email": "grace@navy.example",
        "first_name": "Grace",
        "last_name": "Hopper",
        "company": "US Navy",
        "job_title": "Rear Admiral",
        "source": Source.EVENT,
        **fields,
    }


def test_an_sdr_enters_a_contact_as_an_sql_to_reach(sdr, client_for):
    response = client_for(sdr).post(reverse("lead_new"), _form())

    lead = Lead.objects.get(contact__email="grace@navy.example")
    assert response.status_code == 302
    assert response["Location"] == reverse("lead_detail", args=[lead.pk])
    assert (lead.stage, lead.status, lead.owner, lead.source) == (
        Stage.SQL,
        Status.CONTACT_ATTEMPT,
        sdr,
        Source.EVENT,
    )
    assert lead.transitions.filter(name="source_direct", by=sdr).exists()


def test_an_ae_enters_a_contact_as_an_active_sql_with_the_meeting(ae, client_for):
    meeting = (timezone.localtime() + dt.timedelta(days=2)).replace(second=0, microsecond=0)

    client_for(ae).post(reverse("lead_new"), _form(meeting_at=meeting.strftime("%Y-%m-%dT%H:%M")))

    lead = Lead.objects.get(contact__email="grace@navy.example")
    assert (lead.stage, lead.status, lead.owner, lead.meeting_at) == (
        Stage.SQL,
        Status.ACTIVE,
        ae,
        meeting,
    )


def test_an_sdr_can_give_the_contact_to_an_ae(sdr, ae, client_for):
    client_for(sdr).post(reverse("lead_new"), _form(owner=ae.pk))

    lead = Lead.objects.get(contact__email="grace@navy.example")
    assert (lead.status, lead.owner) == (Status.ACTIVE, ae)


def test_a_contact_already_in_the_funnel_is_a_form_error_with_a_link(sdr, client_for):
    existing = lead_at(Stage.MQL, owner=sdr, email="grace@navy.example")

    response = client_for(sdr).post(reverse("lead_new"), _form(email="GRACE@navy.example"))

    html = response.content.decode()
    existing.refresh_from_db()
    assert response.status_code == 400
    assert f"grace@navy.example is already a MQL (lead #{existing.pk})" in html
    assert reverse("lead_detail", args=[existing.pk]) in html
    assert existing.contact.company != "US Navy"
    assert existing.stage == Stage.MQL


def test_a_known_lead_at_lead_stage_is_taken_over(sdr, client_for):
    known = lead_at(Stage.LEAD, email="grace@navy.example", company="")

    client_for(sdr).post(reverse("lead_new"), _form())

    known.refresh_from_db()
    assert (known.stage, known.owner, known.contact.company) == (Stage.SQL, sdr, "US Navy")


def test_a_missing_or_invalid_email_is_a_field_error_and_creates_nothing(sdr, client_for):
    client = client_for(sdr)

    missing = client.post(reverse("lead_new"), _form(email=""))
    invalid = client.post(reverse("lead_new"), _form(email="grace-at-navy"))

    assert missing.status_code == invalid.status_code == 400
    assert "This field is required." in missing.content.decode()
    assert "Enter a valid email address." in invalid.content.decode()
    assert not Contact.objects.exists()


def test_a_marketing_source_is_refused(sdr, client_for):
    response = client_for(sdr).post(reverse("lead_new"), _form(source=Source.TRACKING))

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Lead.objects.exists()


def test_an_owner_who_is_not_a_rep_is_refused(sdr, marketer, client_for):
    response = client_for(sdr).post(reverse("lead_new"), _form(owner=marketer.pk))

    assert response.status_code == 400
    assert "Choose an active SDR or AE." in response.content.decode()
    assert not Lead.objects.exists()
