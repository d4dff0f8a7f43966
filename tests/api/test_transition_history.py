"""The transition history of a lead over the API: every step, who made it, and why."""

from __future__ import annotations

import datetime as dt

from leadflow.api.models import ApiToken
from stages.models import Stage
from stages.services import lead_transition
from tests.factories import lead_at


def test_the_history_names_people_by_username_and_keeps_reasons_and_data(db, client, sdr, ae):
    lead = lead_at(Stage.MQL, owner=sdr)
    lead_transition(
        lead=lead,
        name="convert",
        by=sdr,
        meeting_at=dt.datetime(2030, 1, 15, 10, 30, tzinfo=dt.UTC),
        ae=ae,
        reason="demo booked",
    )
    token = ApiToken.issue(user=ae)

    response = client.get(
        f"/api/v1/leads/{lead.pk}/transitions/", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200
    last = response.json()["results"][-1]
    assert {key: last[key] for key in ("name", "field", "source", "target", "by", "reason")} == {
        "name": "convert",
        "field": "stage",
        "source": "mql",
        "target": "sql",
        "by": "sdr",
        "reason": "demo booked",
    }
    assert last["data"] == {
        "meeting_at": "2030-01-15T10:30:00+00:00",
        "ae": ae.pk,
        "status": "active",
    }


def test_the_history_of_an_unknown_lead_is_404(db, client, marketer):
    client.force_login(marketer)

    assert client.get("/api/v1/leads/424242/transitions/").status_code == 404


def test_the_history_needs_authentication(db, client):
    lead = lead_at(Stage.LEAD)

    assert client.get(f"/api/v1/leads/{lead.pk}/transitions/").status_code == 401
