"""Random and malformed payloads at every tracking endpoint: never a 5xx, valid ones stored once."""

from __future__ import annotations

import gzip
import json
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.tracking.models import Event

from .messages import basic

SINGLE = [
    *(f"/v1/{kind}" for kind in ("identify", "track", "page", "screen", "group", "alias")),
    *(f"/v1/{letter}" for letter in "itpsga"),
]
PATHS = [*SINGLE, "/v1/batch", "/v1/b"]
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=15,
)
tricky = st.sampled_from(
    [
        "", " ", "\x00", "\ud800", "é" * 3, "x" * 300, "a@b.co", "not an email",
        "2030-01-01T00:00:00Z", "2030-13-45T00:00:00Z", "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59+14:00", "https://www.google.com/", "https://[::1", "page",
        "track", "identify", "alias", "group", "screen",
    ]
)  # fmt: skip
values = json_values | tricky
page_shapes = st.dictionaries(st.sampled_from(["url", "referrer", "search", "path"]), values)
contexts = values | st.fixed_dictionaries(
    {},
    optional={
        "page": page_shapes | values,
        "campaign": st.dictionaries(st.sampled_from(["source", "medium", "name"]), values),
        "traits": values,
    },
)
FIELDS = [
    "type", "messageId", "anonymousId", "userId", "event", "name", "properties", "traits",
    "timestamp", "sentAt", "originalTimestamp", "groupId", "previousId", "writeKey",
    "integrations", "receivedAt",
]  # fmt: skip
messages = st.builds(
    lambda fields, context: {**fields, **({"context": context} if context is not None else {})},
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=10),
    st.none() | contexts,
)


def _post(client, key: str, path: str, body: bytes, *, compress: bool, text_plain: bool):
    headers = {"Authorization": basic(key)}
    if compress:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    content_type = "text/plain" if text_plain else "application/json"
    return client.post(path, data=body, content_type=content_type, headers=headers)


@FUZZ
@given(
    path=st.sampled_from(PATHS),
    payload=messages | st.lists(messages, max_size=5) | json_values,
    wrap=st.booleans(),
    compress=st.booleans(),
    text_plain=st.booleans(),
)
def test_no_payload_makes_a_server_error(
    db, client, write_key, path, payload, wrap, compress, text_plain
):
    if wrap and path.endswith(("batch", "/b")):
        payload = {"batch": payload if isinstance(payload, list) else [payload]}
    body = json.dumps(payload).encode()

    response = _post(client, write_key.key, path, body, compress=compress, text_plain=text_plain)

    assert response.status_code < 500, response.content
    assert response["Content-Type"] == "application/json"


@FUZZ
@given(path=st.sampled_from(PATHS), body=st.binary(max_size=300), compress=st.booleans())
def test_no_byte_string_makes_a_server_error(db, client, write_key, path, body, compress):
    response = _post(client, write_key.key, path, body, compress=compress, text_plain=False)

    assert 400 <= response.status_code < 500


# Text a valid message may hold: no control characters (NUL) and no half surrogate pairs.
clean_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=10)
clean_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | clean_text
)

identities = st.fixed_dictionaries(
    {},
    optional={
        "anonymousId": st.sampled_from(["anon-1", "anon-2", "anon-3"]),
        "userId": st.sampled_from(["u-1", "u-2"]),
    },
).filter(bool)


def _valid(kind: str) -> st.SearchStrategy[dict]:
    own = {
        "identify": st.fixed_dictionaries(
            {"traits": st.fixed_dictionaries({"email": st.sampled_from(["a@x.co", "b@x.co"])})}
        ),
        "track": st.fixed_dictionaries({"event": st.sampled_from(["Signed Up", "Demo"])}),
        "page": st.fixed_dictionaries({}, optional={"name": clean_text}),
        "screen": st.fixed_dictionaries({}, optional={"name": clean_text}),
        "group": st.fixed_dictionaries(
            {
                "groupId": st.just("g-1"),
                "traits": st.fixed_dictionaries({"name": clean_text}),
            }
        ),
        "alias": st.fixed_dictionaries(
            {
                "userId": st.sampled_from(["u-1", "u-3"]),
                "previousId": st.sampled_from(["anon-1", "anon-4"]),
            }
        ),
    }[kind]
    extras = st.fixed_dictionaries(
        {},
        optional={
            "properties": st.dictionaries(clean_text, clean_leaves, max_size=3),
            "integrations": st.dictionaries(clean_text, st.booleans(), max_size=2),
            "context": st.fixed_dictionaries(
                {},
                optional={
                    "page": st.fixed_dictionaries(
                        {"url": st.just("https://shop.example/")},
                        optional={"referrer": st.sampled_from(["", "https://www.bing.com/"])},
                    ),
                    "campaign": st.fixed_dictionaries(
                        {}, optional={"source": clean_text, "medium": clean_text}
                    ),
                },
            ),
        },
    )
    return st.builds(
        lambda who, extra, mine: {"type": kind, **who, **extra, **mine},
        identities,
        extras,
        own,
    )


valid_messages = st.sampled_from(["identify", "track", "page", "screen", "group", "alias"]).flatmap(
    _valid
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batch=st.lists(valid_messages, min_size=1, max_size=8),
    junk=st.lists(messages, max_size=3),
    path=st.sampled_from(["/v1/batch", "/v1/b"]),
)
def test_every_valid_message_is_stored_once_however_often_it_is_sent(
    db, client, write_key, batch, junk, path
):
    run = uuid.uuid4().hex[:8]
    for n, message in enumerate(batch):
        message["messageId"] = f"{run}-{n}"
    for message in junk:
        message.pop("messageId", None)  # junk never takes a valid message's id
    body = json.dumps({"batch": [*batch, *junk]}).encode()

    for _ in range(3):
        response = _post(client, write_key.key, path, body, compress=False, text_plain=True)
        assert response.status_code == 200, response.content
        rejected = {r["index"] for r in response.json().get("rejected", [])}
        assert not rejected & set(range(len(batch)))

    ids = [m["messageId"] for m in batch]
    assert Event.objects.filter(message_id__in=ids, source=write_key).count() == len(ids)
