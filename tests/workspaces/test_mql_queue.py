"""The marketer's MQL queue: newest first, filtered by status, paged by a keyset cursor."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from stages.models import Lead, Stage, Status
from stages.selectors import PAGE_SIZE
from tests.factories import lead_at

# Session, user, permissions (2), role, unread notifications, the SDRs with their load, saved
# views, the page.
QUEUE_QUERIES = 9


def _mqls(count: int, owner=None) -> list[Lead]:
    leads = [lead_at(Stage.MQL, owner=owner) for _ in range(count)]
    # Distinct, known MQL times: the newest is the last one made.
    start = timezone.now() - dt.timedelta(hours=count)
    for offset, lead in enumerate(leads):
        Lead.objects.filter(pk=lead.pk).update(became_mql_at=start + dt.timedelta(hours=offset))
    return leads


def test_the_queue_lists_mqls_newest_first_with_their_details(marketer, sdr, client_for):
    older, newer = _mqls(2, owner=sdr)
    lead_at(Stage.LEAD, email="not-an-mql@example.com")

    response = client_for(marketer).get(reverse("mql_queue"))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index(newer.contact.email) < html.index(older.contact.email)
    assert "not-an-mql@example.com" not in html
    assert reverse("lead_detail", args=[newer.pk]) in html
    assert newer.contact.company in html
    assert "sdr" in html


def test_the_queue_filters_by_status(marketer, sdr, client_for):
    lead_at(Stage.MQL, owner=sdr, email="open@example.com")
    lead_at(Stage.MQL, Status.NURTURING, owner=sdr, email="nurtured@example.com")

    response = client_for(marketer).get(reverse("mql_queue"), {"status": Status.NURTURING})

    assert b"nurtured@example.com" in response.content
    assert b"open@example.com" not in response.content


def test_an_unknown_status_filter_is_an_error_and_the_list_ignores_it(marketer, sdr, client_for):
    lead_at(Stage.MQL, owner=sdr, email="open@example.com")

    response = client_for(marketer).get(reverse("mql_queue"), {"status": "bogus"})

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert b"open@example.com" in response.content


def test_the_next_page_link_continues_after_the_last_row(marketer, client_for):
    leads = _mqls(PAGE_SIZE + 3)
    client = client_for(marketer)

    first = client.get(reverse("mql_queue"))
    cursor = first.context["page"].next_cursor
    second = client.get(reverse("mql_queue"), {"after": cursor})

    first_ids = [row["pk"] for row in first.context["page"].items]
    second_ids = [row["pk"] for row in second.context["page"].items]
    assert len(first_ids) == PAGE_SIZE
    assert second_ids == [lead.pk for lead in reversed(leads[:3])]
    assert not set(first_ids) & set(second_ids)
    assert 'rel="next"' in first.content.decode()
    assert f"after={cursor}" in first.content.decode()  # URL-safe as it is


def test_a_garbled_cursor_shows_the_first_page_instead_of_an_error(marketer, client_for):
    _mqls(2)

    response = client_for(marketer).get(reverse("mql_queue"), {"after": "yesterday_x"})

    assert response.status_code == 200
    assert len(response.context["page"].items) == 2


def test_an_empty_queue_says_so(marketer, client_for):
    response = client_for(marketer).get(reverse("mql_queue"))

    assert b"No MQLs" in response.content


def test_the_queue_costs_the_same_queries_for_5_or_30_rows(
    marketer, sdr, client_for, django_assert_max_num_queries
):
    client = client_for(marketer)
    client.get(reverse("mql_queue"))  # warm the cached stage rules and permissions
    _mqls(5, owner=sdr)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("mql_queue"))
    _mqls(25, owner=sdr)

    with django_assert_max_num_queries(QUEUE_QUERIES):
        response = client.get(reverse("mql_queue"))

    assert len(response.context["page"].items) == 30
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("mql_queue"))
    assert len(many) == len(few)
