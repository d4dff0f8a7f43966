"""Admins edit a draft of the scoring and stage rules at /settings/scoring/; no one else may."""

from __future__ import annotations

import pytest
from django.test import Client

from scoring.drafts import draft_rule_save, rules_publish
from scoring.models import RescoreRun, RuleGroup, RulesDraft, RulesVersion, ScoringRule
from stages.models import StageRules

URL = "/settings/scoring/"
BEHAVIOUR = {
    "name": "Pricing page viewed",
    "points": "10",
    "max_points": "30",
    "group_key": "",
    "is_active": "on",
    "event_type": "page",
    "event_name": "",
    "url_match": "contains",
    "url": "/pricing",
    "property_key": "",
    "property_match": "",
    "property_value": "",
    "frequency": "every",
    "period_days": "",
    "half_life_days": "",
}
FIT = {
    "name": "Big company",
    "points": "10",
    "max_points": "",
    "group_key": "",
    "is_active": "on",
    "field": "company_size",
    "operator": "between",
    "values": "",
    "min_value": "200",
    "max_value": "",
}
STAGE = {
    "mql_threshold": "60",
    "mql_min_behaviour": "",
    "mql_min_fit": "",
    "mql_required_fields": ["company", "job_title"],
    "sql_required_fields": ["company", "job_title"],
    "auto_qualify": "on",
    "mql_sla_hours": "24",
}


@pytest.fixture
def admin_client(client, admin_user) -> Client:
    client.force_login(admin_user)
    return client


def _pricing() -> ScoringRule:
    return ScoringRule.objects.get(name="Pricing page viewed")


def _draft_rule(name: str) -> dict:
    return next(r for r in RulesDraft.objects.get().data["rules"] if r["name"] == name)


# -- who may --


def _urls() -> list[tuple[str, str]]:
    rule = f"r{_pricing().pk}"
    return [
        ("get", URL),
        ("get", f"{URL}whatif/"),
        ("get", f"{URL}rules/new/behaviour/"),
        ("get", f"{URL}rules/{rule}/"),
        ("post", f"{URL}rules/{rule}/"),
        ("post", f"{URL}rules/{rule}/toggle/"),
        ("post", f"{URL}rules/{rule}/delete/"),
        ("get", f"{URL}groups/new/"),
        ("post", f"{URL}groups/new/"),
        ("get", f"{URL}stage/"),
        ("post", f"{URL}stage/"),
        ("post", f"{URL}publish/"),
        ("post", f"{URL}discard/"),
        ("get", f"{URL}versions/"),
        ("get", f"{URL}versions/1/"),
        ("post", f"{URL}versions/1/draft/"),
        ("get", f"{URL}runs/{RescoreRun.objects.get().pk}/progress/"),
    ]


@pytest.fixture
def published(demo_rules, admin_user, django_capture_on_commit_callbacks) -> RulesVersion:
    """Two versions exist (the rules before, and one publish) and a rescore ran."""
    draft_rule_save(by=admin_user, key=None, spec=_spec("Webinar attended", points=15))
    with django_capture_on_commit_callbacks(execute=True):
        return rules_publish(by=admin_user)


def _spec(name: str, **extra) -> dict:
    return {
        "name": name,
        "kind": "behaviour",
        "points": 5,
        "max_points": None,
        "event_type": "track",
        "event_name": name,
        "url_match": "",
        "url": "",
        "property_key": "",
        "property_match": "",
        "property_value": "",
        "frequency": "every",
        "period_days": None,
        "half_life_days": None,
        "field": "",
        "operator": "known",
        "values": [],
        "min_value": None,
        "max_value": None,
        "is_active": True,
        "group": "",
        **extra,
    }


@pytest.mark.parametrize("persona", ["marketer", "sdr", "ae", "outsider"])
def test_other_roles_are_refused_everywhere_and_nothing_changes(
    client, personas, published, persona
):
    client.force_login(personas[persona])
    before = (ScoringRule.objects.count(), RulesVersion.objects.count(), RescoreRun.objects.count())

    for method, url in _urls():
        data = BEHAVIOUR if url.endswith("/rules/new/behaviour/") else {}
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (method, url)

    assert not RulesDraft.objects.exists()
    after = (ScoringRule.objects.count(), RulesVersion.objects.count(), RescoreRun.objects.count())
    assert after == before


def test_an_anonymous_visitor_is_sent_to_log_in_everywhere(client, published):
    for method, url in _urls():
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/login/?next=")
    assert not RulesDraft.objects.exists()


def test_an_admin_may_open_every_page(admin_client, published):
    for method, url in _urls():
        if method == "get":
            assert admin_client.get(url).status_code == 200, url


@pytest.mark.parametrize("persona", ["marketer", "sdr", "ae"])
def test_the_nav_link_is_for_admins_only(client, personas, persona, admin_user):
    client.force_login(personas[persona])
    assert f'href="{URL}"' not in client.get("/", follow=True).content.decode()

    client.force_login(admin_user)
    assert f'href="{URL}"' in client.get("/", follow=True).content.decode()


def test_the_forms_need_a_csrf_token(admin_user, demo_rules):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    rule = _pricing()

    assert strict.post(f"{URL}rules/r{rule.pk}/", BEHAVIOUR).status_code == 403
    assert strict.post(f"{URL}publish/").status_code == 403
    assert not RulesDraft.objects.exists()


# -- the page --


def test_the_page_lists_behaviour_and_fit_rules_groups_and_stage_rules(admin_client, demo_rules):
    RuleGroup.objects.create(name="Web activity", max_points=40)

    response = admin_client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    for name in ("Whitepaper downloaded", "Pricing page viewed", "Decision maker", "Web activity"):
        assert name in html
    assert "MQL score threshold" in html and "60" in html
    assert "contains /pricing" in html  # what the rule matches, in words
    assert "These are the live rules" in html
    assert not RulesDraft.objects.exists()  # looking starts no draft


def test_names_people_typed_are_escaped(admin_client, demo_rules):
    data = {**BEHAVIOUR, "name": "<script>alert(1)</script>", "url": "/x<b>"}

    admin_client.post(f"{URL}rules/new/behaviour/", data)
    html = admin_client.get(URL).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# -- validation --


@pytest.mark.parametrize(
    ("kind", "data", "field", "error"),
    [
        (
            "behaviour",
            {"url_match": "regex", "url": "/pricing/(pro"},
            "url",
            "Not a valid pattern: missing ), unterminated subpattern",
        ),
        (
            "behaviour",
            {"url_match": "regex", "url": r"\bpricing"},
            "url",
            "Python and PostgreSQL read \\b",
        ),
        ("behaviour", {"url_match": "exact", "url": "pricing"}, "url", "Start with /"),
        ("behaviour", {"points": "0"}, "points", "A rule must give or take points."),
        (
            "behaviour",
            {"frequency": "period"},
            "period_days",
            "Give the length of the period in days.",
        ),
        (
            "behaviour",
            {"event_type": "", "url_match": "", "url": ""},
            "__all__",
            "A behaviour rule needs an event type",
        ),
        ("fit", {"min_value": "", "max_value": ""}, "min_value", "Give a minimum, a maximum"),
        ("fit", {"min_value": "500", "max_value": "10"}, "max_value", "The maximum is below"),
        ("fit", {"field": "job_title"}, "operator", "Only a number (company size)"),
        ("fit", {"operator": "contains", "field": "job_title"}, "values", "Give at least one"),
    ],
)
def test_a_bad_rule_is_answered_with_the_model_message_on_its_field(
    admin_client, demo_rules, kind, data, field, error
):
    base = BEHAVIOUR if kind == "behaviour" else FIT

    response = admin_client.post(f"{URL}rules/new/{kind}/", {**base, **data})

    assert response.status_code == 400
    form = response.context["form"]
    assert any(error in message for message in form.errors[field]), form.errors
    assert error.split("\\")[0][:30] in response.content.decode().replace("&#x27;", "'")
    assert not RulesDraft.objects.exists()


def test_a_broken_pattern_on_an_existing_rule_marks_the_url_field_and_keeps_the_draft(
    admin_client, demo_rules
):
    rule = _pricing()
    admin_client.post(f"{URL}rules/r{rule.pk}/", {**BEHAVIOUR, "points": "20"})

    response = admin_client.post(
        f"{URL}rules/r{rule.pk}/", {**BEHAVIOUR, "url_match": "regex", "url": "/pricing/(pro"}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert "id_url_error" in html and "Not a valid pattern" in html
    assert _draft_rule("Pricing page viewed")["points"] == 20  # the earlier edit stands
    assert _draft_rule("Pricing page viewed")["url_match"] == "contains"
    assert _pricing().points == 10  # the live rule is untouched


def test_a_group_holds_rules_of_one_kind(admin_client, demo_rules):
    admin_client.post(f"{URL}groups/new/", {"name": "Web activity", "max_points": "40"})
    group = RulesDraft.objects.get().data["groups"][0]["key"]
    admin_client.post(f"{URL}rules/r{_pricing().pk}/", {**BEHAVIOUR, "group_key": group})

    response = admin_client.post(f"{URL}rules/new/fit/", {**FIT, "group_key": group})

    assert response.status_code == 400
    assert response.context["form"].errors["group_key"] == [
        "The group holds behaviour rules; keep kinds apart."
    ]


def test_group_names_are_unique_in_the_draft_and_renames_may_swap_them(admin_client, demo_rules):
    a = RuleGroup.objects.create(name="A")
    b = RuleGroup.objects.create(name="B")

    response = admin_client.post(f"{URL}groups/g{a.pk}/", {"name": "b", "max_points": ""})
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == ["Another group has this name."]

    admin_client.post(f"{URL}groups/g{a.pk}/", {"name": "tmp", "max_points": ""})
    admin_client.post(f"{URL}groups/g{b.pk}/", {"name": "A", "max_points": "5"})
    admin_client.post(f"{URL}groups/g{a.pk}/", {"name": "B", "max_points": ""})
    admin_client.post(f"{URL}publish/")

    assert RuleGroup.objects.get(pk=a.pk).name == "B"
    assert (RuleGroup.objects.get(pk=b.pk).name, RuleGroup.objects.get(pk=b.pk).max_points) == (
        "A",
        5,
    )


def test_bad_stage_rules_are_errors_on_their_fields(admin_client, demo_rules):
    response = admin_client.post(
        f"{URL}stage/",
        {**STAGE, "mql_threshold": "-5", "mql_required_fields": ["company", "shoe_size"]},
    )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "mql_threshold" in errors
    assert (
        "Select a valid choice. shoe_size is not one of the available choices."
        in (errors["mql_required_fields"])
    )
    assert not RulesDraft.objects.exists()


# -- editing the draft --


def test_editing_a_rule_starts_a_draft_and_leaves_the_live_rules_alone(
    admin_client, admin_user, demo_rules
):
    rule = _pricing()

    response = admin_client.post(f"{URL}rules/r{rule.pk}/", {**BEHAVIOUR, "points": "15"})

    assert response.status_code == 302
    draft = RulesDraft.objects.get()
    assert (draft.created_by, draft.updated_by) == (admin_user, admin_user)
    assert _draft_rule("Pricing page viewed")["points"] == 15
    assert _pricing().points == 10
    assert not RescoreRun.objects.exists()
    html = admin_client.get(URL).content.decode()
    assert "Rule “Pricing page viewed”: points 10 → 15." in html
    assert "Publish and rescore" in html
    assert 'hx-get="/settings/scoring/whatif/"' in html


def test_the_edit_form_shows_the_draft_values(admin_client, demo_rules):
    rule = _pricing()
    admin_client.post(f"{URL}rules/r{rule.pk}/", {**BEHAVIOUR, "points": "15"})

    form = admin_client.get(f"{URL}rules/r{rule.pk}/").context["form"]

    assert form["points"].value() == 15
    assert form["url"].value() == "/pricing"
    assert "field" not in form.fields  # a behaviour rule has no fit fields


def test_rules_are_added_deactivated_and_deleted_in_the_draft(admin_client, demo_rules):
    unsubscribed = ScoringRule.objects.get(name="Unsubscribed")
    demo = ScoringRule.objects.get(name="Demo requested")

    admin_client.post(f"{URL}rules/new/fit/", FIT)
    admin_client.post(f"{URL}rules/r{unsubscribed.pk}/toggle/")
    admin_client.post(f"{URL}rules/r{demo.pk}/delete/")

    html = admin_client.get(URL).content.decode()
    assert "Added fit rule “Big company” (+10): company size between 200 and …." in html
    assert "Rule “Unsubscribed”: deactivated." in html
    assert "Deleted rule “Demo requested” (+40)." in html
    new_key = _draft_rule("Big company")["key"]
    assert new_key.startswith("rn")
    assert f'href="/settings/scoring/rules/{new_key}/"' in html

    admin_client.post(f"{URL}publish/")

    assert ScoringRule.objects.get(name="Big company").min_value == 200
    assert not ScoringRule.objects.get(pk=unsubscribed.pk).is_active
    assert not ScoringRule.objects.filter(pk=demo.pk).exists()


def test_deleting_a_group_keeps_its_rules_ungrouped(admin_client, demo_rules):
    group = RuleGroup.objects.create(name="Web activity", max_points=40)
    ScoringRule.objects.filter(name="Pricing page viewed").update(group=group)

    admin_client.post(f"{URL}groups/g{group.pk}/delete/")
    admin_client.post(f"{URL}publish/")

    assert not RuleGroup.objects.exists()
    assert _pricing().group is None


def test_stage_rules_are_edited_in_the_draft_and_published_past_the_cache(admin_client, demo_rules):
    assert StageRules.current().mql_threshold == 60  # cached now

    response = admin_client.post(
        f"{URL}stage/",
        {**STAGE, "mql_threshold": "45", "mql_min_fit": "5", "mql_required_fields": ["company"]},
    )
    assert response.status_code == 302
    assert StageRules.current().mql_threshold == 60
    html = admin_client.get(URL).content.decode()
    assert "MQL score threshold: 60 → 45." in html
    assert "Fields required for MQL: company, job title → company." in html
    assert "MQL minimum fit score: none → 5." in html

    admin_client.post(f"{URL}publish/")

    current = StageRules.current()
    assert (current.mql_threshold, current.mql_min_fit, current.mql_required_fields) == (
        45,
        5,
        ["company"],
    )


def test_discarding_the_draft_leaves_the_live_rules(admin_client, demo_rules):
    admin_client.post(f"{URL}rules/r{_pricing().pk}/", {**BEHAVIOUR, "points": "15"})

    response = admin_client.post(f"{URL}discard/", follow=True)

    assert not RulesDraft.objects.exists()
    assert _pricing().points == 10
    assert "Draft discarded" in response.content.decode()
    assert not RulesVersion.objects.exists()


def test_a_draft_that_changes_nothing_is_not_published(admin_client, demo_rules):
    admin_client.post(f"{URL}rules/r{_pricing().pk}/", BEHAVIOUR)  # the same values

    response = admin_client.post(f"{URL}publish/", follow=True)

    assert "The draft changes nothing" in response.content.decode()
    assert not RulesVersion.objects.exists()
    assert not RescoreRun.objects.exists()
