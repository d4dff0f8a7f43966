"""In Chromium, an admin raises a rule's points, reads the what-if, publishes, watches the real
Celery workers rescore in chunks, and finds the newly qualified leads in the MQL queue."""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leadflow.tracking.models import Event
from scoring.models import RulesVersion, ScoringRule
from scoring.services import leads_rescore
from stages.models import Lead, Stage
from tests.conftest import SCREENSHOTS, browser_login
from tests.factories import lead_at

from .helpers import SITE

pytestmark = [pytest.mark.redis, pytest.mark.browser]

_ids = itertools.count(1)


def _events(write_key, lead: Lead, *specs: tuple[str, str]) -> None:
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            source=write_key,
            message_id=f"rules-{next(_ids)}",
            type=kind,
            name=value if kind == "track" else "",
            url=f"{SITE}{value}" if kind == "page" else "",
            lead=lead,
            occurred_at=now,
            received_at=now,
        )
        for kind, value in specs
    )


def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_an_admin_edits_a_rule_sees_the_what_if_publishes_and_the_queue_follows(
    live_server, celery_worker, write_key, demo_rules, admin_user, sdr, page, settings
):
    # A chunk per lead or so: the workers run several in parallel and the bar moves in steps.
    settings.SCORING_RESCORE_MIN_CHUNK = 2
    people = [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Katherine", "Johnson")]
    close = []
    for first, last in people:
        lead = lead_at(Stage.LEAD, first_name=first, last_name=last, job_title="Analyst")
        # A white paper and two pricing views: 25 + 20 + 2 + fit 10 = 57, just below 60.
        _events(write_key, lead, ("track", "Whitepaper Downloaded"), *[("page", "/pricing")] * 2)
        close.append(lead)
    far = []
    for _ in range(4):
        lead = lead_at(Stage.LEAD, job_title="Analyst")
        _events(write_key, lead, ("page", "/pricing"), ("page", "/features"))
        far.append(lead)
    leads_rescore(lead_ids=[lead.pk for lead in close + far])
    assert set(Lead.objects.values_list("score", flat=True)) == {57, 22}

    browser_login(page, live_server, "admin")
    page.goto(f"{live_server.url}/settings/scoring/")
    page.get_by_role("link", name="Edit Pricing page viewed").click()

    # A broken pattern is an error on the URL field, and nothing is saved.
    page.get_by_label("URL match").select_option(label="URL matches a pattern")
    page.locator("#id_url").fill("/pricing/(pro")
    page.get_by_role("button", name="Save to draft").click()
    url = page.get_by_role("textbox", name="URL optional", exact=True)
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_url_error")).to_contain_text("Not a valid pattern")
    _screenshot(page, "scoring_rule_error")

    page.get_by_label("URL match").select_option(label="URL contains")
    url.fill("/pricing")
    page.get_by_label("Points", exact=True).fill("15")
    page.get_by_role("button", name="Save to draft").click()

    # The draft, in words, and what it would do: three leads would cross the threshold.
    expect(page.locator(".change-list")).to_contain_text("points 10 → 15")
    expect(page.locator("#whatif-qualify")).to_have_text("3")
    expect(page.locator("#whatif-cooling")).to_have_text("0")
    qualify_list = page.locator("#whatif-qualify-list")
    for first, last in people:
        expect(qualify_list).to_contain_text(f"{first} {last}")
    assert ScoringRule.objects.get(name="Pricing page viewed").points == 10  # not yet
    _screenshot(page, "scoring_rules_whatif")

    page.get_by_label("Why (optional)").fill("Pricing views show intent")
    page.get_by_role("button", name="Publish and rescore").click()
    bar = page.locator("progress#rescore-bar")
    expect(bar).to_be_visible()
    expect(page.locator("progress#rescore-bar[data-finished]")).to_be_attached(timeout=60_000)
    expect(page.locator("#rescore-progress")).to_contain_text("3 became MQLs")
    assert bar.get_attribute("value") == bar.get_attribute("max")
    _screenshot(page, "scoring_rules_published")

    version = RulesVersion.objects.get(number=2)
    assert (version.published_by, version.note) == (admin_user, "Pricing views show intent")
    assert version.rescore_run.chunks > 1

    # The history says who changed what, and the version before stays readable.
    page.get_by_role("link", name="Version history").click()
    expect(page.locator("#version-2")).to_contain_text("points 10 → 15")
    expect(page.locator("#version-2")).to_contain_text("admin")
    page.get_by_role("link", name="Version 1", exact=True).click()
    expect(
        page.locator("#rule-r" + str(ScoringRule.objects.get(name="Pricing page viewed").pk))
    ).to_contain_text("+10")
    expect(page.get_by_role("button", name="Load into the draft")).to_be_visible()
    _screenshot(page, "scoring_version")

    page.go_back()
    page.go_back()
    page.get_by_role("link", name="Open the MQL queue").click()
    queue = page.locator("main")
    for first, last in people:
        expect(queue).to_contain_text(f"{first} {last}")
    for lead in far:
        expect(queue.locator(f'a[href="/leads/{lead.pk}/"]')).to_have_count(0)
    assert set(Lead.objects.filter(stage=Stage.MQL).values_list("pk", flat=True)) == {
        lead.pk for lead in close
    }
