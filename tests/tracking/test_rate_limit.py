"""Each write key has a budget of events per window; past it, 429 with Retry-After."""

from __future__ import annotations

import datetime as dt
import os

import pytest
import time_machine
from django.core.cache import cache
from django.test import override_settings

from leadflow.tracking.models import Event, WriteKey
from leadflow.tracking.ratelimit import COUNT_KEY

from .messages import page, typed

# 2 events a second over 5 s windows: 10 events a window.
LIMITED = override_settings(TRACKING_RATE_LIMIT=2, TRACKING_RATE_WINDOW=5)
START = dt.datetime(2030, 1, 1, 12, 0, 1, tzinfo=dt.UTC)  # 1 s into a window


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _batch(size: int) -> dict:
    return {"batch": [typed("page", page()) for _ in range(size)]}


@LIMITED
def test_a_key_past_its_budget_is_told_to_wait(db, send):
    for _ in range(10):
        assert send("/v1/page", page()).status_code == 200

    response = send("/v1/page", page())

    assert response.status_code == 429
    body = response.json()
    assert body["success"] is False
    assert body["error"].startswith("rate limit: this write key may send 10 events every 5 s")
    assert response["Retry-After"] == "4"
    assert response["X-RateLimit-Reset"] == "4"
    assert Event.objects.count() == 10


@LIMITED
def test_a_batch_counts_its_events_not_one_request(db, send):
    assert send("/v1/batch", _batch(8)).status_code == 200

    refused = send("/v1/batch", _batch(3))
    fits = send("/v1/batch", _batch(2))

    assert (refused.status_code, fits.status_code) == (429, 200)
    assert Event.objects.count() == 10


@LIMITED
def test_each_key_has_its_own_budget(db, send):
    other = WriteKey.objects.create(name="backend", kind=WriteKey.Kind.BACKEND)
    assert send("/v1/batch", _batch(10)).status_code == 200

    assert send("/v1/page", page()).status_code == 429
    assert send("/v1/page", page(), key=other.key).status_code == 200


@LIMITED
def test_the_budget_comes_back_with_the_next_window(db, send, _clock):
    assert send("/v1/batch", _batch(10)).status_code == 200
    assert send("/v1/page", page()).status_code == 429

    _clock.shift(dt.timedelta(seconds=4))

    assert send("/v1/page", page()).status_code == 200


@LIMITED
def test_a_batch_larger_than_a_whole_window_is_refused(db, send):
    response = send("/v1/batch", _batch(11))

    assert response.status_code == 429
    assert not Event.objects.exists()


@override_settings(TRACKING_RATE_LIMIT=0)
def test_a_limit_of_zero_turns_the_limit_off(db, send):
    assert send("/v1/batch", _batch(50)).status_code == 200


def test_the_default_limit_lets_a_busy_site_through(db, send, settings):
    assert settings.TRACKING_RATE_LIMIT >= 1000

    for _ in range(3):
        assert send("/v1/batch", _batch(100)).status_code == 200


@LIMITED
def test_a_refused_answer_is_open_to_browsers_too(db, send):
    send("/v1/batch", _batch(10))

    response = send("/v1/t", page(), headers={"Origin": "https://shop.example"})

    assert response.status_code == 429
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"


@LIMITED
@override_settings(
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
)
def test_a_cache_that_is_down_never_loses_events(db, send):
    for _ in range(12):
        assert send("/v1/page", page("anon-x")).status_code == 200

    assert Event.objects.count() == 12


@pytest.mark.redis
@LIMITED
def test_the_count_is_shared_by_every_web_process(db, send, write_key):
    import redis

    # Another web process, with its own connection, has already sent 9 events this window.
    other_process = redis.Redis.from_url(os.environ["REDIS_URL"])
    window = int(START.timestamp()) // 5
    key = cache.make_key(COUNT_KEY.format(write_key.pk, window))
    other_process.incrby(key, 9)

    assert send("/v1/page", page()).status_code == 200
    assert send("/v1/page", page()).status_code == 429
    assert int(other_process.get(key)) == 10
    assert 0 < other_process.ttl(key) <= 6


@pytest.mark.redis
@override_settings(TRACKING_RATE_LIMIT=1000, TRACKING_RATE_WINDOW=10)
def test_a_process_takes_the_budget_in_blocks_and_never_overdraws_it(db, write_key):
    import redis

    from leadflow.tracking.ratelimit import rate_take

    now = START.timestamp()
    redis_count = redis.Redis.from_url(os.environ["REDIS_URL"])
    key = cache.make_key(COUNT_KEY.format(write_key.pk, int(now) // 10))

    # A budget of 10,000 events a window: the first call takes a block of 100.
    assert rate_take(source_id=write_key.pk, events=1, now=now).allowed
    assert int(redis_count.get(key)) == 100
    for _ in range(99):  # served from the block: no round trip, the count stays
        assert rate_take(source_id=write_key.pk, events=1, now=now).allowed
    assert int(redis_count.get(key)) == 100

    # Other processes have taken all but 30: the next block is those 30, then none is left.
    redis_count.set(key, 9_970)
    results = [rate_take(source_id=write_key.pk, events=1, now=now).allowed for _ in range(31)]
    assert results == [True] * 30 + [False]
    assert int(redis_count.get(key)) == 10_000
