"""A recycled lead returns to MQL only on new activity, never on its old score alone."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from scoring.services import leads_rescore
from stages.models import Lead, Stage
from stages.services import lead_transition
from tests.factories import lead_at


def _recycled(demo_rules, add_events, **extra) -> Lead:
    lead = lead_at(Stage.MQL, **extra)
    add_events(lead, ("track", "Whitepaper Downloaded"), *[("page", "/pricing")] * 3)
    lead_transition(lead=lead, name="recycle", by="fixture", reason="no budget this year")
    return lead


def test_a_recycled_lead_is_not_requalified_by_the_score_it_already_had(
    demo_rules, add_events, sdr
):
    lead = _recycled(demo_rules, add_events)

    assert leads_rescore(lead_ids=[lead.pk]) == 0
    lead.refresh_from_db()
    assert lead.stage == Stage.LEAD
    assert lead.score >= 60


def test_a_recycled_lead_that_comes_back_to_the_site_is_qualified_again(
    demo_rules, add_events, sdr
):
    lead = _recycled(demo_rules, add_events)
    Lead.objects.filter(pk=lead.pk).update(last_event_at=timezone.now() + dt.timedelta(seconds=1))

    assert leads_rescore(lead_ids=[lead.pk]) == 1
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL


def test_a_lead_recycled_from_disqualified_waits_for_new_activity_too(demo_rules, add_events, sdr):
    lead = lead_at(Stage.LEAD)
    lead_transition(lead=lead, name="disqualify", by="fixture", reason="no_response")
    lead_transition(lead=lead, name="recycle", by="fixture", reason="replied after all")
    add_events(lead, ("track", "Whitepaper Downloaded"), *[("page", "/pricing")] * 3)
    Lead.objects.filter(pk=lead.pk).update(last_event_at=timezone.now() - dt.timedelta(days=1))

    assert leads_rescore(lead_ids=[lead.pk]) == 0
