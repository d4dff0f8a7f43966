"""The lead page: profile, the score and why, the timeline, and only the actions one may take."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from leadflow.people.models import Contact
from leadflow.tracking.models import Event
from scoring.services import leads_rescore
from stages.models import Attempt, Lead, Stage, Status
from tests.factories import lead_at


def _actions(response) -> dict[str, list[str]]:
    return {action["name"]: action["problems"] for action in response.context["actions"]}


def test_the_lead_page_shows_profile_badges_and_owner(sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr, phone="+44 20 7946 0000", country="UK")

    response = client_for(sdr).get(reverse("lead_detail", args=[lead.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    for value in (lead.contact.email, lead.contact.company, "+44 20 7946 0000", "UK"):
        assert value in html
    assert 'class="badge stage-mql"' in html
    assert 'class="badge status status-open"' in html
    assert "sdr" in html


def test_an_sdr_sees_the_actions_of_an_open_mql_and_not_a_win(sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)

    response = client_for(sdr).get(reverse("lead_detail", args=[lead.pk]))

    actions = _actions(response)
    assert set(actions) == {
        "attempt",
        "convert",
        "disqualify",
        "recycle",
        "start_attempt",
        "nurture",
    }
    assert not any(actions.values())
    assert "Mark as won" not in response.content.decode()


def test_an_action_with_an_unmet_condition_is_shown_disabled_with_its_reason(sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)
    Contact.objects.filter(pk=lead.contact_id).update(job_title="")

    response = client_for(sdr).get(reverse("lead_detail", args=[lead.pk]))

    html = response.content.decode()
    assert _actions(response)["convert"] == ["job title missing"]
    assert 'disabled aria-describedby="why-convert"' in html
    assert "Not yet: job title missing" in html


def test_a_marketer_sees_qualify_disabled_while_the_score_is_too_low(marketer, client_for):
    lead = lead_at(Stage.LEAD)

    response = client_for(marketer).get(reverse("lead_detail", args=[lead.pk]))

    assert _actions(response)["qualify"] == ["score 0 is below the MQL threshold 60"]
    assert "score 0 is below the MQL threshold 60" in response.content.decode()


def test_another_sdr_sees_no_actions_and_whose_lead_it_is(sdr, other_sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)

    response = client_for(other_sdr).get(reverse("lead_detail", args=[lead.pk]))

    assert response.context["actions"] == []
    assert "This lead belongs to sdr" in response.content.decode()


def test_the_score_breakdown_names_each_rule_and_adds_up(sdr, demo_rules, write_key, client_for):
    lead = lead_at(Stage.MQL, owner=sdr, job_title="Head of Growth")
    now = timezone.now()
    for n, url in enumerate(["https://x.io/pricing", "https://x.io/pricing", "https://x.io/"]):
        Event.objects.create(
            source=write_key,
            message_id=f"m{n}",
            type="page",
            url=url,
            lead=lead,
            occurred_at=now - dt.timedelta(minutes=n),
            received_at=now,
        )
    leads_rescore(lead_ids=[lead.pk])
    lead.refresh_from_db()

    response = client_for(sdr).get(reverse("lead_detail", args=[lead.pk]))

    html = response.content.decode()
    breakdown = response.context["breakdown"]
    assert sum(group["points"] for group in breakdown) == lead.score == 43
    assert {g["rule"]: g["points"] for g in breakdown} == {
        "Pricing page viewed": 20,
        "Any page viewed": 3,
        "Company known": 5,
        "Job title known": 5,
        "Decision maker": 10,
    }
    assert "Behaviour 23" in html
    assert "Fit 20" in html
    assert "job title: Head of Growth" in html
    assert "page https://x.io/pricing" in html


def test_the_timeline_shows_transitions_with_who_and_why_and_attempts(sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)
    Attempt.objects.create(lead=lead, by=sdr, channel="call", outcome="no_answer", note="voicemail")
    client = client_for(sdr)
    client.post(
        reverse("lead_do", args=[lead.pk, "disqualify"]), {"from": "lead", "reason": "no_budget"}
    )

    response = client.get(reverse("lead_detail", args=[lead.pk]))

    html = response.content.decode()
    kinds = [entry["kind"] for entry in response.context["timeline"]]
    assert kinds.count("transition") == 3  # identify, qualify, disqualify
    assert "attempt" in kinds
    assert "Disqualify" in html
    assert "by sdr · “No budget”" in html
    assert "by fixture" in html
    assert "Call attempt" in html
    assert "voicemail" in html


def test_an_action_from_the_lead_page_redirects_back_to_it(sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)

    response = client_for(sdr).post(
        reverse("lead_do", args=[lead.pk, "start_attempt"]), {"from": "lead"}
    )

    lead.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == reverse("lead_detail", args=[lead.pk])
    assert lead.status == Status.CONTACT_ATTEMPT


def test_bad_input_on_the_lead_page_shows_the_form_open_with_the_error(sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)

    response = client_for(sdr).post(
        reverse("lead_do", args=[lead.pk, "recycle"]), {"from": "lead", "reason": ""}
    )

    html = response.content.decode()
    lead.refresh_from_db()
    assert response.status_code == 400
    assert "Say why, in a few words." in html
    assert '<details class="disclosure" name="lead-actions" open>' in html
    assert lead.stage == Stage.MQL


def test_a_transition_that_is_no_longer_possible_is_a_409_with_the_reason(sdr, client_for):
    lead = lead_at(Stage.MQL, Status.NURTURING, owner=sdr)

    response = client_for(sdr).post(
        reverse("lead_do", args=[lead.pk, "start_attempt"]), {"from": "lead"}
    )

    assert response.status_code == 409
    assert "not possible from status Nurturing" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).status == Status.NURTURING


def test_an_unknown_lead_is_a_404(sdr, client_for):
    response = client_for(sdr).get(reverse("lead_detail", args=[123456789]))

    assert response.status_code == 404
