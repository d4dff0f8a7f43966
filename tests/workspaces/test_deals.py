"""The AE's deals: win, lose, recycle or hand back, inline."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leadflow.workspaces.views import LIST_SIZE
from stages.models import Lead, Stage, Status
from tests.factories import lead_at

HTMX = {"HTTP_HX_REQUEST": "true"}
DEALS_QUERIES = 7


@pytest.fixture
def other_ae(make_user):
    return make_user("ae2", "ae")


def _do(client, lead, name, data, *, htmx=True):
    url = reverse("lead_do", args=[lead.pk, name])
    return client.post(url, {"from": "deals", **data}, **(HTMX if htmx else {}))


def test_my_deals_lists_active_sqls_next_meeting_first(sdr, ae, other_ae, client_for):
    later = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)
    sooner = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)
    now = timezone.now()
    Lead.objects.filter(pk=sooner.pk).update(meeting_at=now + dt.timedelta(hours=3))
    theirs = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=other_ae)

    # The clock stands still: "in 3h" must not become "in 2h" while the page renders.
    with time_machine.travel(now, tick=False):
        response = client_for(ae).get(reverse("my_deals"))

    html = response.content.decode()
    assert [row["pk"] for row in response.context["deals"]] == [sooner.pk, later.pk]
    assert theirs.contact.email not in html
    assert "in 3h" in html
    assert "</span>sdr</span>" in html  # who booked the meeting


def test_winning_a_deal_makes_a_customer_and_removes_the_row(sdr, ae, client_for):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    response = _do(client_for(ae), lead, "win", {"deal_value": "12500.50"})

    lead.refresh_from_db()
    html = response.content.decode()
    assert response.status_code == 200
    assert (lead.stage, str(lead.deal_value)) == (Stage.CUSTOMER, "12500.50")
    assert lead.transitions.filter(name="win", by=ae).exists()
    assert f'id="row-{lead.pk}"' not in html
    assert 'id="count-deals" hx-swap-oob="true">0<' in html
    assert "Deal won" in html


def test_losing_a_deal_disqualifies_it_as_lost(sdr, ae, client_for):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    response = _do(client_for(ae), lead, "disqualify", {"reason": "lost"})

    lead.refresh_from_db()
    assert response.status_code == 200
    assert (lead.stage, lead.disqualify_reason) == (Stage.DISQUALIFIED, "lost")
    assert "was disqualified: deal lost." in response.content.decode()
    assert lead.transitions.filter(name="disqualify", reason="lost", by=ae).exists()


def test_recycling_a_deal_sends_it_back_to_lead_with_the_reason(sdr, ae, client_for):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    response = _do(client_for(ae), lead, "recycle", {"reason": "not ready this year"})

    lead.refresh_from_db()
    assert response.status_code == 200
    assert (lead.stage, lead.owner) == (Stage.LEAD, None)
    assert lead.transitions.get(name="recycle").reason == "not ready this year"


def test_recycling_without_a_reason_is_refused(sdr, ae, client_for):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    response = _do(client_for(ae), lead, "recycle", {"reason": "   "})

    lead.refresh_from_db()
    assert response.status_code == 400
    assert "Say why" in response.content.decode()
    assert lead.stage == Stage.SQL


def test_handing_back_returns_the_lead_to_its_sdr(sdr, ae, client_for):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    response = _do(client_for(ae), lead, "hand_back", {"reason": "no-show twice"})

    lead.refresh_from_db()
    assert response.status_code == 200
    assert (lead.status, lead.owner) == (Status.CONTACT_ATTEMPT, sdr)
    assert lead.transitions.get(name="hand_back").reason == "no-show twice"
    work = client_for(sdr).get(reverse("my_work"))
    assert lead.pk in [row["pk"] for row in work.context["sections"][3]["rows"]]


def test_a_negative_deal_value_is_refused(sdr, ae, client_for):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    response = _do(client_for(ae), lead, "win", {"deal_value": "-5"})

    lead.refresh_from_db()
    assert response.status_code == 400
    assert "greater than or equal to 0" in response.content.decode()
    assert lead.stage == Stage.SQL


def test_sdr_cannot_win_a_deal(sdr, ae, client_for):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    response = _do(client_for(sdr), lead, "win", {"deal_value": "100"})

    lead.refresh_from_db()
    assert response.status_code == 403
    assert lead.stage == Stage.SQL


def test_an_ae_cannot_win_another_aes_deal(sdr, ae, other_ae, client_for):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    response = _do(client_for(other_ae), lead, "win", {"deal_value": "100"})

    lead.refresh_from_db()
    assert response.status_code == 409
    assert "belongs to another rep" in response.content.decode()
    assert lead.stage == Stage.SQL


def test_without_htmx_winning_redirects_back_to_my_deals(sdr, ae, client_for):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    response = _do(client_for(ae), lead, "win", {"deal_value": ""}, htmx=False)

    lead.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == reverse("my_deals")
    assert (lead.stage, lead.deal_value) == (Stage.CUSTOMER, None)


def test_my_deals_costs_the_same_queries_for_5_rows_or_a_full_list(
    sdr, ae, client_for, django_assert_max_num_queries
):
    client = client_for(ae)
    client.get(reverse("my_deals"))
    for _ in range(5):
        lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("my_deals"))
    for _ in range(LIST_SIZE - 5):
        lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    with django_assert_max_num_queries(DEALS_QUERIES):
        response = client.get(reverse("my_deals"))

    assert len(response.context["deals"]) == LIST_SIZE
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("my_deals"))
    assert len(many) == len(few)
