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

from leadflow.lib.cache import redis_client

logger = logging.getLogger(__name__)

COUNT_KEY = "tracking:rate:{}:{}"
USED_KEY = "tracking:used:{}"
USED_TIMEOUT = 90 * 24 * 3600


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int = 0
    retry_after: int = 0


# Take the events, give them back if that overdraws the budget, and stamp the key's last use:
# one round trip, atomic, whatever the outcome. A budget of 0 only stamps.
_TAKE = """
local count = 0
local budget = tonumber(ARGV[2])
if budget > 0 then
    count = redis.call('INCRBY', KEYS[1], ARGV[1])
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    if count > budget then
        redis.call('DECRBY', KEYS[1], ARGV[1])
    end
end
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
return count
"""
_script = None
# One client per cache backend: Django's get_client() builds a new redis-py client (and its
# table of reply parsers) on every call, a measurable share of a tracking request.
# Without a limit: when this process last recorded each key's use.
_used_written: dict[int, float] = {}
USED_EVERY = 5.0


def rate_take(*, source_id: int, events: int, now: float | None = None) -> Decision:
    """Take `events` from the key's budget for the current window, or refuse them all.

    Fails open: if the cache cannot be reached the events are accepted (and logged), since an
    accepted event must never be lost to a limiter.
    """
    global _script
    now = time.time() if now is None else now
    per_second = settings.TRACKING_RATE_LIMIT
    if per_second <= 0:
        # No limit: only "last used" is left to record, and a few seconds of lag in it is
        # fine, so each process writes it at most once every USED_EVERY seconds per key.
        if now - _used_written.get(source_id, 0.0) < USED_EVERY:
            return Decision(True)
        _used_written[source_id] = now
    window = max(1, settings.TRACKING_RATE_WINDOW)
    budget = max(0, per_second * window)
    slot = int(now // window)
    retry_after = max(1, math.ceil((slot + 1) * window - now))
    try:
        client = redis_client()
        if client is not None:
            if _script is None:
                _script = client.register_script(_TAKE)
            count = _script(
                keys=[
                    cache.make_key(COUNT_KEY.format(source_id, slot)),
                    cache.make_key(USED_KEY.format(source_id)),
                ],
                args=[events, budget, window + 1, int(now), USED_TIMEOUT],
                client=client,
            )
            if per_second <= 0:
                return Decision(True)
            if count > budget:
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
