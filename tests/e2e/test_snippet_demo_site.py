"""The demo website at /demo-site/: a visitor browses, downloads the white paper, becomes an MQL."""

from __future__ import annotations

import pytest

from leadflow.people.demo.data import WRITE_KEY_NAME
from leadflow.tracking.models import Event, WriteKey
from leadflow.website.snippet import snippet_get
from stages.models import Lead, Stage
from tests.conftest import SCREENSHOTS, browser_login

from .helpers import wait_for

EMAIL = "grace.hopper@example.com"


@pytest.fixture
def demo_key(db) -> WriteKey:
    return WriteKey.objects.create(name=WRITE_KEY_NAME)


def test_without_the_demo_key_the_site_says_how_to_make_one(client, db):
    WriteKey.objects.create(name=WRITE_KEY_NAME, revoked_at="2024-01-01T00:00:00Z")
    response = client.get("/demo-site/")
    assert response.status_code == 200
    assert b'<script src="/t.js' not in response.content
    assert b"manage.py demo" in response.content
    assert WRITE_KEY_NAME.encode() in response.content


@pytest.mark.parametrize("path", ["/demo-site/", "/demo-site/pricing/", "/demo-site/white-paper/"])
def test_every_demo_page_embeds_the_snippet_with_the_demo_key(client, demo_key, path):
    WriteKey.objects.create(name="backend")
    html = client.get(path).content.decode()
    tag = f'<script src="/t.js?v={snippet_get().version}" data-key="{demo_key.key}" async>'
    assert tag in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html


def test_the_white_paper_form_is_marked_for_capture_and_checked_by_the_site(client, demo_key):
    html = client.get("/demo-site/white-paper/").content.decode()
    assert 'data-leadflow-form="White paper" data-leadflow-event="Whitepaper Downloaded"' in html
    for name in ("email", "first_name", "last_name", "company", "job_title"):
        assert f'name="{name}"' in html
    invalid = client.post("/demo-site/white-paper/", {"email": "not an email"})
    assert invalid.status_code == 400
    assert b'aria-invalid="true"' in invalid.content
    valid = client.post(
        "/demo-site/white-paper/",
        {
            "email": EMAIL,
            "first_name": "Grace",
            "last_name": "Hopper",
            "company": "Navy",
            "job_title": "Rear admiral",
        },
    )
    assert valid.status_code == 302
    assert valid["Location"] == "/demo-site/white-paper/thanks/"
    assert client.get(valid["Location"]).status_code == 200


@pytest.mark.browser
def test_a_visitor_of_the_demo_site_becomes_an_mql_with_their_page_views(
    live_server, transactional_db, demo_key, demo_rules, sdr, marketer, browser
):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/demo-site/")
    # The banner shows the id the snippet keeps once it has loaded and sent the first view.
    page.locator("#lf-visitor-id").filter(has_text="-").wait_for()
    anonymous_id = page.locator("#lf-visitor-id").inner_text()
    wait_for(lambda: Event.objects.filter(anonymous_id=anonymous_id).exists(), what="a view")
    page.screenshot(path=str(SCREENSHOTS / "demo_site.png"))

    for n in range(1, 4):
        page.get_by_role("navigation", name="Site").get_by_role("link", name="Pricing").click()
        page.get_by_role("heading", name="Simple pricing that grows with your team").wait_for()
        wait_for(
            lambda n=n: Event.objects.filter(url__endswith="/demo-site/pricing/").count() == n,
            what=f"pricing view {n}",
        )
    page.get_by_role("link", name="White paper").click()
    page.get_by_label("Work email").fill(EMAIL)
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Company").fill("Harbor Freight Lines")
    page.get_by_label("Job title").fill("Head of Operations")
    page.screenshot(path=str(SCREENSHOTS / "demo_site_white_paper.png"))
    page.get_by_role("button", name="Download the white paper").click()
    page.get_by_role("heading", name="Your copy of the playbook is ready").wait_for()
    context.close()

    # Identified by the form, qualified by the scoring rules (tasks run in process here).
    lead = wait_for(
        lambda: (
            Lead.objects.filter(contact__email=EMAIL, stage=Stage.MQL)
            .select_related("contact")
            .first()
        ),
        what="the visitor to become an MQL",
    )
    assert (lead.contact.company, lead.contact.job_title) == (
        "Harbor Freight Lines",
        "Head of Operations",
    )
    assert lead.score >= 60
    # Landing, pricing x3, white paper and thank-you pages, all attached to the lead.
    wait_for(lambda: lead.events.filter(type="page").count() == 6, what="six page views")
    assert lead.events.filter(type="track", name="Whitepaper Downloaded").count() == 1
    assert not Event.objects.filter(anonymous_id=anonymous_id, lead__isnull=True).exists()

    # The marketer finds the visitor in the MQL queue, with the pages they viewed.
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    browser_login(page, live_server, "marketer")
    page.goto(f"{live_server.url}/queues/mql/")
    row = page.locator("tr").filter(has_text="Harbor Freight Lines")
    row.get_by_role("link").first.click()
    page.wait_for_url(f"**/leads/{lead.pk}/")
    timeline = page.locator("ol.timeline").inner_text()
    assert timeline.count("/demo-site/pricing/") == 3
    assert "/demo-site/white-paper/" in timeline
    assert "Whitepaper Downloaded" in timeline
    page.screenshot(path=str(SCREENSHOTS / "demo_site_lead.png"), full_page=True)
    context.close()
