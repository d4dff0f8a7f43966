"""The first-party snippet /t.js, embedded in a website on another origin, in Chromium."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from collections.abc import Iterator

import pytest
from django.utils import timezone

from leadflow.people.models import Contact, Visitor
from leadflow.tracking.models import Event
from leadflow.website.snippet import snippet_get
from stages.models import Lead, Stage

from .helpers import wait_for
from .second_origin import OtherSite, other_site

CAMPAIGN_QUERY = (
    "utm_source=newsletter&utm_medium=email&utm_campaign=spring-launch"
    "&utm_term=forecasting&utm_content=hero"
)
WHITE_PAPER_FORM = """
<form method="post" action="/thanks" data-leadflow-form="White paper"
      data-leadflow-event="Whitepaper Downloaded">
  <label>Email <input name="email" type="email"></label>
  <label>First name <input name="first_name"></label>
  <label>Last name <input name="last_name"></label>
  <label>Company <input name="company"></label>
  <label>Job title <input name="job_title"></label>
  <label>Phone <input name="phone"></label>
  <label>Country <input name="country"></label>
  <label>Password <input name="password" type="password"></label>
  <input type="hidden" name="title" value="hidden field, not a trait">
  <button type="submit">Download</button>
</form>
<script>
  // The site's own handler stops the event: the snippet listens in the capture phase anyway.
  document.querySelector("form").addEventListener("submit", (event) => event.stopPropagation());
</script>
"""


def site_page(
    leadflow: str, key: str, *, title: str, body: str = "", attrs: str = "", head: str = ""
) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{head}"
        f'<script src="{leadflow}/t.js" data-key="{key}" {attrs} async></script>'
        f"</head><body><h1>{title}</h1>{body}</body></html>"
    )


@pytest.fixture
def site() -> Iterator[OtherSite]:
    with other_site() as site:
        yield site


# Every tracking call the page makes, kept in sessionStorage so that it outlives reloads and the
# pages of the site. (Playwright's request events miss some beacons sent as a page changes.)
RECORD_SENDS = """(() => {
  const record = (url, how, type) => {
    if (!String(url).includes("/v1/")) return;
    const sent = JSON.parse(sessionStorage.getItem("test-sent") || "[]");
    sent.push([new URL(url).pathname, how, type || ""]);
    sessionStorage.setItem("test-sent", JSON.stringify(sent));
  };
  const beacon = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, data) => {
    record(url, "beacon", data && data.type);
    return beacon(url, data);
  };
  const fetch = window.fetch.bind(window);
  window.fetch = (url, init) => {
    record(url, "fetch", init && init.headers && init.headers["Content-Type"]);
    return fetch(url, init);
  };
})()"""


def sent(page) -> list[list[str]]:
    """The tracking calls of this tab: [path, how, content type]."""
    return page.evaluate("JSON.parse(sessionStorage.getItem('test-sent') || '[]')")


@pytest.fixture
def page(page):
    page.add_init_script(RECORD_SENDS)
    return page


def _cookie(page) -> dict | None:
    return next((c for c in page.context.cookies() if c["name"] == "lf_aid"), None)


def _pages() -> list[Event]:
    return list(Event.objects.filter(type="page").order_by("occurred_at", "pk"))


# -- served by leadflow --


def test_t_js_is_small_javascript_cached_by_content(client):
    snippet = snippet_get()
    response = client.get("/t.js", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Content-Encoding"] == "gzip"
    assert response["Cache-Control"] == "public, max-age=86400, stale-while-revalidate=604800"
    assert response["Access-Control-Allow-Origin"] == "*"
    body = gzip.decompress(response.content)
    assert body == snippet.body
    assert b"data-key" in body and b"/v1/" in body
    assert len(body) < 8 * 1024 and len(response.content) < 3 * 1024
    etag = response["ETag"]
    assert snippet.version in etag

    # A browser revalidates with the ETag it holds, gzipped or not.
    assert client.get("/t.js", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get("/t.js", HTTP_IF_NONE_MATCH=snippet.etag).status_code == 304
    assert client.get("/t.js", HTTP_IF_NONE_MATCH='"stale"').status_code == 200

    # A URL naming this exact body is cached for good; an old version is not.
    versioned = client.get(f"/t.js?v={snippet.version}")
    assert versioned["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "immutable" not in client.get("/t.js?v=0000")["Cache-Control"]
    assert client.post("/t.js").status_code == 405


# -- in the browser --


@pytest.mark.browser
def test_page_views_from_another_site_carry_page_campaign_and_one_anonymous_id(
    live_server, transactional_db, write_key, page, site
):
    site.pages["/landing"] = site_page(live_server.url, write_key.key, title="Acme, forecasting")
    landing = f"{site.url}/landing?{CAMPAIGN_QUERY}"
    page.goto(landing)

    first = wait_for(lambda: Event.objects.filter(type="page").first(), what="a page view")
    cookie = _cookie(page)
    assert cookie is not None
    assert (first.source_id, first.anonymous_id, first.url) == (
        write_key.pk,
        cookie["value"],
        landing,
    )
    assert uuid.UUID(first.message_id)
    assert abs(first.occurred_at - timezone.now()) < dt.timedelta(seconds=30)
    context = first.context
    assert context["page"] == {
        "url": landing,
        "path": "/landing",
        "search": f"?{CAMPAIGN_QUERY}",
        "referrer": "",
        "title": "Acme, forecasting",
    }
    assert context["campaign"] == {
        "source": "newsletter",
        "medium": "email",
        "name": "spring-launch",
        "term": "forecasting",
        "content": "hero",
    }
    assert context["library"] == {"name": "leadflow.js", "version": "1.0.0"}
    assert context["userAgent"] == page.evaluate("navigator.userAgent")
    assert first.properties["path"] == "/landing"
    # A first-party cookie of the site (not leadflow's), for a year.
    assert (cookie["domain"], cookie["path"], cookie["sameSite"]) == ("127.0.0.1", "/", "Lax")
    assert cookie["expires"] > (timezone.now() + dt.timedelta(days=364)).timestamp()
    assert page.evaluate("localStorage.getItem('lf_aid')") == cookie["value"]

    # A single-page app moves on: pushState and popstate are visits, replaceState of the same
    # URL is not.
    page.evaluate("history.pushState({}, '', '/pricing'); document.title = 'Acme, pricing'")
    pricing = wait_for(
        lambda: Event.objects.filter(type="page", url=f"{site.url}/pricing").first(),
        what="the SPA page view",
    )
    assert pricing.context["page"]["title"] == "Acme, pricing"
    assert pricing.context["page"]["referrer"] == landing
    page.evaluate("history.replaceState({}, '', '/pricing')")
    page.evaluate("history.replaceState({}, '', '/pricing?plan=team')")
    page.go_back()
    wait_for(lambda: len(_pages()) == 4, what="four page views")
    # Beacons sent a few milliseconds apart may arrive in any order.
    assert sorted((e.context["page"]["path"], e.context["page"]["search"]) for e in _pages()) == [
        ("/landing", f"?{CAMPAIGN_QUERY}"),
        ("/landing", f"?{CAMPAIGN_QUERY}"),
        ("/pricing", ""),
        ("/pricing", "?plan=team"),
    ]
    assert sent(page) == [["/v1/p", "beacon", "text/plain"]] * 4

    # The id outlives a reload, and a cleared cookie comes back from localStorage.
    page.reload()
    wait_for(lambda: len(_pages()) == 5, what="the page view after a reload")
    page.context.clear_cookies()
    page.reload()
    wait_for(lambda: len(_pages()) == 6, what="the page view after cookies were cleared")
    assert _cookie(page)["value"] == cookie["value"]
    assert {e.anonymous_id for e in _pages()} == {cookie["value"]}
    assert Visitor.objects.get().anonymous_id == cookie["value"]
    assert sent(page) == [["/v1/p", "beacon", "text/plain"]] * 6


@pytest.mark.browser
def test_a_marked_form_identifies_the_visitor_with_its_history_and_still_submits(
    live_server, transactional_db, write_key, page, site
):
    site.pages["/"] = site_page(live_server.url, write_key.key, title="Acme")
    site.pages["/white-paper"] = site_page(
        live_server.url, write_key.key, title="Acme white paper", body=WHITE_PAPER_FORM
    )
    page.goto(f"{site.url}/")
    page.goto(f"{site.url}/white-paper")
    wait_for(lambda: len(_pages()) == 2, what="two anonymous page views")
    anonymous_id = _cookie(page)["value"]

    page.get_by_label("Email").fill("  Ada.Lovelace@Example.com ")
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Company").fill("Analytical Engines Ltd")
    page.get_by_label("Job title").fill("Head of Operations")
    page.get_by_label("Phone").fill("+44 20 7946 0000")
    page.get_by_label("Country").fill("United Kingdom")
    page.get_by_label("Password").fill("secret-not-a-trait")
    page.get_by_role("button", name="Download").click()

    # The form's own submission went through, fields and all.
    page.get_by_role("heading", name="Thanks, the site got your form").wait_for()
    assert [path for path, _ in site.posts] == ["/thanks"]
    assert site.posts[0][1]["company"] == ["Analytical Engines Ltd"]

    lead = wait_for(
        lambda: (
            Lead.objects.filter(contact__email="ada.lovelace@example.com")
            .select_related("contact")
            .first()
        ),
        what="the lead of the form",
    )
    contact = lead.contact
    assert (contact.first_name, contact.last_name, contact.company, contact.job_title) == (
        "Ada",
        "Lovelace",
        "Analytical Engines Ltd",
        "Head of Operations",
    )
    assert (contact.phone, contact.country) == ("+44 20 7946 0000", "United Kingdom")
    assert "password" not in json.dumps(contact.traits)
    assert lead.stage == Stage.LEAD

    track = wait_for(
        lambda: Event.objects.filter(type="track", lead=lead).first(), what="the form's track"
    )
    assert track.name == "Whitepaper Downloaded"
    assert track.properties == {"form": "White paper", "path": "/white-paper"}
    # The anonymous history is the lead's now: every event of this browser, once each.
    wait_for(lambda: lead.events.count() == 4, what="page views attached to the lead")
    assert Event.objects.filter(anonymous_id=anonymous_id, lead__isnull=True).count() == 0
    assert sorted(lead.events.values_list("type", flat=True)) == [
        "identify",
        "page",
        "page",
        "track",
    ]
    assert Contact.objects.count() == 1
    assert [path for path, *_ in sent(page)] == ["/v1/p", "/v1/p", "/v1/i", "/v1/t"]


PRIVACY_SIGNALS = {
    "do-not-track": "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})",
    "global-privacy-control": (
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
    ),
}


@pytest.mark.browser
@pytest.mark.parametrize("signal", PRIVACY_SIGNALS)
def test_a_browser_asking_not_to_be_tracked_sends_nothing_and_keeps_nothing(
    live_server, transactional_db, write_key, browser, site, signal
):
    site.pages["/white-paper"] = site_page(
        live_server.url, write_key.key, title="Acme white paper", body=WHITE_PAPER_FORM
    )
    context = browser.new_context()
    context.add_init_script(PRIVACY_SIGNALS[signal])
    context.add_init_script(RECORD_SENDS)
    private = context.new_page()
    private.goto(f"{site.url}/white-paper")
    private.wait_for_function("window.leadflow && window.leadflow.loaded")
    private.evaluate("leadflow.track('Pricing Viewed'); leadflow.identify({email: 'x@y.example'})")
    private.get_by_label("Email").fill("dnt@example.com")
    private.get_by_role("button", name="Download").click()
    private.get_by_role("heading", name="Thanks, the site got your form").wait_for()
    assert sent(private) == []
    assert [c["name"] for c in context.cookies()] == []
    assert private.evaluate("localStorage.length") == 0
    context.close()

    # The same page in a browser without the signal is tracked: the snippet works here.
    control = browser.new_context()
    control.new_page().goto(f"{site.url}/white-paper")
    wait_for(lambda: Event.objects.exists(), what="the control page view")
    control.close()
    assert Event.objects.count() == 1
    assert not Contact.objects.exists()


# Two ways a site holds tracking until its consent banner says yes. Either way a call the page
# queued before the snippet loaded (window.leadflow.q) is replayed, and held too.
CONSENT_REQUIRED = {
    "attribute": {
        "attrs": 'data-consent="required"',
        "head": """<script>window.leadflow = {q: [["track", ["Pricing Viewed", {plan: "team"}]]]};
                   </script>""",
    },
    "global": {
        "head": """<script>window.leadflow = {consent: false,
                   q: [["track", ["Pricing Viewed", {plan: "team"}]]]};</script>""",
    },
}


@pytest.mark.browser
@pytest.mark.parametrize("way", CONSENT_REQUIRED)
def test_with_consent_required_events_wait_for_consent(
    live_server, transactional_db, write_key, page, site, way
):
    site.pages["/"] = site_page(
        live_server.url, write_key.key, title="Acme", **CONSENT_REQUIRED[way]
    )
    page.goto(f"{site.url}/")
    page.wait_for_function("window.leadflow && window.leadflow.loaded")
    assert page.evaluate("leadflow.anonymousId()") is None
    assert _cookie(page) is None
    assert sent(page) == []

    page.evaluate("leadflow.consent(true)")
    wait_for(lambda: Event.objects.count() == 2, what="the held events")
    cookie = _cookie(page)
    assert cookie is not None
    assert sorted(Event.objects.values_list("type", "name", "anonymous_id")) == [
        ("page", "", cookie["value"]),
        ("track", "Pricing Viewed", cookie["value"]),
    ]
    assert [path for path, *_ in sent(page)] == ["/v1/p", "/v1/t"]

    # Withdrawn consent forgets the id.
    page.evaluate("leadflow.consent(false)")
    assert _cookie(page) is None
    assert page.evaluate("localStorage.getItem('lf_aid')") is None
    page.evaluate("leadflow.track('Ignored')")
    assert len(sent(page)) == 2


@pytest.mark.browser
def test_the_cookie_lives_on_the_registrable_domain_of_the_site(
    live_server, transactional_db, write_key, page, site
):
    # Chromium resolves every *.localhost name to this machine: a site with subdomains.
    site.pages["/"] = site_page(live_server.url, write_key.key, title="Acme")
    page.goto(site.url.replace("127.0.0.1", "www.acme.localhost") + "/")
    event = wait_for(lambda: Event.objects.filter(type="page").first(), what="a page view")
    cookie = _cookie(page)
    assert (cookie["domain"], cookie["value"]) == (".acme.localhost", event.anonymous_id)
    assert [c["name"] for c in page.context.cookies() if c["name"] == "lf_probe"] == []
