"""The tracking API goes past the page middleware, and still behind the security middleware."""

from __future__ import annotations

from django.test.utils import override_settings

from leadflow.tracking.models import Event

from .messages import track


def test_a_call_is_stored_without_a_session_or_csrf_cookie(db, send, client):
    client.cookies["sessionid"] = "whatever"

    response = send("/v1/track", track("Signed Up"))

    assert response.status_code == 200
    assert Event.objects.count() == 1
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_an_unknown_v1_path_is_the_sites_own_404(db, send):
    assert send("/v1/nothing-here", track()).status_code == 404


@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_is_still_sent_to_https(db, send):
    response = send("/v1/track", track())

    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    assert not Event.objects.exists()


@override_settings(SECURE_HSTS_SECONDS=3600)
def test_https_answers_still_carry_hsts(db, send):
    response = send("/v1/track", track(), headers={"X-Forwarded-Proto": "https"})

    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=3600")
