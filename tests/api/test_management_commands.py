"""The keys the command line prints are the ones that work."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from leadflow.tracking.models import Event, WriteKey
from stages.models import Stage
from tests.factories import lead_at
from tests.tracking.messages import basic, page


def _last_line(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def test_apitoken_prints_a_token_that_opens_the_api(db, client, ae):
    lead = lead_at(Stage.LEAD, email="ann@example.com")

    token = _last_line("apitoken", "ae")

    response = client.get(f"/api/v1/leads/{lead.pk}/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["email"] == "ann@example.com"


def test_each_apitoken_call_issues_a_new_token(db, ae):
    assert _last_line("apitoken", "ae") != _last_line("apitoken", "ae", "--name", "ci")


def test_apitoken_for_an_unknown_user_fails(db):
    with pytest.raises(CommandError, match="no user called 'ghost'"):
        call_command("apitoken", "ghost", stdout=StringIO())


def test_writekey_create_prints_a_key_that_tracks(db, client):
    key = _last_line("writekey", "create", "Marketing site")

    response = client.post(
        "/v1/track",
        data={"messageId": "m-1", "anonymousId": "a-1", "event": "Signed Up"},
        content_type="application/json",
        headers={"Authorization": basic(key)},
    )

    assert (response.status_code, response.json()) == (200, {"success": True})
    assert Event.objects.get().source == WriteKey.objects.get(name="Marketing site")


def test_writekey_create_with_a_kind_and_list(db, client):
    key = _last_line("writekey", "create", "Backend", "--kind", "backend")

    listing = StringIO()
    call_command("writekey", "list", stdout=listing)

    assert WriteKey.objects.get(key=key).kind == "backend"
    assert listing.getvalue().strip() == f"Backend\tbackend\tactive\t{key}"
    response = client.post(
        "/v1/page",
        data={**page(), "writeKey": key},
        content_type="application/json",
    )
    assert response.status_code == 200
