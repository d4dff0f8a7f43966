"""Bodies are read fast (orjson) and exactly as the standard json module reads them."""

from __future__ import annotations

import json

import pytest

from leadflow.tracking.models import Event

from .messages import page


@pytest.mark.parametrize(
    "value",
    [2**63 - 1, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30, -(10**25), 1.5, -0.5],
)
def test_numbers_are_stored_exactly_as_sent(db, send, value):
    message = page(properties={"n": value, "url": "https://x.test/"})

    assert send("/v1/page", message).status_code == 200

    assert Event.objects.get().properties["n"] == value
    assert type(Event.objects.get().properties["n"]) is type(value)


def test_a_body_with_a_byte_order_mark_is_read_as_before(db, send):
    raw = b"\xef\xbb\xbf" + json.dumps(page()).encode()

    assert send("/v1/page", None, raw=raw).status_code == 200


def test_a_long_digit_string_is_text_not_a_number(db, send):
    message = page(properties={"order": "12345678901234567890123"})

    send("/v1/page", message)

    assert Event.objects.get().properties["order"] == "12345678901234567890123"
