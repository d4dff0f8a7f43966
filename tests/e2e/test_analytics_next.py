"""Segment's own browser library, @segment/analytics-next, delivers to leadflow from another site.

Its UMD bundle (vendored, static/vendor/analytics-next/) runs in a page of another origin in
Chromium, given its settings inline so that it asks no CDN, with the Segment.io integration's
apiHost pointed at leadflow. It sends text/plain bodies with Basic auth to the short paths
(/v1/p, /v1/i, /v1/t): CORS with a preflight, as on any real website.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from leadflow.tracking.models import Event
from stages.models import Lead, Stage

from .helpers import wait_for
from .second_origin import OtherSite, other_site

pytestmark = [pytest.mark.browser]

LOOPBACK = {"127.0.0.1", "localhost"}

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Acme with Segment</title>
<script src="{leadflow}/static/vendor/analytics-next/index.js"></script>
<script>
  window.analytics = AnalyticsNext.AnalyticsBrowser.load({{
    writeKey: "{key}",
    cdnSettings: {{
      integrations: {{
        "Segment.io": {{apiKey: "{key}", apiHost: "{api_host}/v1", protocol: "http"}}
      }},
      // No metrics: they would go to Segment's own API.
      metrics: {{sampleRate: 0}}
    }}
  }});
</script></head>
<body><h1>Acme</h1></body></html>
"""

SEND = """async () => {
  const contexts = [
    await analytics.page(),
    await analytics.identify("user-ada", {
      email: "Ada@Example.com", firstName: "Ada", lastName: "Lovelace",
      company: "Analytical Engines Ltd", title: "Head of Operations"
    }),
    await analytics.track("Whitepaper Downloaded", {title: "The lead lifecycle"}),
  ];
  return contexts.map((ctx) => {
    const failure = ctx.failedDelivery();
    return failure ? String(failure.reason) : null;
  });
}"""


@pytest.fixture
def site() -> Iterator[OtherSite]:
    with other_site() as site:
        yield site


def test_analytics_next_delivers_page_identify_and_track_exactly_once(
    live_server, transactional_db, write_key, page, site
):
    api_host = urlsplit(live_server.url).netloc
    site.pages["/"] = PAGE.format(leadflow=live_server.url, key=write_key.key, api_host=api_host)

    # Nothing may leave this machine: no CDN settings, no lazy chunk, no metrics.
    outside: list[str] = []
    posts: list[tuple[str, str]] = []

    def guard(route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.context.route("**/*", guard)
    page.on(
        "request",
        lambda request: (
            request.method == "POST"
            and posts.append((urlsplit(request.url).path, request.headers.get("content-type", "")))
        ),
    )
    page.goto(f"{site.url}/")
    page.wait_for_function("window.AnalyticsNext && window.analytics")
    failures = page.evaluate(SEND)
    assert failures == [None, None, None]

    lead = wait_for(
        lambda: (
            Lead.objects.filter(contact__email="ada@example.com").select_related("contact").first()
        ),
        what="the lead identified by analytics-next",
    )
    wait_for(lambda: Event.objects.count() == 3, what="the three events")
    events = {e.type: e for e in Event.objects.all()}
    assert set(events) == {"page", "identify", "track"}
    assert len({e.message_id for e in events.values()}) == 3
    assert all(e.source_id == write_key.pk for e in events.values())
    # The anonymous page view came before identify; it is the lead's now, like the rest.
    assert {e.lead_id for e in events.values()} == {lead.pk}
    assert events["page"].url == f"{site.url}/"
    assert events["page"].context["page"]["title"] == "Acme with Segment"
    assert events["page"].context["library"]["name"] == "analytics.js"
    assert events["track"].name == "Whitepaper Downloaded"
    assert events["track"].user_id == "user-ada"
    anonymous_ids = {e.anonymous_id for e in events.values()}
    assert len(anonymous_ids) == 1 and "" not in anonymous_ids

    contact = lead.contact
    assert (contact.user_id, contact.first_name, contact.company, contact.job_title) == (
        "user-ada",
        "Ada",
        "Analytical Engines Ltd",
        "Head of Operations",
    )
    assert lead.stage == Stage.LEAD

    # One request per event, no retry, to the short paths with text/plain bodies.
    assert sorted(posts) == sorted((f"/v1/{path}", "text/plain") for path in ("p", "i", "t"))
    assert outside == []
