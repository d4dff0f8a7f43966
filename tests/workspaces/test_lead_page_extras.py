"""The lead page: the profile edited in place by those who may, notes on the timeline, the points
each event gives, and the owners over time."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from leadflow.tracking.models import Event, WriteKey
from stages.models import Lead, Note, Stage
from stages.services import lead_assign
from tests.factories import lead_at

PROFILE = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "company": "Analytical Engines",
    "job_title": "Head of Research",
    "seniority": "director",
    "industry": "software",
    "company_size": "120",
    "phone": "",
    "country": "GB",
}


def test_the_owner_edits_the_profile_from_the_lead_page(sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)
    client = client_for(sdr)

    page = client.get(reverse("lead_detail", args=[lead.pk])).content.decode()
    assert reverse("lead_do", args=[lead.pk, "profile"]) in page
    response = client.post(reverse("lead_do", args=[lead.pk, "profile"]), PROFILE)

    assert response.status_code == 302
    lead.refresh_from_db()
    contact = lead.contact
    assert (contact.company, contact.seniority, contact.company_size) == (
        "Analytical Engines",
        "director",
        120,
    )
    page = client.get(reverse("lead_detail", args=[lead.pk])).content.decode()
    assert "Profile changed:" in page and "Director" in page


def test_a_bad_profile_value_is_a_form_error_and_changes_nothing(sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)

    response = client_for(sdr).post(
        reverse("lead_do", args=[lead.pk, "profile"]),
        {**PROFILE, "company_size": "lots", "seniority": "emperor"},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a whole number." in html and "Select a valid choice" in html
    lead.refresh_from_db()
    assert lead.contact.company != "Analytical Engines"


def test_another_rep_sees_the_profile_but_cannot_edit_it(sdr, other_sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)
    client = client_for(other_sdr)

    page = client.get(reverse("lead_detail", args=[lead.pk])).content.decode()
    response = client.post(reverse("lead_do", args=[lead.pk, "profile"]), PROFILE)

    assert reverse("lead_do", args=[lead.pk, "profile"]) not in page
    assert response.status_code == 409
    assert not Note.objects.exists()


def test_a_note_goes_on_the_timeline_escaped(ae, sdr, client_for):
    lead = lead_at(Stage.SQL, owner=sdr, ae=ae)
    client = client_for(ae)

    client.post(
        reverse("lead_do", args=[lead.pk, "note"]), {"text": "<script>x()</script> call back"}
    )

    page = client.get(reverse("lead_detail", args=[lead.pk])).content.decode()
    assert "&lt;script&gt;x()&lt;/script&gt; call back" in page
    assert "<script>x()" not in page


def test_events_show_the_points_they_give_and_owners_their_history(
    marketer, sdr, other_sdr, demo_rules, client_for
):
    lead = lead_at(Stage.MQL, owner=sdr)
    source = WriteKey.objects.create(name="Website")
    Event.objects.create(
        source=source,
        message_id="m1",
        type="track",
        name="Demo Requested",
        lead=lead,
        occurred_at=timezone.now(),
        received_at=timezone.now(),
    )
    lead_assign(lead=lead, by=marketer, owner=other_sdr, reason="speaks Welsh")

    response = client_for(marketer).get(reverse("lead_detail", args=[lead.pk]))

    html = response.content.decode()
    assert '<span class="points " title="points this event gives the score now">+40</span>' in html
    owners = response.context["owners"]
    assert [(c.owner, c.reason) for c in owners][:2] == [
        (other_sdr, "speaks Welsh"),
        (sdr, "Qualify as MQL"),
    ]
    assert "speaks Welsh" in html
    assert Lead.objects.get(pk=lead.pk).owner == other_sdr
