"""The Django admin is one more path to the state machine: same rules, same record."""

from __future__ import annotations

from django.urls import reverse

from stages.models import Lead, LeadTransition, Stage
from tests.factories import lead_at


def test_admin_disqualifies_through_the_transition_and_records_it(client, admin_user):
    lead = lead_at(Stage.MQL)
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:stages_lead_changelist"),
        {"action": "action_disqualify", "_selected_action": [lead.pk]},
        follow=True,
    )
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.stage == Stage.DISQUALIFIED
    record = LeadTransition.objects.filter(lead=lead).latest("created_at")
    assert (record.name, record.by, record.reason) == ("disqualify", admin_user, "not_a_fit")


def test_admin_cannot_qualify_a_lead_that_misses_the_rule(client, admin_user):
    lead = lead_at(Stage.LEAD, job_title="")
    before = LeadTransition.objects.filter(lead=lead).count()
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:stages_lead_changelist"),
        {"action": "action_qualify", "_selected_action": [lead.pk]},
        follow=True,
    )
    assert "job title missing" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.LEAD
    assert LeadTransition.objects.filter(lead=lead).count() == before


def test_admin_lead_form_offers_no_way_to_edit_the_stage(client, admin_user):
    lead = lead_at(Stage.MQL)
    client.force_login(admin_user)
    response = client.get(reverse("admin:stages_lead_change", args=[lead.pk]))
    assert response.status_code == 200
    assert 'name="stage"' not in response.content.decode()
    assert client.post(
        reverse("admin:stages_lead_change", args=[lead.pk]), {"stage": "customer"}
    ).status_code in (302, 403)
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL
