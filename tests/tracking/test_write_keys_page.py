"""Admins create, rotate and revoke write keys at /settings/keys/; no one else may."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from leadflow.tracking.models import Event, RetiredKey, WriteKey
from leadflow.tracking.ratelimit import rate_take

from .messages import basic, page

URL = "/settings/keys/"


@pytest.fixture
def admin_client(client, admin_user) -> Client:
    client.force_login(admin_user)
    return client


def test_an_admin_sees_every_key_with_its_kind_status_and_last_use(db, admin_client, write_key):
    backend = WriteKey.objects.create(name="Billing backend", kind=WriteKey.Kind.BACKEND)
    WriteKey.objects.create(name="Old import", kind="import", revoked_at=timezone.now())
    rate_take(source_id=write_key.pk, events=1)

    response = admin_client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert write_key.key in html and backend.key in html
    assert "Billing backend" in html and "Backend" in html and "Old import" in html
    assert html.count(">Active<") == 2 and "Revoked" in html
    keys = {key.name: key for key in response.context["keys"]}
    assert keys["website"].last_used_at is not None
    assert keys["Billing backend"].last_used_at is None
    assert 'href="/settings/keys/"' in html  # the nav link
    assert list(keys) == ["Billing backend", "website", "Old import"]  # active ones first


@pytest.mark.parametrize("persona", ["marketer", "sdr", "ae", "outsider"])
def test_other_roles_are_refused(db, client, personas, persona):
    client.force_login(personas[persona])

    assert client.get(URL).status_code == 403
    assert client.post(URL, {"name": "x", "kind": "website"}).status_code == 403
    assert not WriteKey.objects.exists()


@pytest.mark.parametrize("persona", ["marketer", "sdr", "ae"])
def test_the_nav_link_is_for_admins_only(db, client, personas, persona):
    client.force_login(personas[persona])

    response = client.get("/", follow=True)

    assert 'href="/settings/keys/"' not in response.content.decode()


def test_an_anonymous_visitor_is_sent_to_log_in(db, client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_an_admin_creates_a_key_for_a_source(db, admin_client, admin_user):
    response = admin_client.post(URL, {"name": "Marketing site", "kind": "website"}, follow=True)

    assert response.status_code == 200
    key = WriteKey.objects.get()
    assert (key.name, key.kind, key.created_by, key.is_active) == (
        "Marketing site",
        "website",
        admin_user,
        True,
    )
    assert "Write key created for Marketing site." in response.content.decode()
    assert Client().post(
        "/v1/page", data=page(), content_type="application/json",
        headers={"Authorization": basic(key.key)},
    ).status_code == 200  # fmt: skip


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"name": "", "kind": "website"}, "name", "Name the source that will use this key."),
        ({"name": "x" * 101, "kind": "website"}, "name", "at most 100 characters"),
        ({"name": "Site", "kind": "carrier-pigeon"}, "kind", "Select a valid choice"),
        ({"name": "WEBSITE", "kind": "backend"}, "name", "An active key already has this name."),
    ],
)
def test_bad_input_is_answered_with_the_form_and_its_errors(
    db, admin_client, write_key, data, field, error
):
    response = admin_client.post(URL, data)

    assert response.status_code == 400
    assert any(error in message for message in response.context["form"].errors[field])
    assert error.split(" (")[0] in response.content.decode().replace("&#x27;", "'")
    assert WriteKey.objects.count() == 1


def test_the_forms_need_a_csrf_token(db, admin_user, write_key):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)

    assert strict.post(URL, {"name": "Site", "kind": "website"}).status_code == 403
    assert strict.post(f"{URL}{write_key.pk}/revoke/").status_code == 403
    assert WriteKey.objects.get().is_active


def test_rotating_gives_a_new_key_and_the_old_one_is_revoked(
    db, admin_client, admin_user, write_key, send
):
    old = write_key.key
    send("/v1/page", page())

    response = admin_client.post(f"{URL}{write_key.pk}/rotate/", follow=True)

    assert response.status_code == 200
    write_key.refresh_from_db()
    assert write_key.key != old and write_key.is_active and write_key.rotated_at
    retired = RetiredKey.objects.get()
    assert (retired.key, retired.source, retired.retired_by) == (old, write_key, admin_user)
    refused = send("/v1/page", page(), key=old)
    assert (refused.status_code, refused.json()["error"]) == (401, "revoked write key")
    assert send("/v1/page", page(), key=write_key.key).status_code == 200
    assert set(Event.objects.values_list("source", flat=True)) == {write_key.pk}


def test_a_retry_after_a_rotation_is_still_deduplicated(db, admin_client, write_key, send):
    message = page()
    send("/v1/page", message)
    admin_client.post(f"{URL}{write_key.pk}/rotate/")
    write_key.refresh_from_db()

    send("/v1/page", message, key=write_key.key)

    assert Event.objects.count() == 1


def test_revoking_a_key_refuses_its_events_and_keeps_the_old_ones(
    db, admin_client, admin_user, write_key, send
):
    send("/v1/page", page())

    response = admin_client.post(f"{URL}{write_key.pk}/revoke/", follow=True)

    assert response.status_code == 200
    write_key.refresh_from_db()
    assert (write_key.is_active, write_key.revoked_by) == (False, admin_user)
    refused = send("/v1/page", page())
    assert (refused.status_code, refused.json()) == (
        401,
        {"success": False, "error": "revoked write key"},
    )
    assert Event.objects.count() == 1


def test_a_revoked_key_cannot_be_rotated_back_to_life(db, admin_client, write_key):
    admin_client.post(f"{URL}{write_key.pk}/revoke/")

    response = admin_client.post(f"{URL}{write_key.pk}/rotate/", follow=True)

    assert "A revoked key cannot be rotated" in response.content.decode()
    assert not WriteKey.objects.get().is_active
    assert not RetiredKey.objects.exists()


@pytest.mark.parametrize("action", ["rotate", "revoke"])
def test_actions_are_post_only_and_need_an_existing_key(db, admin_client, write_key, action):
    assert admin_client.get(f"{URL}{write_key.pk}/{action}/").status_code == 405
    assert admin_client.post(f"{URL}999999/{action}/").status_code == 404


@pytest.mark.parametrize("action", ["rotate", "revoke"])
def test_other_roles_cannot_rotate_or_revoke(db, client, marketer, write_key, action):
    client.force_login(marketer)

    assert client.post(f"{URL}{write_key.pk}/{action}/").status_code == 403
    assert WriteKey.objects.get().key == write_key.key
