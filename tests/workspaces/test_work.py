"""The SDR's work list and its inline actions, with htmx and without."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leadflow.people.models import Contact
from leadflow.workspaces.views import LIST_SIZE
from stages.models import Attempt, Lead, LeadTransition, Stage, Status
from tests.factories import lead_at

HTMX = {"HTTP_HX_REQUEST": "true"}
WORK_QUERIES = 11  # with the unread-notification count of the top bar


def _do(client, lead, name, data, *, htmx=True, section="open"):
    url = reverse("lead_do", args=[lead.pk, name])
    payload = {"from": "work", "section": section, **data}
    return client.post(url, payload, **(HTMX if htmx else {}))


def _meeting() -> str:
    return (timezone.localtime() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")


def test_the_work_list_shows_each_section_with_only_my_leads(sdr, other_sdr, client_for):
    mine = lead_at(Stage.MQL, owner=sdr, email="mine@example.com")
    trying = lead_at(Stage.MQL, Status.CONTACT_ATTEMPT, owner=sdr, email="trying@example.com")
    sourced = lead_at(Stage.SQL, Status.CONTACT_ATTEMPT, owner=sdr, email="sourced@example.com")
    lead_at(Stage.MQL, owner=other_sdr, email="theirs@example.com")

    response = client_for(sdr).get(reverse("my_work"))

    html = response.content.decode()
    sections = {s["key"]: [row["pk"] for row in s["rows"]] for s in response.context["sections"]}
    assert sections["open"] == [mine.pk]
    assert sections["attempting"] == [trying.pk]
    assert sections["sql_attempting"] == [sourced.pk]
    assert "theirs@example.com" not in html
    assert 'id="rows-nurture_due"' in html


def test_logging_the_first_attempt_moves_the_row_to_contact_attempts(sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)

    response = _do(
        client_for(sdr), lead, "attempt", {"channel": "call", "outcome": "no_answer", "note": "hi"}
    )

    lead.refresh_from_db()
    html = response.content.decode()
    assert response.status_code == 200
    assert lead.status == Status.CONTACT_ATTEMPT
    assert Attempt.objects.get(lead=lead).note == "hi"
    assert lead.transitions.filter(name="start_attempt", by=sdr).exists()
    assert 'hx-swap-oob="afterbegin:#rows-attempting"' in html
    assert f'id="row-{lead.pk}"' in html
    assert "Attempt logged" in html


def test_another_attempt_rerenders_the_row_in_place(sdr, client_for):
    lead = lead_at(Stage.MQL, Status.CONTACT_ATTEMPT, owner=sdr)

    response = _do(
        client_for(sdr),
        lead,
        "attempt",
        {"channel": "email", "outcome": "left_message"},
        section="attempting",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert lead.attempts.count() == 1
    assert html.lstrip().startswith(f'<tr id="row-{lead.pk}"')
    assert 'hx-swap-oob="afterbegin' not in html


def test_bad_timing_nurtures_the_lead_and_removes_the_row(sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)
    follow_up = timezone.localdate() + dt.timedelta(days=14)

    response = _do(
        client_for(sdr),
        lead,
        "nurture",
        {"follow_up_on": follow_up.isoformat(), "reason": "budget in Q3"},
    )

    lead.refresh_from_db()
    html = response.content.decode()
    assert response.status_code == 200
    assert (lead.status, lead.follow_up_on) == (Status.NURTURING, follow_up)
    assert lead.transitions.get(name="nurture").reason == "budget in Q3"
    assert f'id="row-{lead.pk}"' not in html
    assert 'id="count-open" hx-swap-oob="true">0<' in html


def test_booking_a_meeting_on_an_mql_converts_it_to_an_sql_for_the_ae(sdr, ae, client_for):
    lead = lead_at(Stage.MQL, Status.CONTACT_ATTEMPT, owner=sdr)

    response = _do(
        client_for(sdr),
        lead,
        "convert",
        {"meeting_at": _meeting(), "ae": ae.pk},
        section="attempting",
    )

    lead.refresh_from_db()
    assert response.status_code == 200
    assert (lead.stage, lead.status, lead.owner, lead.sdr) == (Stage.SQL, Status.ACTIVE, ae, sdr)
    assert lead.meeting_at is not None
    assert lead.transitions.filter(name="convert", by=sdr).exists()
    assert f'id="row-{lead.pk}"' not in response.content.decode()


def test_booking_a_meeting_on_a_sales_sourced_sql_hands_it_to_the_ae(sdr, ae, client_for):
    lead = lead_at(Stage.SQL, Status.CONTACT_ATTEMPT, owner=sdr)

    response = _do(
        client_for(sdr),
        lead,
        "book_meeting",
        {"meeting_at": _meeting(), "ae": ae.pk},
        section="sql_attempting",
    )

    lead.refresh_from_db()
    assert response.status_code == 200
    assert (lead.status, lead.owner, lead.sdr) == (Status.ACTIVE, ae, sdr)
    assert lead.transitions.filter(name="book_meeting").exists()


def test_disqualifying_takes_a_reason_from_the_list(sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)

    response = _do(client_for(sdr), lead, "disqualify", {"reason": "no_budget"})

    lead.refresh_from_db()
    assert response.status_code == 200
    assert (lead.stage, lead.disqualify_reason) == (Stage.DISQUALIFIED, "no_budget")
    assert lead.transitions.filter(name="disqualify", reason="no_budget").exists()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("attempt", {"channel": "pigeon", "outcome": "no_answer"}, "Select a valid choice"),
        ("nurture", {"follow_up_on": "2001-01-01"}, "Pick a follow-up day after today"),
        ("nurture", {"follow_up_on": "soon"}, "Enter a valid date"),
        ("convert", {"meeting_at": "", "ae": ""}, "This field is required"),
        ("convert", {"meeting_at": "2001-01-01T10:00", "ae": 0}, "must be in the future"),
        ("disqualify", {"reason": "bored"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_a_400_with_the_message_and_changes_nothing(
    name, data, message, sdr, ae, client_for
):
    lead = lead_at(Stage.MQL, owner=sdr)
    before = LeadTransition.objects.filter(lead=lead).count()

    response = _do(client_for(sdr), lead, name, data)

    lead.refresh_from_db()
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html
    assert 'class="toast toast-error' in html
    assert f'<tr id="row-{lead.pk}"' in html
    assert (lead.stage, lead.status) == (Stage.MQL, Status.OPEN)
    assert LeadTransition.objects.filter(lead=lead).count() == before
    assert not lead.attempts.exists()


def test_an_unmet_condition_is_a_409_with_the_reason(sdr, ae, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)
    Contact.objects.filter(pk=lead.contact_id).update(job_title="")  # the person changed jobs

    response = _do(client_for(sdr), lead, "convert", {"meeting_at": _meeting(), "ae": ae.pk})

    lead.refresh_from_db()
    assert response.status_code == 409
    assert "job title missing" in response.content.decode()
    assert lead.stage == Stage.MQL


def test_an_sdr_cannot_act_on_another_sdrs_lead(sdr, other_sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)
    client = client_for(other_sdr)

    attempt = _do(client, lead, "attempt", {"channel": "call", "outcome": "no_answer"})
    disqualify = _do(client, lead, "disqualify", {"reason": "spam"})

    lead.refresh_from_db()
    assert attempt.status_code == disqualify.status_code == 409
    assert "belongs to another rep" in attempt.content.decode()
    assert "belongs to another rep" in disqualify.content.decode()
    assert (lead.stage, lead.status) == (Stage.MQL, Status.OPEN)
    assert not lead.attempts.exists()


def test_a_marketer_may_not_log_attempts(marketer, sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)

    response = _do(
        client_for(marketer), lead, "attempt", {"channel": "call", "outcome": "no_answer"}
    )

    assert response.status_code == 403
    assert not lead.attempts.exists()


def test_without_htmx_an_action_redirects_back_to_the_list(sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)
    client = client_for(sdr)

    response = _do(client, lead, "attempt", {"channel": "call", "outcome": "connected"}, htmx=False)
    page = client.get(response["Location"])

    assert response.status_code == 302
    assert response["Location"] == reverse("my_work")
    assert "Attempt logged" in page.content.decode()
    assert lead.attempts.count() == 1


def test_without_htmx_bad_input_shows_the_list_with_the_form_open(sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)

    response = _do(client_for(sdr), lead, "nurture", {"follow_up_on": ""}, htmx=False)

    html = response.content.decode()
    assert response.status_code == 400
    assert "<h1>My work</h1>" in html
    assert 'aria-invalid="true"' in html
    assert "This field is required" in html


def test_the_action_endpoint_refuses_get_and_unknown_actions(sdr, client_for):
    lead = lead_at(Stage.MQL, owner=sdr)
    client = client_for(sdr)

    assert client.get(reverse("lead_do", args=[lead.pk, "attempt"])).status_code == 405
    assert client.post(reverse("lead_do", args=[lead.pk, "teleport"])).status_code == 404
    assert client.post(reverse("lead_do", args=[999999, "attempt"])).status_code == 404


def test_the_action_endpoint_is_csrf_protected(sdr):
    from django.test import Client

    lead = lead_at(Stage.MQL, owner=sdr)
    client = Client(enforce_csrf_checks=True)
    client.force_login(sdr)

    response = _do(client, lead, "attempt", {"channel": "call", "outcome": "no_answer"})

    assert response.status_code == 403
    assert not lead.attempts.exists()


def _board(sdr, count):
    for _ in range(count):
        lead_at(Stage.MQL, owner=sdr)
        lead_at(Stage.MQL, Status.CONTACT_ATTEMPT, owner=sdr)
        lead_at(Stage.SQL, Status.CONTACT_ATTEMPT, owner=sdr)
    nurtured = [lead_at(Stage.MQL, Status.NURTURING, owner=sdr) for _ in range(count)]
    Lead.objects.filter(pk__in=[lead.pk for lead in nurtured]).update(
        follow_up_on=timezone.localdate()
    )


def test_the_work_list_costs_the_same_queries_for_5_rows_or_a_full_list(
    sdr, ae, client_for, django_assert_max_num_queries
):
    client = client_for(sdr)
    client.get(reverse("my_work"))  # warm the cached stage rules
    _board(sdr, 5)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("my_work"))
    _board(sdr, LIST_SIZE)

    with django_assert_max_num_queries(WORK_QUERIES):
        response = client.get(reverse("my_work"))

    assert all(len(s["rows"]) == LIST_SIZE for s in response.context["sections"])
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("my_work"))
    assert len(many) == len(few)
