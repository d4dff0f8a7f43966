"""Events a write key may send, counted in the cache that every web process shares (Redis).

A fixed window of TRACKING_RATE_WINDOW seconds allows TRACKING_RATE_LIMIT events a second on
average: a site may burst (a batch flush, a page with many calls) as long as the window's budget
holds. Events are counted, not requests: a batch of 100 costs 100. A refused request gives its
events back, so a sender who waits for Retry-After is not punished for the calls refused.

The same round trip stamps the key's last use, which the write keys page shows without reading
the events table.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

COUNT_KEY = "tracking:rate:{}:{}"
USED_KEY = "tracking:used:{}"
USED_TIMEOUT = 90 * 24 * 3600


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int = 0
    retry_after: int = 0


def _redis():
    """The redis-py client behind Django's cache, when the cache is Redis."""
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        return cache._cache.get_client(write=True)
    return None


def rate_take(*, source_id: int, events: int, now: float | None = None) -> Decision:
    """Take `events` from the key's budget for the current window, or refuse them all.

    Fails open: if the cache cannot be reached the events are accepted (and logged), since an
    accepted event must never be lost to a limiter.
    """
    now = time.time() if now is None else now
    per_second = settings.TRACKING_RATE_LIMIT
    window = max(1, settings.TRACKING_RATE_WINDOW)
    budget = per_second * window
    slot = int(now // window)
    retry_after = max(1, math.ceil((slot + 1) * window - now))
    key = cache.make_key(COUNT_KEY.format(source_id, slot))
    used = cache.make_key(USED_KEY.format(source_id))
    try:
        client = _redis()
        if client is not None:
            with client.pipeline(transaction=False) as pipe:
                if per_second > 0:
                    pipe.incrby(key, events)
                    pipe.expire(key, window + 1)
                pipe.set(used, int(now), ex=USED_TIMEOUT)
                replies = pipe.execute()
            if per_second <= 0:
                return Decision(True)
            count = replies[0]
            if count > budget:
                client.decrby(key, events)
                return Decision(False, budget, retry_after)
            return Decision(True, budget)
        # Without Redis (a single process, `make run`): the local cache, same rules.
        cache.set(USED_KEY.format(source_id), int(now), USED_TIMEOUT)
        if per_second <= 0:
            return Decision(True)
        local = COUNT_KEY.format(source_id, slot)
        cache.add(local, 0, window + 1)
        count = cache.incr(local, events)
        if count > budget:
            cache.decr(local, events)
            return Decision(False, budget, retry_after)
        return Decision(True, budget)
    except Exception:  # the cache is down: accept, as a limiter must never lose events
        logger.warning("tracking rate limit: cache unavailable, events accepted", exc_info=True)
        return Decision(True)


def keys_last_used(source_ids: Iterable[int]) -> dict[int, float]:
    """When each key last sent something (epoch seconds), for the keys page: one cache read."""
    ids = list(source_ids)
    if not ids:
        return {}
    try:
        found = cache.get_many([USED_KEY.format(pk) for pk in ids])
    except Exception:
        logger.warning("write keys: cache unavailable, last use unknown", exc_info=True)
        return {}
    return {pk: found[USED_KEY.format(pk)] for pk in ids if USED_KEY.format(pk) in found}
