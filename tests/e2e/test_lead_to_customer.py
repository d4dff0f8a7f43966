"""The whole slice: a website's events, the worker, then an SDR and an AE in Chromium."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from stages.models import Lead, Stage, Status
from tests.conftest import browser_login, open_action

from .helpers import segment_client, send_demo_journey, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.browser]


def test_a_tracked_visitor_becomes_a_customer_with_its_whole_history(
    live_server, celery_worker, write_key, demo_rules, sdr, ae, browser
):
    # 1. The website's backend sends the demo journey with Segment's own Python library.
    errors: list = []
    client = segment_client(host=live_server.url, write_key=write_key.key, errors=errors)
    send_demo_journey(client, email="grace@hopper.example")
    client.shutdown()
    assert errors == []

    # 2. The Celery worker scores the lead and qualifies it; round-robin gives it to the SDR.
    lead = wait_for(
        lambda: (
            Lead.objects.filter(contact__email="grace@hopper.example", stage=Stage.MQL)
            .select_related("owner")
            .first()
        ),
        what="the worker to qualify the lead",
    )
    assert lead.owner == sdr

    # 3. The SDR finds it in their work list and books a meeting with the AE.
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    browser_login(page, live_server, "sdr")
    row = page.locator(f"#row-{lead.pk}")
    assert "Ada Lovelace" in row.inner_text()
    open_action(row, "Book meeting")
    meeting = (timezone.localtime() + dt.timedelta(days=3)).replace(hour=14, minute=0)
    row.get_by_label("Meeting date and time").fill(meeting.strftime("%Y-%m-%dT%H:%M"))
    row.get_by_label("Account executive").select_option(label="ae")
    row.get_by_role("button", name="Book meeting").click()
    page.locator(f"#row-{lead.pk}").wait_for(state="detached")
    context.close()

    lead.refresh_from_db()
    assert (lead.stage, lead.status, lead.owner, lead.sdr) == (Stage.SQL, Status.ACTIVE, ae, sdr)

    # 4. The AE wins it from their deals.
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    browser_login(page, live_server, "ae")
    row = page.locator(f"#row-{lead.pk}")
    open_action(row, "Win")
    row.get_by_label("Deal value").fill("24000")
    row.get_by_role("button", name="Mark as won").click()
    page.locator(f"#row-{lead.pk}").wait_for(state="detached")

    lead.refresh_from_db()
    assert (lead.stage, lead.deal_value) == (Stage.CUSTOMER, 24000)

    # 5. The lead page tells the whole story: events, and every transition with its actor.
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    timeline = page.locator("body").inner_text()
    for step in ("identify", "qualify", "convert", "win"):
        assert lead.transitions.filter(name=step).exists()
    assert "Customer" in timeline
    assert "Whitepaper Downloaded" in timeline
    assert "/pricing" in timeline
    for actor in ("tracking", "scoring", "sdr", "ae"):
        assert actor in timeline
    context.close()
    assert list(lead.transitions.order_by("created_at").values_list("name", "actor")) == [
        ("identify", "tracking"),
        ("qualify", "scoring"),
        ("convert", ""),
        ("win", ""),
    ]
