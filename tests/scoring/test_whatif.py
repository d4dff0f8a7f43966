"""The what-if of a draft: who would become an MQL or start cooling, and how such leads converted,
checked against the score maths run lead by lead over the same events."""

from __future__ import annotations

import dataclasses

import pytest
from django.utils import timezone

from leadflow.tracking.models import Event
from scoring import engine
from scoring.drafts import draft_group_save, draft_rule_save, draft_stage_save, ruleset_current
from scoring.models import RulesDraft, ScoringRule
from scoring.whatif import whatif_compute
from stages.models import FIT_FIELDS, Lead, Stage, StageRules
from tests.factories import lead_at

WHITEPAPER = ("track", "Whitepaper Downloaded")
PRICING = ("page", "/pricing")
HOME = ("page", "/")


@pytest.fixture
def leads(demo_rules, add_events, sdr, ae) -> dict[str, Lead]:
    """Leads at every stage with events, so that the draft below moves some of them."""
    made = {
        # 25 + 2 x 10 + 2 + fit 10 = 57: below 60 today; with pricing at 15 and a threshold
        # of 55, 67: an MQL.
        "close": (lead_at(Stage.LEAD, job_title="Analyst"), [WHITEPAPER, PRICING, PRICING]),
        # 25 + 10 + 1 + 10 = 46; with the draft 51: still below.
        "far": (lead_at(Stage.LEAD, job_title="Analyst"), [WHITEPAPER, PRICING]),
        # Enough points, but no company: the MQL rule needs one.
        "no_company": (
            lead_at(Stage.LEAD, company="", job_title="Analyst"),
            [WHITEPAPER, PRICING, PRICING, PRICING],
        ),
        # An MQL (qualified on a stored score) whose events are worth little: it would cool.
        "weak_mql": (lead_at(Stage.MQL, job_title="Analyst"), [HOME]),
        "strong_mql": (lead_at(Stage.MQL), [WHITEPAPER, WHITEPAPER, PRICING, PRICING]),
        "customer": (lead_at(Stage.CUSTOMER, ae=ae), [WHITEPAPER, PRICING, PRICING, PRICING]),
        "sql": (lead_at(Stage.SQL, ae=ae, job_title="Analyst"), [HOME, PRICING]),
        "lost": (lead_at(Stage.DISQUALIFIED), [WHITEPAPER, WHITEPAPER, PRICING]),
        "quiet": (lead_at(Stage.LEAD), []),
    }
    for lead, events in made.values():
        add_events(lead, *events)
    return {
        name: Lead.objects.select_related("contact").get(pk=lead.pk)
        for name, (lead, _) in made.items()
    }


def _expected(rules: list[engine.Rule], stage: StageRules, now) -> dict:
    """What the draft would do, lead by lead, with the pure score maths."""
    expected = {
        "qualify": set(),
        "cooling": set(),
        "rescored": 0,
        "above": [0, 0, 0],
        "all": [0, 0, 0],
    }
    for lead in Lead.objects.select_related("contact"):
        events = [
            engine.EventFacts(*row)
            for row in Event.objects.filter(lead=lead).values_list(
                "id", "type", "name", "url", "occurred_at", "properties"
            )
        ]
        contact = {name: getattr(lead.contact, name) for name in FIT_FIELDS}
        result = engine.score(events=events, rules=rules, contact=contact, now=now)
        meets = not stage.score_problems(behaviour=result.behaviour, fit=result.fit)
        fields = all(getattr(lead.contact, f) not in (None, "") for f in stage.mql_required_fields)
        fresh = lead.became_mql_at is None and lead.disqualified_at is None
        if lead.stage == Stage.LEAD and meets and fields and fresh:
            expected["qualify"].add(lead.pk)
        if lead.stage == Stage.MQL and not lead.is_cooling and not meets:
            expected["cooling"].add(lead.pk)
        if (result.behaviour, result.fit) != (lead.behaviour_score, lead.fit_score):
            expected["rescored"] += 1
        if lead.became_mql_at is not None:
            for bucket in ["all", *(["above"] if meets else [])]:
                expected[bucket][0] += 1
                expected[bucket][1] += lead.became_sql_at is not None
                expected[bucket][2] += lead.became_customer_at is not None
    return expected


def _live_rules(**points: int) -> list[engine.Rule]:
    rules = []
    for rule in ScoringRule.objects.filter(is_active=True).order_by("pk"):
        spec = rule.as_rule()
        if rule.name in points:
            spec = dataclasses.replace(spec, points=points[rule.name])
        rules.append(spec)
    return rules


def _edit_rule(admin_user, name: str, **changes) -> None:
    data, _ = ruleset_current()
    spec = next(r for r in data["rules"] if r["name"] == name)
    draft_rule_save(by=admin_user, key=spec["key"], spec={**spec, **changes})


def _edit_stage(admin_user, **changes) -> None:
    data, _ = ruleset_current()
    draft_stage_save(by=admin_user, values={**data["stage_rules"], **changes})


def test_the_what_if_agrees_with_the_score_maths_lead_by_lead(leads, admin_user):
    _edit_rule(admin_user, "Pricing page viewed", points=15)
    _edit_stage(admin_user, mql_threshold=55)
    now = timezone.now()

    result = whatif_compute(data=RulesDraft.objects.get().data, now=now)

    stage = StageRules(**{**RulesDraft.objects.get().data["stage_rules"]})
    expected = _expected(_live_rules(**{"Pricing page viewed": 15}), stage, now)
    assert {c.lead.pk for c in result.to_qualify} == expected["qualify"] == {leads["close"].pk}
    assert result.qualify == result.meet == 1
    assert {c.lead.pk for c in result.to_cool} == expected["cooling"] == {leads["weak_mql"].pk}
    assert result.cooling == 1
    assert result.rescored == expected["rescored"]
    assert result.leads == len(leads)
    above, below, _live, everyone = result.history
    assert [above.mql, above.sql, above.customer] == expected["above"]
    assert [everyone.mql, everyone.sql, everyone.customer] == expected["all"]
    assert [below.mql + above.mql, below.sql + above.sql] == [everyone.mql, everyone.sql]
    # The strong MQL, the customer and the lost lead score above 55; the weak MQL and the SQL not.
    assert [above.mql, above.sql, above.customer] == [3, 1, 1]
    assert above.sql_rate == pytest.approx(1 / 3)
    close = next(c for c in result.to_qualify if c.lead.pk == leads["close"].pk)
    assert (close.behaviour, close.fit, close.score) == (25 + 30 + 2, 10, 67)


def test_new_rules_and_groups_of_a_draft_count_in_the_what_if(leads, admin_user):
    group = draft_group_save(by=admin_user, key=None, name="Intent", max_points=12)
    _edit_rule(admin_user, "Pricing page viewed", group=group)
    spec = {
        **next(r for r in ruleset_current()[0]["rules"] if r["name"] == "Any page viewed"),
        "name": "Home page viewed",
        "url": "/",
        "url_match": "exact",
        "points": 50,
        "max_points": None,
        "group": "",
    }
    spec.pop("key"), spec.pop("id")
    draft_rule_save(by=admin_user, key=None, spec=spec)
    now = timezone.now()

    result = whatif_compute(data=RulesDraft.objects.get().data, now=now)

    rules = []
    for rule in _live_rules():
        if rule.name == "Pricing page viewed":
            rule = dataclasses.replace(rule, group_id=-1, group_name="Intent", group_max_points=12)
        rules.append(rule)
    rules.append(
        engine.Rule(
            id=-99,
            name="Home page viewed",
            points=50,
            event_type="page",
            url_match="exact",
            url="/",
        )
    )
    expected = _expected(rules, StageRules.current(), now)
    assert {c.lead.pk for c in result.to_qualify} == expected["qualify"]
    assert {c.lead.pk for c in result.to_cool} == expected["cooling"]
    assert result.rescored == expected["rescored"]
    assert leads["weak_mql"].pk not in expected["cooling"]  # its home page: 50 + 1 + fit 10
    assert [result.history[0].mql, result.history[0].sql] == expected["above"][:2]


def test_with_auto_qualify_off_leads_meet_the_rule_but_none_is_qualified(leads, admin_user):
    _edit_rule(admin_user, "Pricing page viewed", points=15)
    _edit_stage(admin_user, mql_threshold=55, auto_qualify=False)

    result = whatif_compute(data=RulesDraft.objects.get().data, now=timezone.now())

    assert (result.meet, result.qualify) == (1, 0)


def test_the_what_if_panel_shows_the_counts_and_links_to_the_leads(leads, admin_user, client):
    client.force_login(admin_user)
    _edit_rule(admin_user, "Pricing page viewed", points=15)
    _edit_stage(admin_user, mql_threshold=55)

    response = client.get("/settings/scoring/whatif/", headers={"HX-Request": "true"})

    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="stat-value" id="whatif-qualify">1</span>' in html
    assert '<span class="stat-value" id="whatif-cooling">1</span>' in html
    assert f'href="/leads/{leads["close"].pk}/"' in html
    assert f'href="/leads/{leads["weak_mql"].pk}/"' in html
    assert "33%" in html  # one in three of the leads above 55 that were MQLs reached SQL
    assert "<html" not in html  # a fragment for htmx


def test_without_a_draft_the_panel_says_so(demo_rules, admin_user, client):
    client.force_login(admin_user)

    response = client.get("/settings/scoring/whatif/")  # a page of its own without htmx

    html = response.content.decode()
    assert "No draft" in html
    assert "<html" in html


def test_the_what_if_writes_nothing(leads, admin_user):
    _edit_rule(admin_user, "Pricing page viewed", points=15)
    before = list(Lead.objects.order_by("pk").values_list("score", "stage", "scored_at"))

    whatif_compute(data=RulesDraft.objects.get().data, now=timezone.now())
    whatif_compute(data=RulesDraft.objects.get().data, now=timezone.now())  # twice in a row

    assert list(Lead.objects.order_by("pk").values_list("score", "stage", "scored_at")) == before
    assert ScoringRule.objects.get(name="Pricing page viewed").points == 10


def test_reloading_reuses_the_answer_for_the_same_draft_and_recompute_asks_again(
    leads, admin_user, client, add_events
):
    client.force_login(admin_user)
    _edit_rule(admin_user, "Pricing page viewed", points=15)
    _edit_stage(admin_user, mql_threshold=55)
    hx = {"HX-Request": "true"}
    assert client.get("/settings/scoring/whatif/", headers=hx).context["whatif"].qualify == 1
    add_events(leads["far"], ("page", "/pricing"))  # 25 + 30 + 1 + 10 = 66 now

    again = client.get("/settings/scoring/whatif/", headers=hx).context["whatif"]
    fresh = client.get("/settings/scoring/whatif/?fresh=1", headers=hx).context["whatif"]

    assert again.qualify == 1
    assert fresh.qualify == 2 and fresh.now > again.now
    _edit_stage(admin_user, mql_threshold=70)  # another draft: another answer
    assert client.get("/settings/scoring/whatif/", headers=hx).context["whatif"].qualify == 0
