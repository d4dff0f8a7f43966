"""Publishing a draft: the live rules change in one go, a version says who changed what and when,
every lead is rescored (and qualified) by the workers, and any earlier version can be read back."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scoring.drafts import snapshot_live
from scoring.models import RescoreRun, RulesDraft, RulesVersion, ScoringRule
from stages.models import Lead, Stage, StageRules
from tests.factories import lead_at

from .test_rules_page import BEHAVIOUR, STAGE

URL = "/settings/scoring/"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _pricing() -> ScoringRule:
    return ScoringRule.objects.get(name="Pricing page viewed")


def test_publishing_records_the_rules_before_and_the_change_with_who_and_when(
    admin_client, admin_user, demo_rules
):
    before = snapshot_live()
    admin_client.post(f"{URL}rules/r{_pricing().pk}/", {**BEHAVIOUR, "points": "20"})

    response = admin_client.post(f"{URL}publish/", {"note": "Pricing intent matters more"})

    first, second = RulesVersion.objects.order_by("number")
    assert (first.number, first.published_by, first.changes) == (1, None, [])
    assert first.snapshot == before
    assert (second.number, second.published_by, second.note) == (
        2,
        admin_user,
        "Pricing intent matters more",
    )
    assert second.changes == ["Rule “Pricing page viewed”: points 10 → 20."]
    assert second.snapshot == snapshot_live()
    assert second.published_at >= first.published_at
    assert _pricing().points == 20
    assert not RulesDraft.objects.exists()
    run = second.rescore_run
    assert (run.reason, run.started_by) == (RescoreRun.Reason.RULES, admin_user)
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?run={run.pk}"


def test_the_history_lists_versions_and_shows_a_previous_one_read_only(
    admin_client, admin_user, demo_rules
):
    admin_client.post(f"{URL}rules/r{_pricing().pk}/", {**BEHAVIOUR, "points": "20"})
    admin_client.post(f"{URL}publish/")
    admin_client.post(f"{URL}rules/r{_pricing().pk}/", {**BEHAVIOUR, "points": "30"})
    admin_client.post(f"{URL}publish/", {"note": "Even more"})

    listing = admin_client.get(f"{URL}versions/").content.decode()
    assert [v.number for v in RulesVersion.objects.all()] == [3, 2, 1]
    assert "Version 3" in listing and "Version 2" in listing and "Version 1" in listing
    assert "points 20 → 30" in listing and "points 10 → 20" in listing
    assert "Even more" in listing and "admin" in listing

    old = admin_client.get(f"{URL}versions/2/")
    html = old.content.decode()
    assert old.status_code == 200
    pricing = next(
        r for r in old.context["ruleset"]["behaviour"] if r["name"] == "Pricing page viewed"
    )
    assert pricing["points"] == 20  # the rules as they were then, not the live 30
    assert "points 10 → 20" in html
    assert "Edit" not in html.replace("Edited", "")  # read only: no edit links or forms
    assert "/toggle/" not in html and "/delete/" not in html
    assert "Load into the draft" in html
    assert old.context["previous"].number == 1 and old.context["next"].number == 3
    assert admin_client.get(f"{URL}versions/3/").context["is_live"]
    assert admin_client.get(f"{URL}versions/9/").status_code == 404


def test_a_change_made_in_the_django_admin_is_recorded_and_kept_by_the_next_publish(
    admin_client, admin_user, demo_rules
):
    admin_client.post(f"{URL}rules/r{_pricing().pk}/", {**BEHAVIOUR, "points": "20"})
    admin_client.post(f"{URL}publish/")
    admin_client.post(f"{URL}rules/r{_pricing().pk}/", {**BEHAVIOUR, "points": "25"})
    ScoringRule.objects.filter(name="Unsubscribed").update(points=-50)  # as the admin would

    html = admin_client.get(URL).content.decode()
    assert "The live rules changed since this draft started" in html
    assert "changed outside this page" in admin_client.get(f"{URL}versions/").content.decode()
    assert "Rule “Unsubscribed”" not in html  # not a change of the draft
    admin_client.post(f"{URL}publish/")

    outside, latest = RulesVersion.objects.order_by("number")[2:]
    assert outside.published_by is None
    assert outside.changes == ["Rule “Unsubscribed”: points -30 → -50."]
    assert (latest.published_by, latest.changes) == (
        admin_user,
        ["Rule “Pricing page viewed”: points 20 → 25."],
    )
    assert ScoringRule.objects.get(name="Unsubscribed").points == -50  # not undone by the draft
    assert _pricing().points == 25


def test_an_earlier_version_can_be_loaded_into_the_draft_and_published_again(
    admin_client, admin_user, demo_rules
):
    demo = ScoringRule.objects.get(name="Demo requested")
    admin_client.post(f"{URL}rules/r{_pricing().pk}/", {**BEHAVIOUR, "points": "20"})
    admin_client.post(f"{URL}rules/r{demo.pk}/delete/")
    admin_client.post(f"{URL}publish/")

    admin_client.post(f"{URL}versions/1/draft/")
    html = admin_client.get(URL).content.decode()
    assert "Rule “Pricing page viewed”: points 20 → 10." in html
    assert "Added behaviour rule “Demo requested” (+40)" in html
    admin_client.post(f"{URL}publish/")

    assert _pricing().points == 10
    assert ScoringRule.objects.get(name="Demo requested").points == 40
    assert RulesVersion.objects.get(number=3).snapshot["rules"] != []


def test_publishing_rescores_every_lead_and_qualifies_through_the_state_machine(
    admin_client, admin_user, demo_rules, add_events, sdr, django_capture_on_commit_callbacks
):
    close = lead_at(Stage.LEAD, job_title="Analyst")
    far = lead_at(Stage.LEAD, job_title="Analyst")
    add_events(
        close, ("track", "Whitepaper Downloaded"), ("page", "/pricing"), ("page", "/pricing")
    )
    add_events(far, ("page", "/pricing"))
    admin_client.post(f"{URL}rules/r{_pricing().pk}/", {**BEHAVIOUR, "points": "15"})

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"{URL}publish/")

    close, far = Lead.objects.get(pk=close.pk), Lead.objects.get(pk=far.pk)
    assert (close.score, close.stage, close.owner) == (25 + 30 + 2 + 10, Stage.MQL, sdr)
    assert close.transitions.get(name="qualify").actor == "scoring"
    assert (far.score, far.stage) == (15 + 1 + 10, Stage.LEAD)
    run = RulesVersion.objects.get(number=2).rescore_run
    run.refresh_from_db()
    assert run.finished_at is not None and run.qualified == 1

    page = admin_client.get(response["Location"])
    html = page.content.decode()
    assert "Rescore finished" in html
    assert "<progress" in html and "data-finished" in html
    assert "1 became MQL." in html
    assert 'href="/queues/mql/"' in html
    progress = admin_client.get(reverse("scoring_run_progress", args=[run.pk])).content.decode()
    assert "hx-trigger" not in progress  # finished: the polling stops
    queue = admin_client.get("/queues/mql/").content.decode()
    assert f'href="/leads/{close.pk}/"' in queue


def test_the_progress_endpoint_polls_until_the_rescore_finishes(
    admin_client, admin_user, demo_rules
):
    lead_at(Stage.LEAD)
    run = RescoreRun.objects.create(reason="rules", as_of="2026-01-01T00:00Z", bounds=[1, 5, 9])

    html = admin_client.get(reverse("scoring_run_progress", args=[run.pk])).content.decode()

    assert 'hx-trigger="every 1s"' in html
    assert '<progress id="rescore-bar" max="2" value="0"' in html
    assert "0 of 2 steps done" in html


def test_a_change_of_the_sla_alone_publishes_without_a_rescore(admin_client, demo_rules):
    admin_client.post(f"{URL}stage/", {**STAGE, "mql_sla_hours": "8"})

    response = admin_client.post(f"{URL}publish/", follow=True)

    version = RulesVersion.objects.get(number=2)
    assert version.rescore_run is None
    assert version.changes == ["First-touch SLA (hours): 24 → 8."]
    assert not RescoreRun.objects.exists()
    assert StageRules.current().mql_sla_hours == 8
    assert "Version 2 published. No score changes." in response.content.decode()


def test_a_draft_left_invalid_by_a_changed_rule_set_is_not_published(
    admin_client, admin_user, demo_rules
):
    admin_client.post(f"{URL}rules/r{_pricing().pk}/", {**BEHAVIOUR, "points": "20"})
    draft = RulesDraft.objects.get()
    rule = next(r for r in draft.data["rules"] if r["name"] == "Pricing page viewed")
    rule.update(url_match="regex", url="/pricing/(pro")  # as an older draft might hold
    draft.save()

    page = admin_client.get(URL).content.decode()
    response = admin_client.post(f"{URL}publish/", follow=True)

    assert "The draft cannot be published yet" in page
    assert "Not a valid pattern" in response.content.decode()
    assert _pricing().points == 10
    assert not RulesVersion.objects.exists()
