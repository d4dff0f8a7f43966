"""The lead page shows where the lead came from: first and last touch, as tracking recorded them."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from leadflow.tracking.activity import activity_fold, activity_pending
from leadflow.tracking.services import events_ingest
from stages.models import Lead, Stage
from tests.factories import lead_at


def _visit(write_key, message_id: str, at: dt.datetime, **context) -> dict:
    return {
        "type": "page",
        "messageId": message_id,
        "anonymousId": "ada-laptop",
        "timestamp": at.isoformat(),
        "context": context,
    }


def _ingest(write_key, *messages: dict) -> None:
    """The tracking API's ingest, then the scoring worker's fold of what it told of the lead."""
    events_ingest(source=write_key, raws=list(messages), received_at=timezone.now())
    activity_fold(activity_pending(limit=100))


def test_the_lead_page_shows_first_and_last_touch_with_landing_page_and_referrer(
    db, write_key, marketer, client_for
):
    start = timezone.now() - dt.timedelta(days=3)
    _ingest(
        write_key,
        _visit(
            write_key,
            "m1",
            start,
            page={
                "url": "https://www.example.com/pricing?utm_source=newsletter",
                "referrer": "https://mail.example.net/",
            },
            campaign={"source": "newsletter", "medium": "email", "name": "spring-launch"},
        ),
        _visit(
            write_key,
            "m2",
            start + dt.timedelta(days=1),
            page={"url": "https://www.example.com/docs", "referrer": "https://www.google.com/"},
        ),
        {
            "type": "identify",
            "messageId": "m3",
            "anonymousId": "ada-laptop",
            "traits": {"email": "ada@example.com"},
        },
    )
    lead = Lead.objects.get()

    response = client_for(marketer).get(reverse("lead_detail", args=[lead.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert [touch.label for touch in response.context["attribution"]] == [
        "First touch",
        "Last touch",
    ]
    first, last = response.context["attribution"]
    assert (first.source, first.medium, first.campaign) == ("newsletter", "email", "spring-launch")
    assert first.landing_page == "https://www.example.com/pricing?utm_source=newsletter"
    assert first.referrer == "https://mail.example.net/"
    assert (last.source, last.medium, last.campaign) == ("google", "organic", "")
    assert last.landing_page == "https://www.example.com/docs"
    for value in (
        "Attribution",
        "spring-launch",
        "newsletter",
        "organic",
        "https://www.example.com/docs",
        "https://mail.example.net/",
    ):
        assert value in html


def test_values_sent_by_a_website_are_escaped_on_the_lead_page(db, write_key, marketer, client_for):
    hostile = '<script>alert("x")</script>'
    _ingest(
        write_key,
        _visit(
            write_key,
            "m1",
            timezone.now() - dt.timedelta(hours=1),
            page={"url": f"https://www.example.com/?q={hostile}", "referrer": f"https://{hostile}"},
            campaign={"source": hostile, "medium": "<b>cpc</b>", "name": "<img src=x onerror=1>"},
        ),
        {
            "type": "identify",
            "messageId": "m2",
            "anonymousId": "ada-laptop",
            "traits": {"email": "ada@example.com"},
        },
    )
    lead = Lead.objects.get()
    assert lead.first_touch_source == hostile

    html = client_for(marketer).get(reverse("lead_detail", args=[lead.pk])).content.decode()

    assert "<script>alert" not in html
    assert "<b>cpc</b>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;b&gt;cpc&lt;/b&gt;" in html


def test_a_lead_without_any_touch_says_so(db, marketer, client_for):
    lead = lead_at(Stage.LEAD)

    response = client_for(marketer).get(reverse("lead_detail", args=[lead.pk]))

    assert response.context["attribution"] == []
    assert "No visit has told where this lead came from yet." in response.content.decode()


def test_a_touch_without_its_event_still_shows_source_medium_and_campaign(db, marketer, client_for):
    # Attribution loaded by another tool, or an event since deleted: no landing page to show.
    lead = lead_at(Stage.LEAD)
    at = timezone.now() - dt.timedelta(days=1)
    Lead.objects.filter(pk=lead.pk).update(
        first_touch_source="linkedin",
        first_touch_medium="paid-social",
        first_touch_campaign="q3-abm",
        first_touch_at=at,
        last_touch_source="direct",
        last_touch_medium="none",
        last_touch_at=at,
    )

    response = client_for(marketer).get(reverse("lead_detail", args=[lead.pk]))

    first, last = response.context["attribution"]
    assert (first.source, first.campaign, first.landing_page) == ("linkedin", "q3-abm", "")
    assert (last.source, last.medium) == ("direct", "none")
    assert "paid-social" in response.content.decode()
