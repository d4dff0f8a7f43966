"""The scoring worker's service: recompute scores from all events, and qualify who is due."""

from __future__ import annotations

import pytest

import scoring.services
from leadflow.people.models import Contact
from scoring.services import lead_explain, leads_rescore
from stages.models import Lead, LeadTransition, Stage, StageRules, Status
from stages.services import lead_transition
from tests.factories import lead_at

WHITEPAPER = ("track", "Whitepaper Downloaded")
PRICING = ("page", "/pricing")
HOME = ("page", "/")
DEMO_JOURNEY = [HOME, WHITEPAPER, PRICING, PRICING, PRICING]


def _fresh(lead: Lead) -> Lead:
    return Lead.objects.select_related("contact", "owner").get(pk=lead.pk)


def test_a_fitting_lead_with_a_white_paper_and_three_pricing_views_becomes_an_mql(
    db, demo_rules, add_events, sdr
):
    lead = lead_at(Stage.LEAD, company="Acme", job_title="Operations Manager")
    add_events(lead, *DEMO_JOURNEY)

    assert leads_rescore(lead_ids=[lead.pk]) == 1

    lead = _fresh(lead)
    # company 5 + job title 5; white paper 25 + pricing 3 x 10 + any page 4 x 1.
    assert (lead.fit_score, lead.behaviour_score, lead.score) == (10, 59, 69)
    assert (lead.stage, lead.status, lead.owner) == (Stage.MQL, Status.OPEN, sdr)
    assert lead.scored_at is not None
    record = lead.transitions.get(name="qualify")
    assert (record.by, record.actor, record.data["owner"]) == (None, "scoring", sdr.pk)


def test_the_score_stored_is_the_one_explained(db, demo_rules, add_events):
    lead = lead_at(Stage.LEAD, job_title="Head of Growth")
    add_events(lead, *DEMO_JOURNEY, ("track", "Unsubscribed"))

    leads_rescore(lead_ids=[lead.pk])

    lead = _fresh(lead)
    explained = lead_explain(lead=lead)
    assert (lead.score, lead.behaviour_score, lead.fit_score) == (
        explained.total,
        explained.behaviour,
        explained.fit,
    )
    assert sum(c.points for c in explained.contributions) == lead.score == 79 - 30
    assert lead.stage == Stage.LEAD


def test_without_the_white_paper_the_same_lead_stays_a_lead(db, demo_rules, add_events, sdr):
    lead = lead_at(Stage.LEAD, company="Acme", job_title="Operations Manager")
    add_events(lead, HOME, PRICING, PRICING, PRICING)

    assert leads_rescore(lead_ids=[lead.pk]) == 0

    lead = _fresh(lead)
    assert (lead.score, lead.stage, lead.owner) == (44, Stage.LEAD, None)
    assert not lead.transitions.filter(name="qualify").exists()


def test_a_lead_without_a_job_title_is_scored_but_not_qualified(db, demo_rules, add_events, sdr):
    lead = lead_at(Stage.LEAD, company="Acme", job_title="")
    add_events(lead, *DEMO_JOURNEY, ("track", "Demo Requested"))

    leads_rescore(lead_ids=[lead.pk])

    lead = _fresh(lead)
    assert lead.score >= StageRules.current().mql_threshold
    assert lead.stage == Stage.LEAD


def test_two_sdrs_receive_new_mqls_in_turn(db, demo_rules, add_events, sdr, other_sdr):
    leads = [lead_at(Stage.LEAD) for _ in range(4)]
    for lead in leads:
        add_events(lead, *DEMO_JOURNEY)

    for lead in leads:
        leads_rescore(lead_ids=[lead.pk])

    assert [_fresh(lead).owner for lead in leads] == [sdr, other_sdr, sdr, other_sdr]


def test_one_rescore_of_many_leads_shares_them_out_by_load(
    db, demo_rules, add_events, sdr, other_sdr
):
    lead_at(Stage.MQL, owner=sdr)  # sdr already has one to work
    leads = [lead_at(Stage.LEAD) for _ in range(5)]
    for lead in leads:
        add_events(lead, *DEMO_JOURNEY)

    assert leads_rescore(lead_ids=[lead.pk for lead in leads]) == 5

    owners = [_fresh(lead).owner for lead in leads]
    assert (owners.count(sdr), owners.count(other_sdr)) == (2, 3)


def test_page_views_alone_never_make_an_mql(db, demo_rules, add_events, sdr):
    # The best fit there is (company, and a job title with "head" in it) and every kind of page.
    lead = lead_at(Stage.LEAD, company="Acme", job_title="Head of Everything")
    for n in range(20):
        add_events(lead, PRICING, HOME, ("page", f"/blog/{n}"), ("page", f"/pricing?plan={n}"))
        leads_rescore(lead_ids=[lead.pk])
        lead = _fresh(lead)
        assert lead.stage == Stage.LEAD, f"an MQL after {4 * (n + 1)} page views"

    assert lead.score == 30 + 5 + 20
    assert lead.score < StageRules.current().mql_threshold


def test_with_auto_qualify_off_nobody_is_qualified(db, demo_rules, add_events, sdr):
    rules = StageRules.current()
    rules.auto_qualify = False
    rules.save()
    leads = [lead_at(Stage.LEAD) for _ in range(3)]
    for lead in leads:
        add_events(lead, *DEMO_JOURNEY)

    assert leads_rescore(lead_ids=[lead.pk for lead in leads]) == 0

    for lead in leads:
        lead = _fresh(lead)
        assert lead.score >= rules.mql_threshold
        assert (lead.stage, lead.owner) == (Stage.LEAD, None)
    assert not LeadTransition.objects.filter(name="qualify").exists()


def test_rescoring_twice_changes_nothing(db, demo_rules, add_events, sdr, other_sdr):
    lead = lead_at(Stage.LEAD)
    add_events(lead, *DEMO_JOURNEY)

    assert leads_rescore(lead_ids=[lead.pk]) == 1
    first = _fresh(lead)
    assert leads_rescore(lead_ids=[lead.pk]) == 0
    second = _fresh(lead)

    assert (second.score, second.behaviour_score, second.fit_score) == (
        first.score,
        first.behaviour_score,
        first.fit_score,
    )
    assert (second.stage, second.status, second.owner) == (Stage.MQL, Status.OPEN, sdr)
    assert lead.transitions.filter(name="qualify").count() == 1


def test_only_leads_are_qualified_by_the_worker(db, demo_rules, add_events, sdr, ae):
    visitor = lead_at(Stage.VISITOR)
    disqualified = lead_at(Stage.DISQUALIFIED, owner=sdr)
    customer = lead_at(Stage.CUSTOMER, owner=sdr, ae=ae)
    for lead in (visitor, disqualified, customer):
        add_events(lead, *DEMO_JOURNEY)

    assert leads_rescore(lead_ids=[visitor.pk, disqualified.pk, customer.pk]) == 0

    assert _fresh(visitor).stage == Stage.VISITOR
    assert _fresh(visitor).score > 60
    assert _fresh(disqualified).stage == Stage.DISQUALIFIED
    assert _fresh(customer).stage == Stage.CUSTOMER


def test_a_rescore_does_not_overwrite_a_stage_changed_while_it_counted(
    db, demo_rules, add_events, sdr, marketer, monkeypatch
):
    lead = lead_at(Stage.LEAD)
    add_events(lead, *DEMO_JOURNEY)
    write = scoring.services.scores_write

    def write_while_a_marketer_disqualifies(**kwargs):
        # The marketer's transition commits between the worker's read of the rules and its write.
        lead_transition(lead=lead.pk, name="disqualify", by=marketer, reason="spam")
        return write(**kwargs)

    monkeypatch.setattr(scoring.services, "scores_write", write_while_a_marketer_disqualifies)

    assert leads_rescore(lead_ids=[lead.pk]) == 0

    stored = _fresh(lead)
    assert (stored.stage, stored.owner, stored.score) == (Stage.DISQUALIFIED, None, 79)
    assert list(stored.transitions.order_by("pk").values_list("name", flat=True)) == [
        "identify",
        "disqualify",
    ]


def test_a_rescore_does_not_overwrite_an_owner_assigned_while_it_counted(
    db, demo_rules, add_events, sdr, other_sdr, marketer, monkeypatch
):
    lead = lead_at(Stage.LEAD)
    add_events(lead, *DEMO_JOURNEY)
    write = scoring.services.scores_write

    def write_while_a_marketer_qualifies(**kwargs):
        Lead.objects.filter(pk=lead.pk).update(score=100)
        lead_transition(lead=lead.pk, name="qualify", by=marketer, owner=other_sdr)
        return write(**kwargs)

    monkeypatch.setattr(scoring.services, "scores_write", write_while_a_marketer_qualifies)

    assert leads_rescore(lead_ids=[lead.pk]) == 0

    stored = _fresh(lead)
    assert (stored.stage, stored.owner, stored.score) == (Stage.MQL, other_sdr, 79)
    assert stored.transitions.filter(name="qualify").count() == 1


@pytest.mark.parametrize("field", ["company", "job_title"])
def test_fit_counts_the_contact_as_it_is_now(db, demo_rules, add_events, field):
    lead = lead_at(Stage.LEAD, company="Acme", job_title="Analyst")
    leads_rescore(lead_ids=[lead.pk])
    assert _fresh(lead).fit_score == 10

    Contact.objects.filter(pk=lead.contact_id).update(**{field: ""})
    leads_rescore(lead_ids=[lead.pk])

    assert _fresh(lead).fit_score == 5


def test_an_inactive_rule_gives_no_points(db, demo_rules, add_events):
    from scoring.models import ScoringRule

    ScoringRule.objects.filter(name="Pricing page viewed").update(is_active=False)
    lead = lead_at(Stage.LEAD, company="", job_title="Analyst")
    add_events(lead, PRICING, PRICING)

    leads_rescore(lead_ids=[lead.pk])

    assert _fresh(lead).behaviour_score == 2
