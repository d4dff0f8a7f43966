"""Each role in a real browser: log in, do the day's work, and keep a screenshot of it."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from playwright.sync_api import expect

from leadflow.people.models import Contact
from leadflow.tracking.models import Event
from scoring.services import leads_rescore
from stages.models import Attempt, Lead, Stage, Status
from tests.conftest import PASSWORD, SCREENSHOTS, browser_login, open_action
from tests.factories import lead_at

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

PEOPLE = [
    ("Maya", "Chen", "Northwind Analytics", "Head of Marketing"),
    ("Lucas", "Moreau", "Brightline Health", "VP Growth"),
    ("Priya", "Raman", "Copperleaf", "Marketing Ops Lead"),
    ("Jonas", "Becker", "Fjord Logistics", "Head of Demand Gen"),
    ("Amara", "Okafor", "Sunburst Energy", "CMO"),
    ("Diego", "Alvarez", "Tidewater Bank", "Director of Marketing"),
    ("Hannah", "Schmidt", "Kestrel Robotics", "Growth Manager"),
    ("Kenji", "Watanabe", "Lumen Retail", "Head of CRM"),
    ("Sofia", "Rossi", "Atlas Freight", "Marketing Manager"),
    ("Ethan", "Brooks", "Parallel Labs", "VP Marketing"),
]


def _person(n: int) -> dict[str, str]:
    first, last, company, title = PEOPLE[n % len(PEOPLE)]
    domain = company.split()[0].lower()
    return {
        "first_name": first,
        "last_name": last,
        "company": company,
        "job_title": title,
        "email": f"{first.lower()}.{last.lower()}{n // len(PEOPLE) or ''}@{domain}.example",
    }


def _lifelike(leads: list[Lead], *, hours_apart: float = 5) -> None:
    """Spread scores and times so the pages look like a real Tuesday."""
    rng = random.Random(7)
    now = timezone.now()
    for n, lead in enumerate(leads):
        behaviour, fit = rng.randint(35, 80), rng.choice([10, 15, 20])
        Lead.objects.filter(pk=lead.pk).update(
            score=behaviour + fit,
            behaviour_score=behaviour,
            fit_score=fit,
            became_mql_at=now - dt.timedelta(hours=hours_apart * n + rng.randint(1, 4)),
            became_sql_at=now - dt.timedelta(hours=hours_apart * n + 2),
            stage_changed_at=now - dt.timedelta(hours=hours_apart * n + 3),
        )


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar belongs at the top
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _row(page, lead: Lead):
    return page.locator(f"#row-{lead.pk}")


def test_the_login_page_looks_right(page, live_server, sdr):
    page.goto(f"{live_server.url}/login/")

    _shot(page, "login")

    assert page.get_by_role("heading", name="Log in").is_visible()


def test_a_marketers_day_filter_save_a_view_assign_a_batch_recycle_one(
    page, live_server, marketer, sdr, other_sdr
):
    leads = [lead_at(Stage.MQL, owner=[sdr, other_sdr][n % 2], **_person(n)) for n in range(9)]
    _lifelike(leads)
    from stages.services import lead_transition

    for n in (3, 5):
        lead_transition(lead=leads[n].pk, name="start_attempt", by="fixture")
    fresh = [lead_at(Stage.MQL, **_person(n)) for n in (10, 11, 12)]
    Lead.objects.filter(pk__in=[lead.pk for lead in fresh]).update(
        owner=None, first_touch_source="linkedin", first_touch_campaign="spring-webinar"
    )

    browser_login(page, live_server, "marketer")

    assert page.url.endswith("/queues/mql/")
    assert page.get_by_role("heading", name="MQL queue").is_visible()
    assert page.locator("tbody tr").count() == 12
    assert page.get_by_text("New MQLs this week").is_visible()
    _shot(page, "mql_queue")
    page.get_by_label("Status").select_option("contact_attempt")
    page.wait_for_url("**status=contact_attempt")
    assert page.locator("tbody tr").count() == 2

    # The unassigned webinar MQLs, kept as a view for tomorrow.
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Owner").select_option("none")
    page.wait_for_url("**owner=none**")
    page.get_by_label("First-touch campaign").fill("spring-webinar")
    page.get_by_role("button", name="Filter", exact=True).click()
    page.wait_for_url("**campaign=spring-webinar**")
    assert page.locator("tbody tr").count() == 3
    page.get_by_label("Name of this view").fill("Webinar, unassigned")
    page.get_by_role("button", name="Save view").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("link", name="Webinar, unassigned").is_visible()

    # Two to a named SDR, in one go; the third back to nurturing with a reason.
    boxes = page.locator("tbody input[name=leads]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_label("Action").select_option("assign")
    page.get_by_label("Assign to").select_option(str(other_sdr.pk))
    _shot(page, "mql_queue_bulk")
    page.get_by_role("button", name="Apply to ticked").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Assign: 2 leads done.").is_visible()
    assert page.locator("tbody tr").count() == 1  # the view shows the unassigned one left
    page.locator("tbody input[name=leads]").first.check()
    page.get_by_label("Action").select_option("recycle")
    assert not page.get_by_label("Assign to").is_visible()
    page.get_by_label("Why back to nurturing").fill("Student, no budget this year")
    page.get_by_role("button", name="Apply to ticked").click()
    page.wait_for_load_state("networkidle")

    owners = [
        (lead.owner_id, lead.stage)
        for lead in Lead.objects.filter(pk__in=[x.pk for x in fresh]).order_by("stage")
    ]
    assert owners == [(None, Stage.LEAD), (other_sdr.pk, Stage.MQL), (other_sdr.pk, Stage.MQL)]
    assert page.get_by_role("heading", name="No MQLs match these filters").is_visible()


def test_an_sdr_works_the_list_inline_without_reloading(page, live_server, sdr, ae):
    leads = [lead_at(Stage.MQL, owner=sdr, **_person(n)) for n in range(5)]
    trying = [lead_at(Stage.MQL, Status.CONTACT_ATTEMPT, owner=sdr, **_person(n)) for n in (5, 6)]
    sourced = lead_at(Stage.SQL, Status.CONTACT_ATTEMPT, owner=sdr, **_person(7))
    _lifelike([*leads, *trying, sourced], hours_apart=9)
    attempted, nurtured, booked = leads[0], leads[1], leads[2]

    browser_login(page, live_server, "sdr")
    assert page.url.endswith("/work/")
    _shot(page, "my_work")
    page.evaluate("window.__sameDocument = true")

    # Log an attempt: the row moves to the contact-attempt section.
    row = _row(page, attempted)
    open_action(row, "Log attempt")
    row.get_by_label("Channel").select_option("call")
    row.get_by_label("Outcome").select_option("left_message")
    row.get_by_label("Note").fill("Left a voicemail, will try Thursday")
    _shot(page, "my_work_log_attempt")
    row.get_by_role("button", name="Log attempt").click()
    page.locator("#rows-attempting").locator(f"#row-{attempted.pk}").wait_for()
    assert page.locator("#toasts").get_by_text("Attempt logged").is_visible()
    assert page.locator("#count-open").inner_text() == "4"

    # Bad timing: nurture until a later day; the row leaves the list.
    row = _row(page, nurtured)
    open_action(row, "Bad timing")
    row.get_by_label("Follow up on").fill(
        (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    )
    row.get_by_label("Why now is bad").fill("Budget opens in Q3")
    row.get_by_role("button", name="Nurture").click()
    _row(page, nurtured).wait_for(state="detached")

    # A meeting in the past is refused in place, then booked.
    row = _row(page, booked)
    open_action(row, "Book meeting")
    past = (timezone.localtime() - dt.timedelta(days=2)).replace(hour=10, minute=30)
    row.get_by_label("Meeting date and time").fill(past.strftime("%Y-%m-%dT%H:%M"))
    row.get_by_label("Account executive").select_option(label="ae")
    row.get_by_role("button", name="Book meeting").click()
    page.locator(f"#row-{booked.pk} .field-error").wait_for()
    assert "must be in the future" in _row(page, booked).inner_text()
    meeting = (timezone.localtime() + dt.timedelta(days=2)).replace(hour=10, minute=30)
    _row(page, booked).get_by_label("Meeting date and time").fill(
        meeting.strftime("%Y-%m-%dT%H:%M")
    )
    _row(page, booked).get_by_role("button", name="Book meeting").click()
    _row(page, booked).wait_for(state="detached")
    assert page.locator("#toasts").get_by_text("Meeting booked").first.is_visible()

    assert page.evaluate("window.__sameDocument") is True  # no full page load happened
    _shot(page, "my_work_after")
    attempted.refresh_from_db()
    nurtured.refresh_from_db()
    booked.refresh_from_db()
    assert attempted.status == Status.CONTACT_ATTEMPT
    assert Attempt.objects.get(lead=attempted).outcome == "left_message"
    assert (nurtured.status, nurtured.follow_up_on) == (
        Status.NURTURING,
        timezone.localdate() + dt.timedelta(days=30),
    )
    assert (booked.stage, booked.owner, booked.sdr) == (Stage.SQL, ae, sdr)
    assert booked.transitions.filter(name="convert", by=sdr).exists()


def test_an_sdr_works_from_the_keyboard(page, live_server, sdr):
    leads = [lead_at(Stage.MQL, owner=sdr, **_person(n)) for n in range(3)]
    _lifelike(leads, hours_apart=2)

    browser_login(page, live_server, "sdr")
    page.keyboard.press("?")
    assert page.locator("#shortcuts .shortcuts-panel").is_visible()
    page.keyboard.press("?")

    # j to the first row, j to the second, then a: the attempt form of that row, focused.
    page.keyboard.press("j")
    page.keyboard.press("j")
    second = page.locator("#rows-open tr[data-row]").nth(1)
    lead_id = int(second.get_attribute("id").removeprefix("row-"))
    page.keyboard.press("a")
    channel = second.get_by_label("Channel")
    expect(channel).to_be_focused()
    channel.select_option("email")
    second.get_by_label("Outcome").select_option("no_answer")
    second.get_by_role("button", name="Log attempt").click()
    page.locator("#rows-attempting").locator(f"#row-{lead_id}").wait_for()

    assert Attempt.objects.get(lead_id=lead_id).channel == "email"
    # Escape closes an action opened by mistake.
    page.locator("#rows-open tr[data-row] a").first.focus()
    page.keyboard.press("d")
    assert page.locator("#rows-open details.pop[open]").count() == 1
    page.keyboard.press("Escape")
    assert page.locator("#rows-open details.pop[open]").count() == 0


def test_an_expired_session_sends_the_sdr_to_log_in_and_back(page, live_server, sdr):
    lead = lead_at(Stage.MQL, owner=sdr, **_person(0))
    browser_login(page, live_server, "sdr")
    Session.objects.all().delete()

    row = _row(page, lead)
    open_action(row, "Log attempt")
    row.get_by_role("button", name="Log attempt").click()
    page.wait_for_url("**/login/?next=%2Fwork%2F")
    page.get_by_label("Username").fill("sdr")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.wait_for_url("**/work/")
    assert not Attempt.objects.exists()


def test_an_ae_wins_one_deal_and_loses_another(page, live_server, sdr, ae):
    deals = [lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae, **_person(n)) for n in range(6)]
    _lifelike(deals, hours_apart=20)
    now = timezone.now()
    for n, deal in enumerate(deals):
        Lead.objects.filter(pk=deal.pk).update(meeting_at=now + dt.timedelta(hours=26 * n - 20))
    won, lost = deals[1], deals[2]

    browser_login(page, live_server, "ae")
    assert page.url.endswith("/deals/")
    _shot(page, "my_deals")
    page.evaluate("window.__sameDocument = true")

    row = _row(page, won)
    open_action(row, "Win")
    row.get_by_label("Deal value").fill("24000")
    _shot(page, "my_deals_win")
    row.get_by_role("button", name="Mark as won").click()
    _row(page, won).wait_for(state="detached")

    row = _row(page, lost)
    panel = open_action(row, "Lose")
    assert panel.get_by_label("Reason").input_value() == "lost"
    panel.get_by_label("Reason").select_option("competitor")
    panel.get_by_role("button", name="Mark as lost").click()
    _row(page, lost).wait_for(state="detached")

    assert page.evaluate("window.__sameDocument") is True
    assert page.locator("#count-deals").inner_text() == "4"
    page.set_viewport_size({"width": 768, "height": 1024})
    _shot(page, "my_deals_tablet")
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    won.refresh_from_db()
    lost.refresh_from_db()
    assert (won.stage, str(won.deal_value)) == (Stage.CUSTOMER, "24000.00")
    assert (lost.stage, lost.disqualify_reason) == (Stage.DISQUALIFIED, "competitor")


def test_the_lead_page_explains_the_score_and_offers_the_next_step(
    page, live_server, sdr, ae, demo_rules, write_key
):
    lead = lead_at(
        Stage.MQL, owner=sdr, phone="+1 415 555 0142", country="United States", **_person(0)
    )
    now = timezone.now()
    visits = ["/", "/product", "/pricing", "/pricing", "/customers", "/pricing"]
    for n, path in enumerate(visits):
        Event.objects.create(
            source=write_key,
            message_id=f"p{n}",
            type="page",
            url=f"https://northwind.example{path}",
            lead=lead,
            occurred_at=now - dt.timedelta(days=6 - n, hours=n),
            received_at=now,
        )
    Event.objects.create(
        source=write_key,
        message_id="t1",
        type="track",
        name="Whitepaper Downloaded",
        lead=lead,
        occurred_at=now - dt.timedelta(hours=20),
        received_at=now,
    )
    leads_rescore(lead_ids=[lead.pk])
    Attempt.objects.create(lead=lead, by=sdr, channel="email", outcome="no_answer", note="Intro")

    browser_login(page, live_server, "sdr")
    page.goto(f"{live_server.url}/leads/{lead.pk}/")

    assert page.get_by_role("heading", name="Maya Chen").is_visible()
    assert page.get_by_text("Pricing page viewed").is_visible()
    assert page.locator(".breakdown tfoot").inner_text().split()[-1] == str(
        Lead.objects.get(pk=lead.pk).score
    )
    open_action(page, "Book meeting")
    _shot(page, "lead_detail")

    # The same page for a lead without a job title: booking is disabled, with the reason.
    Contact.objects.filter(pk=lead.contact_id).update(job_title="")
    page.reload()
    _shot(page, "lead_detail_blocked")
    assert page.get_by_text("Not yet: job title missing").is_visible()
    assert page.get_by_role("button", name="Book meeting").is_disabled()


def test_an_sdr_enters_a_sales_sourced_contact(page, live_server, sdr, ae):
    browser_login(page, live_server, "sdr")
    page.get_by_role("link", name="New contact").click()
    page.get_by_label("Email").fill("nadia.petrova@quartz.example")
    page.get_by_label("First name").fill("Nadia")
    page.get_by_label("Last name").fill("Petrova")
    page.get_by_label("Company").fill("Quartz Systems")
    page.get_by_label("Job title").fill("Head of Operations")
    page.get_by_label("Source").select_option("referral")
    _shot(page, "new_contact")
    page.get_by_role("button", name="Create SQL").click()
    page.wait_for_url("**/leads/*/")

    lead = Lead.objects.get(contact__email="nadia.petrova@quartz.example")
    assert (lead.stage, lead.status, lead.owner) == (Stage.SQL, Status.CONTACT_ATTEMPT, sdr)
    assert page.get_by_text("entered as a sales-sourced SQL").is_visible()


def test_search_finds_a_lead_from_the_top_bar(page, live_server, ae, sdr):
    for n in range(4):
        lead_at(Stage.MQL, owner=sdr, **_person(n))

    browser_login(page, live_server, "ae")
    page.get_by_label("Search leads").fill("northwind")
    page.get_by_label("Search leads").press("Enter")
    page.wait_for_url("**/search/?q=northwind")

    assert page.locator("tbody tr").count() == 1
    _shot(page, "search")


def test_the_work_list_fits_a_tablet(page, live_server, sdr, ae):
    leads = [lead_at(Stage.MQL, owner=sdr, **_person(n)) for n in range(4)]
    _lifelike(leads)
    page.set_viewport_size({"width": 768, "height": 1024})

    browser_login(page, live_server, "sdr")
    open_action(_row(page, leads[0]), "Book meeting")

    panel = _row(page, leads[0]).locator(".pop-panel").last
    _shot(page, "my_work_tablet")
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 768
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    _shot(page, "my_work_tablet")


def test_an_sdr_shows_more_of_a_list_and_works_a_row_it_added(page, live_server, sdr, monkeypatch):
    from leadflow.workspaces import views

    monkeypatch.setattr(views, "LIST_SIZE", 2)
    leads = [lead_at(Stage.MQL, owner=sdr, **_person(n)) for n in range(4)]
    _lifelike(leads, hours_apart=3)

    browser_login(page, live_server, "sdr")
    page.evaluate("window.__sameDocument = true")
    assert page.locator("#rows-open tr[data-row]").count() == 2
    assert page.locator("#count-open").inner_text() == "2+"
    page.locator("#more-open").get_by_role("link", name="Show more").click()
    page.locator("#rows-open tr[data-row]").nth(3).wait_for()
    assert page.locator("#more-open a").count() == 0  # the list is all there

    # The cursor is on the first row added (once htmx has settled the swap): j goes on from it,
    # a opens its attempt form.
    third = page.locator("#rows-open tr[data-row]").nth(2)
    expect(third.locator("a.lead-name")).to_be_focused()
    page.keyboard.press("j")
    fourth = page.locator("#rows-open tr[data-row]").nth(3)
    lead_id = int(fourth.get_attribute("id").removeprefix("row-"))
    page.keyboard.press("a")
    channel = fourth.get_by_label("Channel")
    assert channel.get_attribute("id") == f"l{lead_id}-attempt-channel"
    name = fourth.locator(".lead-name").inner_text()
    assert fourth.get_by_role("group", name=f"Log attempt: {name}").is_visible()
    channel.select_option("social")
    fourth.get_by_role("button", name="Log attempt").click()
    page.locator("#rows-attempting").locator(f"#row-{lead_id}").wait_for()

    assert page.evaluate("window.__sameDocument") is True
    assert Attempt.objects.get(lead_id=lead_id).channel == "social"
