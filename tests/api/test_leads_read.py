"""The read API of leads: find a lead by email, read one, page through them."""

from __future__ import annotations

import pytest

from stages.models import Stage, Status
from tests.factories import lead_at

FIELDS = {
    "id",
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "stage",
    "status",
    "score",
    "behaviour_score",
    "fit_score",
    "owner",
    "source",
    "created_at",
    "stage_changed_at",
}


@pytest.fixture
def signed_in(client, marketer):
    client.force_login(marketer)
    return client


def test_a_lead_is_found_by_email_whatever_its_case(db, signed_in, sdr):
    lead = lead_at(Stage.MQL, owner=sdr, email="ann@example.com")
    lead_at(Stage.LEAD, email="bob@example.com")

    response = signed_in.get("/api/v1/leads/", {"email": " Ann@Example.COM "})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "next"}
    [found] = body["results"]
    assert set(found) == FIELDS
    assert (found["id"], found["email"], found["stage"], found["status"], found["owner"]) == (
        lead.pk,
        "ann@example.com",
        "mql",
        "open",
        "sdr",
    )
    assert found["score"] == lead.score == 60


def test_an_unknown_email_finds_nothing(db, signed_in):
    lead_at(Stage.LEAD, email="bob@example.com")

    response = signed_in.get("/api/v1/leads/", {"email": "nobody@example.com"})

    assert response.json() == {"results": [], "next": None}


def test_a_lead_is_read_by_its_id(db, signed_in, sdr, ae):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae, email="cy@example.com")

    response = signed_in.get(f"/api/v1/leads/{lead.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == FIELDS
    assert (body["id"], body["email"], body["stage"], body["status"], body["owner"]) == (
        lead.pk,
        "cy@example.com",
        "sql",
        "active",
        "ae",
    )
    assert body["company"] == lead.contact.company


def test_an_unowned_lead_has_no_owner(db, signed_in):
    lead = lead_at(Stage.LEAD)

    assert signed_in.get(f"/api/v1/leads/{lead.pk}/").json()["owner"] is None


def test_an_unknown_id_is_404(db, signed_in):
    response = signed_in.get("/api/v1/leads/999999/")

    assert response.status_code == 404
    assert response.json() == {"error": "no such lead"}


def test_leads_are_filtered_by_stage(db, signed_in, sdr):
    mql = lead_at(Stage.MQL, owner=sdr)
    lead_at(Stage.LEAD)

    body = signed_in.get("/api/v1/leads/", {"stage": "mql"}).json()

    assert [lead["id"] for lead in body["results"]] == [mql.pk]


def test_an_unknown_stage_is_400(db, signed_in):
    response = signed_in.get("/api/v1/leads/", {"stage": "prospect"})

    assert response.status_code == 400
    assert "stage must be one of" in response.json()["error"]


def test_a_bad_cursor_is_400(db, signed_in):
    response = signed_in.get("/api/v1/leads/", {"before": "abc"})

    assert (response.status_code, response.json()) == (400, {"error": "before must be a lead id"})


def test_leads_come_newest_first_a_page_at_a_time(db, signed_in, monkeypatch):
    from leadflow.api import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    ids = [lead_at(Stage.LEAD).pk for _ in range(5)]

    seen, url, pages = [], "/api/v1/leads/", 0
    while url:
        body = signed_in.get(url).json()
        seen += [lead["id"] for lead in body["results"]]
        url = "/api/v1/leads/" + body["next"] if body["next"] else None
        pages += 1

    assert seen == sorted(ids, reverse=True)
    assert pages == 3


def test_the_list_costs_the_same_queries_for_one_lead_or_fifty(
    db, signed_in, sdr, django_assert_max_num_queries
):
    lead_at(Stage.MQL, owner=sdr)
    with django_assert_max_num_queries(5) as one:
        signed_in.get("/api/v1/leads/")
    for _ in range(49):
        lead_at(Stage.MQL, owner=sdr)

    with django_assert_max_num_queries(len(one)):
        body = signed_in.get("/api/v1/leads/").json()
    assert len(body["results"]) == 50


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_api_is_read_only(db, signed_in, method):
    lead = lead_at(Stage.LEAD)

    response = getattr(signed_in, method)(f"/api/v1/leads/{lead.pk}/")

    assert response.status_code == 405
