"""The MQL queue's tools: filters and orders, the summary strip, saved views, bulk actions."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from leadflow.workspaces.models import SavedView
from stages.models import Lead, LeadTransition, Stage, StageRules, Status
from stages.selectors import PAGE_SIZE
from tests.factories import lead_at


@pytest.fixture(autouse=True)
def _fresh_summary():
    cache.clear()


def _emails(response) -> list[str]:
    emails = dict(Lead.objects.values_list("pk", "contact__email"))
    return [emails[row["pk"]] for row in response.context["page"].items]


def _mql(email: str, **fields) -> Lead:
    lead = lead_at(Stage.MQL, email=email)
    if fields:
        Lead.objects.filter(pk=lead.pk).update(**fields)
    return lead


def test_filters_by_owner_source_campaign_and_score_band(marketer, sdr, other_sdr, client_for):
    threshold = StageRules.current().mql_threshold
    _mql("a@example.com", owner=sdr, first_touch_source="google", score=threshold + 45)
    _mql("b@example.com", owner=other_sdr, first_touch_campaign="webinar", score=threshold + 5)
    _mql("c@example.com", owner=None, first_touch_source="google", score=threshold + 25)
    client = client_for(marketer)

    def emails(**query) -> set[str]:
        response = client.get(reverse("mql_queue"), query)
        assert response.status_code == 200, response.context["form"].errors
        return set(_emails(response))

    assert emails(owner=str(sdr.pk)) == {"a@example.com"}
    assert emails(owner="none") == {"c@example.com"}
    assert emails(source="google") == {"a@example.com", "c@example.com"}
    assert emails(campaign="webinar") == {"b@example.com"}
    assert emails(band="a") == {"a@example.com"}
    assert emails(band="b") == {"c@example.com"}
    assert emails(band="c") == {"b@example.com"}
    assert emails(source="google", band="b") == {"c@example.com"}


def test_filters_by_the_day_it_became_an_mql(marketer, client_for):
    now = timezone.now()
    _mql("old@example.com", became_mql_at=now - dt.timedelta(days=10))
    _mql("new@example.com", became_mql_at=now)
    today = timezone.localdate()
    client = client_for(marketer)

    recent = client.get(reverse("mql_queue"), {"mql_from": str(today - dt.timedelta(days=2))})
    older = client.get(reverse("mql_queue"), {"mql_to": str(today - dt.timedelta(days=5))})

    assert _emails(recent) == ["new@example.com"]
    assert _emails(older) == ["old@example.com"]


def test_a_backwards_date_range_is_a_form_error(marketer, client_for):
    _mql("x@example.com")

    response = client_for(marketer).get(
        reverse("mql_queue"), {"mql_from": "2026-05-10", "mql_to": "2026-05-01"}
    )

    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()


def test_a_malformed_date_is_a_form_error_not_a_500(marketer, client_for):
    response = client_for(marketer).get(reverse("mql_queue"), {"mql_from": "yesterday'--"})

    html = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid date." in html
    assert (
        '<input type="date" name="mql_from" value="yesterday&#x27;--" '
        'aria-describedby="id_mql_from_error" aria-invalid="true" id="id_mql_from">'
    ) in html


def test_the_filters_show_what_was_chosen(marketer, sdr, client_for):
    response = client_for(marketer).get(
        reverse("mql_queue"), {"status": "open", "owner": sdr.pk, "source": 'a"b'}
    )

    html = response.content.decode()
    assert '<option value="open" selected>Open</option>' in html
    assert f'<option value="{sdr.pk}" selected>sdr</option>' in html
    assert '<option value="" selected>Any score</option>' in html
    assert '<input type="text" name="source" value="a&quot;b" id="id_source"' in html
    assert '<select name="status" data-autosubmit="" id="id_status">' in html


def test_sorting_by_score_pages_through_ties_without_gaps_or_repeats(marketer, client_for):
    leads = [_mql(f"p{n}@example.com", score=100 + n % 3) for n in range(PAGE_SIZE + 7)]
    client = client_for(marketer)

    first = client.get(reverse("mql_queue"), {"sort": "score"})
    cursor = first.context["page"].next_cursor
    second = client.get(reverse("mql_queue"), {"sort": "score", "after": cursor})

    seen = [row["pk"] for row in first.context["page"].items + second.context["page"].items]
    expected = sorted(
        leads, key=lambda lead: (-(100 + int(lead.contact.email[1:].split("@")[0]) % 3), -lead.pk)
    )
    assert seen == [lead.pk for lead in expected]
    assert "sort=score&amp;after=" in first.content.decode()


def test_oldest_first_order(marketer, client_for):
    now = timezone.now()
    _mql("newer@example.com", became_mql_at=now)
    _mql("older@example.com", became_mql_at=now - dt.timedelta(hours=3))

    response = client_for(marketer).get(reverse("mql_queue"), {"sort": "oldest"})

    assert _emails(response) == ["older@example.com", "newer@example.com"]


def test_the_summary_strip_compares_this_week_with_last(marketer, client_for):
    # Wednesday: Monday and Tuesday are this week.
    with time_machine.travel(dt.datetime(2026, 3, 11, 12, tzinfo=dt.UTC), tick=False):
        for days_ago, becomes_sql in [(1, True), (2, False), (8, True), (9, False), (10, False)]:
            at = timezone.now() - dt.timedelta(days=days_ago)
            lead = _mql(f"d{days_ago}@example.com", became_lead_at=at, became_mql_at=at)
            if becomes_sql:
                Lead.objects.filter(pk=lead.pk).update(became_sql_at=at)
        response = client_for(marketer).get(reverse("mql_queue"))

    summary = response.context["summary"]
    # Last week is Monday 2 to Sunday 8: 8 and 9 days ago; 10 days ago is the week before.
    assert (summary.leads_this_week, summary.leads_last_week) == (2, 2)
    assert (summary.mqls_this_week, summary.mqls_last_week) == (2, 2)
    assert summary.mql_to_sql == pytest.approx(2 / 5)
    assert "40%" in response.content.decode()


def test_a_saved_view_keeps_the_filters_and_is_its_owners_alone(
    marketer, make_user, sdr, client_for
):
    _mql("mine@example.com", owner=sdr)
    _mql("free@example.com", owner=None)
    client = client_for(marketer)

    saved = client.post(
        reverse("saved_view_create"), {"name": "Unassigned", "query": "owner=none&sort=oldest"}
    )

    view = SavedView.objects.get(user=marketer)
    assert saved.status_code == 302 and view.query == "owner=none&sort=oldest"
    page = client.get(reverse("mql_queue"))
    assert f'href="?{view.query.replace("&", "&amp;")}"' in page.content.decode()
    assert _emails(client.get(reverse("mql_queue") + "?" + view.query)) == ["free@example.com"]

    other = make_user("marketer2", "marketer")
    assert client_for(other).post(reverse("saved_view_delete", args=[view.pk])).status_code == 404
    assert client.post(reverse("saved_view_delete", args=[view.pk])).status_code == 302
    assert not SavedView.objects.exists()


def test_a_view_with_bad_filters_is_not_saved(marketer, client_for):
    response = client_for(marketer).post(
        reverse("saved_view_create"), {"name": "Broken", "query": "band=zzz"}, follow=True
    )

    assert not SavedView.objects.exists()
    assert "The view was not saved" in response.content.decode()


def test_bulk_assign_to_a_named_sdr(marketer, sdr, other_sdr, client_for):
    leads = [_mql(f"b{n}@example.com", owner=sdr) for n in range(3)]

    response = client_for(marketer).post(
        reverse("mql_bulk"),
        {"leads": [lead.pk for lead in leads], "action": "assign", "owner": other_sdr.pk},
        follow=True,
    )

    assert set(Lead.objects.values_list("owner", flat=True)) == {other_sdr.pk}
    assert "Assign: 3 leads done." in response.content.decode()


def test_bulk_recycle_needs_a_reason_and_then_records_it(marketer, client_for):
    leads = [_mql(f"r{n}@example.com") for n in range(2)]
    client = client_for(marketer)
    data = {"leads": [lead.pk for lead in leads], "action": "recycle"}

    refused = client.post(reverse("mql_bulk"), data, follow=True)
    assert "Say why these leads go back to nurturing." in refused.content.decode()
    assert set(Lead.objects.values_list("stage", flat=True)) == {Stage.MQL}

    client.post(reverse("mql_bulk"), {**data, "recycle_reason": "students"})
    assert set(Lead.objects.values_list("stage", flat=True)) == {Stage.LEAD}
    reasons = LeadTransition.objects.filter(name="recycle").values_list("reason", flat=True)
    assert list(reasons) == ["students", "students"]


def test_bulk_disqualify_does_the_valid_leads_and_reports_the_rest(marketer, sdr, ae, client_for):
    good = _mql("good@example.com")
    gone = lead_at(Stage.CUSTOMER, owner=sdr, ae=ae, email="won@example.com")

    response = client_for(marketer).post(
        reverse("mql_bulk"),
        {"leads": [good.pk, gone.pk, 999999], "action": "disqualify", "disqualify_reason": "spam"},
        follow=True,
    )

    html = response.content.decode()
    good.refresh_from_db()
    gone.refresh_from_db()
    assert (good.stage, good.disqualify_reason) == (Stage.DISQUALIFIED, "spam")
    assert gone.stage == Stage.CUSTOMER
    assert "Disqualify: 1 lead done." in html
    assert "2 not done" in html and "#999999 no longer exists" in html
    assert f"{escape(gone)}: not possible from stage Customer" in html


def test_bulk_actions_need_the_role(sdr, client_for):
    lead = _mql("x@example.com", owner=sdr)

    response = client_for(sdr).post(
        reverse("mql_bulk"),
        {"leads": [lead.pk], "action": "disqualify", "disqualify_reason": "spam"},
    )

    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_nothing_ticked_is_a_clear_message(marketer, client_for):
    response = client_for(marketer).post(reverse("mql_bulk"), {"action": "assign"}, follow=True)

    assert "Tick at least one lead." in response.content.decode()


def test_the_lead_page_offers_assignment_to_a_marketer(marketer, sdr, other_sdr, client_for):
    lead = _mql("page@example.com", owner=sdr)
    client = client_for(marketer)

    page = client.get(reverse("lead_detail", args=[lead.pk]))
    assert reverse("lead_do", args=[lead.pk, "assign"]) in page.content.decode()

    client.post(reverse("lead_do", args=[lead.pk, "assign"]), {"owner": other_sdr.pk})
    lead.refresh_from_db()
    assert lead.owner == other_sdr
    assert lead.status == Status.OPEN
