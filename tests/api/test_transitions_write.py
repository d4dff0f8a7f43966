"""Transitions over the API: the same rules, forms and records as the pages."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leadflow.api.models import ApiToken
from leadflow.people.models import Contact
from stages.models import Lead, LeadTransition, Stage, Status
from tests.factories import lead_at


def _post(client, lead, body, *, token=None, raw=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(
        reverse("api-lead-transitions", args=[lead.pk]),
        data=raw if raw is not None else body,
        content_type="application/json",
        headers=headers,
    )


def _meeting() -> str:
    return (timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")


def test_an_sdr_books_a_meeting_with_a_token_and_gets_the_lead_back(client, sdr, ae):
    lead = lead_at(Stage.MQL, owner=sdr)
    token = ApiToken.issue(user=sdr)

    response = _post(
        client, lead, {"name": "convert", "meeting_at": _meeting(), "ae": ae.pk}, token=token
    )

    assert response.status_code == 200
    assert (response.json()["stage"], response.json()["owner"]) == ("sql", "ae")
    record = LeadTransition.objects.filter(lead=lead).latest("created_at")
    assert (record.name, record.by) == ("convert", sdr)


def test_a_marketer_cannot_win_a_deal_over_the_api(client, marketer, sdr, ae):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    response = _post(client, lead, {"name": "win"}, token=ApiToken.issue(user=marketer))

    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).stage == Stage.SQL


def test_an_unmet_condition_is_a_409_with_the_reason_and_changes_nothing(client, sdr, ae):
    lead = lead_at(Stage.MQL, owner=sdr)
    Contact.objects.filter(pk=lead.contact_id).update(job_title="")
    before = LeadTransition.objects.filter(lead=lead).count()

    response = _post(
        client,
        lead,
        {"name": "convert", "meeting_at": _meeting(), "ae": ae.pk},
        token=ApiToken.issue(user=sdr),
    )

    assert response.status_code == 409
    assert response.json()["problems"] == ["job title missing"]
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL
    assert LeadTransition.objects.filter(lead=lead).count() == before


def test_invalid_fields_are_a_400_naming_them(client, sdr):
    lead = lead_at(Stage.MQL, owner=sdr)

    response = _post(
        client, lead, {"name": "disqualify", "reason": "bored"}, token=ApiToken.issue(user=sdr)
    )

    assert response.status_code == 400
    assert "reason" in response.json()["fields"]
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL


def test_malformed_json_and_unknown_names_are_400s(client, sdr):
    lead = lead_at(Stage.MQL, owner=sdr)
    token = ApiToken.issue(user=sdr)

    assert _post(client, lead, None, token=token, raw=b"{nope").status_code == 400
    assert _post(client, lead, None, token=token, raw=b"[1]").status_code == 400
    unknown = _post(client, lead, {"name": "teleport"}, token=token)
    assert unknown.status_code == 400
    assert "name must be one of" in unknown.json()["error"]


def test_a_session_write_without_the_csrf_token_is_refused(sdr):
    lead = lead_at(Stage.MQL, owner=sdr)
    client = Client(enforce_csrf_checks=True)
    client.force_login(sdr)

    response = _post(client, lead, {"name": "disqualify", "reason": "spam"})

    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL
