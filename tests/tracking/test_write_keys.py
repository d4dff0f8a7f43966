"""Who may send: a live write key, as the Basic-auth user or as `writeKey` in the body."""

from __future__ import annotations

import base64

import pytest
from django.utils import timezone

from leadflow.tracking.models import Event, WriteKey

from .messages import page, typed


def test_basic_auth_with_the_write_key_as_user_is_accepted(db, send):
    assert send("/v1/page", page()).status_code == 200


def test_basic_auth_with_a_password_still_reads_the_user_as_the_key(db, client, write_key):
    token = base64.b64encode(f"{write_key.key}:ignored".encode()).decode()

    response = client.post(
        "/v1/page",
        data=page(),
        content_type="application/json",
        headers={"Authorization": f"Basic {token}"},
    )

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/v1/page", "/v1/batch"])
def test_the_write_key_may_come_in_the_body(db, send, write_key, path):
    body = page() if path == "/v1/page" else {"batch": [typed("page", page())]}

    response = send(path, {**body, "writeKey": write_key.key}, auth=False)

    assert (response.status_code, response.json()) == (200, {"success": True})
    assert Event.objects.get().source == write_key


def test_events_are_stored_under_the_key_that_sent_them(db, send):
    other = WriteKey.objects.create(name="backend", kind=WriteKey.Kind.BACKEND)

    send("/v1/page", page(), key=other.key)

    assert Event.objects.get().source == other


@pytest.mark.parametrize("path", ["/v1/identify", "/v1/track", "/v1/page", "/v1/batch"])
def test_a_wrong_key_is_refused(db, send, path):
    response = send(
        path, {"batch": [typed("page", page())]} if path == "/v1/batch" else page(), key="nope"
    )

    assert response.status_code == 401
    assert response.json() == {"success": False, "error": "invalid or revoked write key"}
    assert not Event.objects.exists()


def test_a_revoked_key_is_refused(db, send, write_key):
    write_key.revoked_at = timezone.now()
    write_key.save()

    response = send("/v1/page", page())

    assert response.status_code == 401
    assert "revoked" in response.json()["error"]
    assert not Event.objects.exists()


def test_a_revoked_key_in_the_body_is_refused_too(db, send, write_key):
    WriteKey.objects.filter(pk=write_key.pk).update(revoked_at=timezone.now())

    response = send("/v1/page", {**page(), "writeKey": write_key.key}, auth=False)

    assert response.status_code == 401


def test_a_missing_key_is_refused_and_says_how_to_send_one(db, send):
    response = send("/v1/track", {"messageId": "m", "anonymousId": "a", "event": "E"}, auth=False)

    assert response.status_code == 401
    assert "write key" in response.json()["error"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "header", ["Basic !!!not-base64", "Basic " + base64.b64encode(b"\xff\xfe").decode()]
)
def test_a_garbled_basic_header_is_refused(db, client, header):
    response = client.post(
        "/v1/page", data=page(), content_type="application/json", headers={"Authorization": header}
    )

    assert response.status_code == 401
    assert response.json()["success"] is False


def test_an_empty_basic_user_falls_back_to_the_body_key(db, client, write_key):
    token = base64.b64encode(b":").decode()

    response = client.post(
        "/v1/page",
        data={**page(), "writeKey": write_key.key},
        content_type="application/json",
        headers={"Authorization": f"Basic {token}"},
    )

    assert response.status_code == 200


def test_the_writekey_command_rotates_and_revokes(db, send, write_key):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("writekey", "rotate", write_key.key, stdout=out)
    new = out.getvalue().strip().splitlines()[-1]

    assert send("/v1/page", page(), key=write_key.key).json()["error"] == "revoked write key"
    assert send("/v1/page", page(), key=new).status_code == 200

    call_command("writekey", "revoke", new, stdout=StringIO())

    assert send("/v1/page", page(), key=new).status_code == 401


def test_no_key_reads_as_a_command_line_option():
    from leadflow.tracking.models import _new_key

    # One token in 64 starts with "-": two thousand would all but surely include some.
    assert not [key for key in (_new_key() for _ in range(2000)) if key.startswith("-")]
