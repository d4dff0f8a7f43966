"""First and last touch on the lead: set by the ingest from UTM fields and referrers."""

from __future__ import annotations

import datetime as dt

from stages.models import Lead
from tests.activity import folded

from .messages import identify, message_id, page, typed

SITE = "https://www.shop.example"
T0 = dt.datetime(2030, 3, 1, 9, 0, tzinfo=dt.UTC)


def _at(hours: float) -> str:
    return (T0 + dt.timedelta(hours=hours)).isoformat()


def _visit(anonymous_id: str, hours: float, *, referrer: str = "", path: str = "/", **campaign):
    context = {"page": {"url": f"{SITE}{path}", "referrer": referrer}}
    if campaign:
        context["campaign"] = campaign
    return typed(
        "page", page(anonymous_id, url=f"{SITE}{path}", context=context, timestamp=_at(hours))
    )


def _touches(lead: Lead) -> tuple:
    folded(lead)
    return (
        (lead.first_touch_source, lead.first_touch_medium, lead.first_touch_campaign),
        (lead.last_touch_source, lead.last_touch_medium, lead.last_touch_campaign),
    )


def _identified(send, anonymous_id: str = "anon-1", hours: float = 5) -> Lead:
    message = {**identify("ann@example.com", anonymous_id), "timestamp": _at(hours)}
    assert send("/v1/identify", message).status_code == 200
    return Lead.objects.get()


def test_the_anonymous_history_gives_the_first_touch_at_identify(db, send):
    send("/v1/batch", {"batch": [_visit("anon-1", 0, referrer="https://www.google.com/")]})
    send("/v1/batch", {"batch": [_visit("anon-1", 1, referrer=f"{SITE}/", path="/pricing")]})

    lead = _identified(send)

    assert _touches(lead) == (("google", "organic", ""), ("google", "organic", ""))
    assert lead.first_touch_at == T0
    assert lead.last_touch_at == T0


def test_a_later_campaign_visit_is_the_last_touch_and_the_first_stays(db, send):
    send("/v1/batch", {"batch": [_visit("anon-1", 0, referrer="https://www.google.com/")]})
    lead = _identified(send)

    send(
        "/v1/batch",
        {"batch": [_visit("anon-1", 24, source="newsletter", medium="email", name="spring")]},
    )

    assert _touches(lead) == (("google", "organic", ""), ("newsletter", "email", "spring"))
    assert lead.last_touch_at == T0 + dt.timedelta(hours=24)


def test_a_referral_from_another_site_is_named_by_its_domain(db, send):
    lead = _identified(send)

    send("/v1/batch", {"batch": [_visit("anon-1", 6, referrer="https://www.partner.example/x")]})

    assert _touches(lead)[1] == ("partner.example", "referral", "")


def test_a_visitor_with_no_referrer_came_direct(db, send):
    send("/v1/batch", {"batch": [_visit("anon-1", 0)]})

    lead = _identified(send)

    assert _touches(lead) == (("direct", "none", ""), ("direct", "none", ""))


def test_a_direct_return_does_not_hide_the_campaign_that_brought_them(db, send):
    send("/v1/batch", {"batch": [_visit("anon-1", 0, source="ads", medium="cpc", name="q1")]})
    lead = _identified(send)

    send("/v1/batch", {"batch": [_visit("anon-1", 48)]})

    assert _touches(lead) == (("ads", "cpc", "q1"), ("ads", "cpc", "q1"))


def test_clicks_inside_the_site_change_nothing(db, send):
    send("/v1/batch", {"batch": [_visit("anon-1", 0, referrer="https://www.bing.com/")]})
    lead = _identified(send)

    send("/v1/batch", {"batch": [_visit("anon-1", 7, referrer=f"{SITE}/", path="/docs")]})

    assert _touches(lead) == (("bing", "organic", ""), ("bing", "organic", ""))
    assert lead.last_touch_at == T0


def test_an_earlier_event_that_arrives_late_becomes_the_first_touch(db, send):
    lead = _identified(send, hours=10)
    send("/v1/batch", {"batch": [_visit("anon-1", 12, referrer="https://www.google.com/")]})

    # A phone that was offline delivers its older visit now.
    send("/v1/batch", {"batch": [_visit("anon-1", 2, source="podcast", medium="audio")]})

    assert _touches(lead) == (("podcast", "audio", ""), ("google", "organic", ""))
    assert lead.first_touch_at == T0 + dt.timedelta(hours=2)


def test_backend_calls_without_a_page_leave_the_attribution_alone(db, send):
    send("/v1/batch", {"batch": [_visit("anon-1", 0, referrer="https://www.google.com/")]})
    lead = _identified(send)

    send("/v1/track", {"messageId": message_id(), "anonymousId": "anon-1", "event": "Invoice Paid"})

    assert _touches(lead) == (("google", "organic", ""), ("google", "organic", ""))


def test_one_batch_with_visits_and_identify_sets_both_touches(db, send):
    batch = [
        _visit("anon-1", 0, referrer="https://duckduckgo.com/"),
        _visit("anon-1", 1, referrer=f"{SITE}/"),
        typed("identify", {**identify("ann@example.com", "anon-1"), "timestamp": _at(2)}),
        _visit("anon-1", 3, source="webinar", medium="email", name="may"),
    ]

    send("/v1/batch", {"batch": batch})

    lead = Lead.objects.get()
    assert _touches(lead) == (("duckduckgo", "organic", ""), ("webinar", "email", "may"))


def test_an_identified_visitor_on_a_second_device_brings_that_devices_history(db, send):
    send("/v1/batch", {"batch": [_visit("laptop", 5, source="ads", medium="cpc")]})
    lead = _identified(send, "laptop", hours=6)
    send("/v1/batch", {"batch": [_visit("phone", 1, referrer="https://www.google.com/")]})

    send("/v1/identify", {**identify("ann@example.com", "phone"), "timestamp": _at(7)})

    assert _touches(lead) == (("google", "organic", ""), ("ads", "cpc", ""))


def test_replaying_events_changes_no_touch(db, send):
    visit = _visit("anon-1", 0, referrer="https://www.google.com/")
    send("/v1/batch", {"batch": [visit]})
    lead = _identified(send)
    later = _visit("anon-1", 9, source="ads", medium="cpc")
    send("/v1/batch", {"batch": [later]})
    before = _touches(lead)

    send("/v1/batch", {"batch": [visit, later]})

    assert _touches(lead) == before


def test_leads_loaded_without_the_ingest_get_their_touches_from_the_command(db, write_key):
    from io import StringIO

    from django.core.management import call_command

    from leadflow.people.models import Contact
    from leadflow.tracking.models import Event

    def event(lead: Lead, hours: float, context: dict) -> Event:
        at = T0 + dt.timedelta(hours=hours)
        return Event(
            source=write_key, message_id=message_id(), type="page", lead=lead,
            url=f"{SITE}/", context=context, occurred_at=at, received_at=at,
        )  # fmt: skip

    leads = [
        Lead.objects.create(contact=Contact.objects.create(email=f"p{n}@x.co")) for n in range(3)
    ]
    Event.objects.bulk_create(
        [
            event(leads[0], 0, {"page": {"url": f"{SITE}/", "referrer": "https://www.bing.com/"}}),
            event(leads[0], 5, {"campaign": {"source": "ads", "medium": "cpc", "name": "x"}}),
            event(leads[0], 9, {"page": {"url": f"{SITE}/", "referrer": ""}}),
            event(leads[1], 1, {"page": {"url": f"{SITE}/", "referrer": f"{SITE}/a"}}),
            event(leads[2], 2, {"page": {"url": f"{SITE}/", "referrer": "https://hn.example/"}}),
        ]
    )

    for _ in range(2):  # a second run changes nothing
        out = StringIO()
        call_command("attribution", stdout=out)
        assert out.getvalue().startswith("2 leads")

    assert _touches(leads[0]) == (("bing", "organic", ""), ("ads", "cpc", "x"))
    assert _touches(leads[1]) == (("", "", ""), ("", "", ""))
    assert _touches(leads[2])[0] == ("hn.example", "referral", "")
    assert leads[0].last_event_at is None


def test_the_backfill_writes_leads_in_chunks(db, write_key):
    from leadflow.people.models import Contact
    from leadflow.tracking.models import Event
    from leadflow.tracking.services import leads_attribute

    leads = [
        Lead.objects.create(contact=Contact.objects.create(email=f"c{n}@x.co")) for n in range(7)
    ]
    context = {"page": {"url": f"{SITE}/", "referrer": "https://www.google.com/"}}
    Event.objects.bulk_create(
        [
            Event(
                source=write_key,
                message_id=message_id(),
                type="page",
                lead=lead,
                context=context,
                occurred_at=T0 + dt.timedelta(hours=n),
                received_at=T0,
            )
            for lead in leads
            for n in range(3)
        ]
    )

    assert leads_attribute(chunk=2) == 7
    assert all(_touches(lead)[0] == ("google", "organic", "") for lead in leads)
    assert {lead.last_touch_at for lead in leads} == {T0 + dt.timedelta(hours=2)}
