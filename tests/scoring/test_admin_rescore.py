"""A rule saved in the admin rescores every lead; a broken pattern is an error on the form."""

from __future__ import annotations

from django.urls import reverse

from scoring.models import RescoreRun, ScoringRule
from scoring.services import rescore_progress
from stages.models import Lead, Stage
from tests.factories import lead_at

FORM = {
    "name": "Pricing page viewed",
    "kind": "behaviour",
    "points": 20,
    "max_points": 60,
    "is_active": "on",
    "event_type": "page",
    "url_match": "contains",
    "url": "/pricing",
    "frequency": "every",
    "operator": "known",
}


def test_saving_a_rule_in_the_admin_rescores_everyone_and_qualifies_through_the_state_machine(
    client, admin_user, demo_rules, add_events, sdr, django_capture_on_commit_callbacks
):
    lead = lead_at(Stage.LEAD, company="Acme", job_title="Analyst")
    add_events(lead, ("page", "/pricing"), ("page", "/pricing"), ("track", "Whitepaper Downloaded"))
    rule = ScoringRule.objects.get(name="Pricing page viewed")
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:scoring_scoringrule_change", args=[rule.pk]), FORM)

    assert response.status_code == 302
    run = RescoreRun.objects.get()
    assert (run.reason, run.started_by) == (RescoreRun.Reason.RULES, admin_user)
    assert rescore_progress(run.pk)["finished"]
    lead = Lead.objects.get(pk=lead.pk)
    assert (lead.score, lead.stage) == (10 + 40 + 2 + 25, Stage.MQL)
    assert lead.transitions.get(name="qualify").actor == "scoring"


def test_a_broken_pattern_is_shown_on_the_admin_form_and_nothing_is_rescored(
    client, admin_user, demo_rules
):
    rule = ScoringRule.objects.get(name="Pricing page viewed")
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:scoring_scoringrule_change", args=[rule.pk]),
        {**FORM, "url_match": "regex", "url": "/pricing/(pro"},
    )

    assert response.status_code == 200
    assert "Not a valid pattern: missing ), unterminated subpattern" in response.content.decode()
    assert not RescoreRun.objects.exists()
