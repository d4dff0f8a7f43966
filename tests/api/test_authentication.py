"""Who may read the API: a signed-in user or a Bearer token, of a role that may see leads."""

from __future__ import annotations

import pytest

from leadflow.api.models import ApiToken, token_hash
from stages.models import Stage
from tests.factories import lead_at


@pytest.mark.parametrize("persona", ["marketer", "sdr", "ae", "admin"])
def test_every_role_may_read_leads_with_a_bearer_token(db, client, personas, persona):
    lead = lead_at(Stage.LEAD, email="ann@example.com")
    token = ApiToken.issue(user=personas[persona], name="script")

    response = client.get(
        "/api/v1/leads/", {"email": "ann@example.com"}, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200
    assert [found["id"] for found in response.json()["results"]] == [lead.pk]


def test_a_token_is_stored_only_as_its_hash_and_notes_its_last_use(db, client, sdr):
    token = ApiToken.issue(user=sdr)
    stored = ApiToken.objects.get()
    assert token.startswith("lf_")
    assert stored.key_hash == token_hash(token) != token
    assert stored.last_used_at is None

    client.get("/api/v1/leads/", headers={"Authorization": f"Bearer {token}"})

    stored.refresh_from_db()
    assert stored.last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["Bearer lf_not-a-real-token", "Bearer ", "Token abc", "Basic dXNlcjpwYXNz", "lf_abc"],
)
def test_a_bad_token_is_401(db, client, sdr, header):
    ApiToken.issue(user=sdr)

    response = client.get("/api/v1/leads/", headers={"Authorization": header})

    assert response.status_code == 401
    assert response.json()["error"]


def test_a_bad_token_is_401_even_for_a_signed_in_user(db, client, sdr):
    client.force_login(sdr)

    response = client.get("/api/v1/leads/", headers={"Authorization": "Bearer wrong"})

    assert response.status_code == 401


def test_the_token_of_a_deactivated_user_is_401(db, client, sdr):
    token = ApiToken.issue(user=sdr)
    sdr.is_active = False
    sdr.save()

    response = client.get("/api/v1/leads/", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/leads/", "/api/v1/leads/1/"])
def test_anonymous_is_401(db, client, path):
    response = client.get(path)

    assert response.status_code == 401
    assert response.json() == {"error": "authentication required"}


@pytest.mark.parametrize("how", ["session", "token"])
def test_a_user_without_a_role_is_403(db, client, outsider, how):
    lead = lead_at(Stage.LEAD)
    headers = {}
    if how == "session":
        client.force_login(outsider)
    else:
        headers["Authorization"] = f"Bearer {ApiToken.issue(user=outsider)}"

    for path in ("/api/v1/leads/", f"/api/v1/leads/{lead.pk}/"):
        response = client.get(path, headers=headers)
        assert response.status_code == 403
        assert response.json() == {"error": "your role may not see leads"}
