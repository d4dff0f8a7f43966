"""context.ip: filled from the request as Segment does, the sender's own value kept, and
X-Forwarded-For believed only as far as the proxies the settings trust."""

from __future__ import annotations

import pytest
from django.test.utils import override_settings

from leadflow.tracking.models import Event

from .messages import identify, message_id, page, track, typed


def _ip(message_id_: str) -> object:
    return Event.objects.get(message_id=message_id_).context.get("ip", "<none>")


@pytest.mark.parametrize("path", ["/v1/track", "/v1/t"])
def test_a_call_without_an_ip_gets_the_senders_address(db, send, path):
    message = track("Signed Up")

    send(path, message, remote_addr="198.51.100.7")

    assert _ip(message["messageId"]) == "198.51.100.7"


def test_the_address_joins_the_rest_of_the_context(db, send):
    message = page(context={"page": {"url": "https://www.example.com/"}, "locale": "fr-FR"})

    send("/v1/page", message)

    assert Event.objects.get().context == {
        "page": {"url": "https://www.example.com/"},
        "locale": "fr-FR",
        "ip": "127.0.0.1",
    }


@pytest.mark.parametrize("sent", ["203.0.113.9", "0.0.0.0", None])  # noqa: S104
def test_an_ip_the_sender_gave_is_kept_even_an_opt_out(db, send, sent):
    message = track("Signed Up", context={"ip": sent})

    send("/v1/track", message, remote_addr="198.51.100.7")

    assert _ip(message["messageId"]) == sent


def test_every_message_of_a_batch_gets_the_address_unless_it_or_the_batch_has_one(db, send):
    bare, own = typed("page", page()), typed("page", page(context={"ip": "203.0.113.5"}))
    shared_body = {"batch": [typed("track", track())], "context": {"ip": "192.0.2.1"}}

    send("/v1/batch", {"batch": [bare, own]}, remote_addr="198.51.100.7")
    send("/v1/batch", shared_body, remote_addr="198.51.100.7")

    assert _ip(bare["messageId"]) == "198.51.100.7"
    assert _ip(own["messageId"]) == "203.0.113.5"
    assert _ip(shared_body["batch"][0]["messageId"]) == "192.0.2.1"


def test_identify_and_ipv6_addresses_are_filled_too(db, send):
    message = identify("ann@example.com")

    send("/v1/identify", message, remote_addr="2001:db8::1")

    assert _ip(message["messageId"]) == "2001:db8::1"


def test_x_forwarded_for_is_ignored_when_no_proxy_is_trusted(db, send):
    message = track()

    send(
        "/v1/track",
        message,
        remote_addr="10.0.0.2",
        headers={"X-Forwarded-For": "203.0.113.66"},
    )

    assert _ip(message["messageId"]) == "10.0.0.2"


@override_settings(TRACKING_TRUSTED_PROXIES=1)
def test_behind_one_trusted_proxy_the_address_it_saw_is_the_senders(db, send):
    # The client wrote the first entry itself; the proxy appended the address it saw.
    message = track()

    send(
        "/v1/track",
        message,
        remote_addr="10.0.0.2",
        headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.66"},
    )

    assert _ip(message["messageId"]) == "203.0.113.66"


@override_settings(TRACKING_TRUSTED_PROXIES=2)
def test_behind_two_trusted_proxies_the_farthest_ones_entry_counts(db, send):
    message = track()

    send(
        "/v1/track",
        message,
        remote_addr="10.0.0.2",
        headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.66, 10.0.0.9"},
    )

    assert _ip(message["messageId"]) == "203.0.113.66"


@override_settings(TRACKING_TRUSTED_PROXIES=1)
def test_a_call_that_did_not_pass_the_proxy_is_from_its_peer(db, send):
    message = track()

    send("/v1/track", message, remote_addr="10.0.0.2")

    assert _ip(message["messageId"]) == "10.0.0.2"


@override_settings(TRACKING_TRUSTED_PROXIES=1)
def test_a_forwarded_value_that_is_no_address_is_not_stored(db, send):
    message = {"messageId": message_id(), "anonymousId": "anon-1", "event": "Signed Up"}

    response = send(
        "/v1/track",
        message,
        remote_addr="10.0.0.2",
        headers={"X-Forwarded-For": "<script>alert(1)</script>"},
    )

    assert response.status_code == 200
    assert _ip(message["messageId"]) == "<none>"


def test_the_address_does_not_count_towards_the_message_size_limit(db, send, settings):
    settings.TRACKING_MAX_MESSAGE_BYTES = 1024
    # Just under the limit as sent: the added context.ip must not push it over.
    message = track(properties={"pad": ""})
    message["properties"]["pad"] = "x" * (1024 - 30 - len(_sized(message)))

    response = send("/v1/track", message)

    assert response.status_code == 200, response.content
    assert _ip(message["messageId"]) == "127.0.0.1"


def _sized(message: dict) -> bytes:
    import json

    rest = {k: v for k, v in message.items() if k not in ("properties", "context")}
    texts = [message["properties"], message.get("context"), rest]
    return b"".join(json.dumps(t, separators=(",", ":")).encode() for t in texts)
