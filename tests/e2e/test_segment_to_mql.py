"""A real Segment client, the live server and a real Celery worker: events become an MQL."""

from __future__ import annotations

import pytest

from scoring.services import lead_explain
from stages.models import Lead, LeadTransition, Stage, Status

from .helpers import segment_client, send_demo_journey, wait_for

pytestmark = [pytest.mark.redis]


def test_segment_events_make_an_mql_through_the_worker(
    live_server, celery_worker, write_key, demo_rules, sdr
):
    errors: list = []
    client = segment_client(host=live_server.url, write_key=write_key.key, errors=errors)
    send_demo_journey(client, email="Ada@Example.com")
    client.shutdown()
    assert errors == []

    lead = wait_for(
        lambda: Lead.objects.filter(contact__email="ada@example.com", stage=Stage.MQL).first(),
        what="the lead to become an MQL",
    )
    assert (lead.status, lead.owner) == (Status.OPEN, sdr)
    # Every event was stored once and is attached to the lead, the anonymous ones included.
    assert lead.events.count() == 7
    explained = lead_explain(lead=lead)
    assert lead.score == explained.total >= 60
    assert (lead.behaviour_score, lead.fit_score) == (explained.behaviour, explained.fit)
    history = list(
        LeadTransition.objects.filter(lead=lead).values_list("name", "source", "target", "actor")
    )
    assert history == [
        ("identify", "visitor", "lead", "tracking"),
        ("qualify", "lead", "mql", "scoring"),
    ]


def test_page_views_alone_leave_a_lead_below_mql(
    live_server, celery_worker, write_key, demo_rules, sdr
):
    errors: list = []
    client = segment_client(host=live_server.url, write_key=write_key.key, errors=errors)
    anonymous_id = "browser-of-bob"
    client.identify(
        anonymous_id=anonymous_id,
        traits={"email": "bob@example.com", "company": "Bob Co", "title": "Head of IT"},
    )
    for n in range(40):
        client.page(anonymous_id=anonymous_id, properties={"url": f"https://x.test/pricing?{n}"})
    client.shutdown()
    assert errors == []

    lead = wait_for(
        lambda: Lead.objects.filter(contact__email="bob@example.com").first(),
        what="the identified lead",
    )
    wait_for(lambda: lead.events.count() == 41, what="all 41 events stored")
    wait_for(
        lambda: Lead.objects.get(pk=lead.pk).score == lead_explain(lead=lead).total > 0,
        what="the score to include every event",
    )
    lead.refresh_from_db()
    assert lead.stage == Stage.LEAD
    assert lead.score < 60
