"""Events a write key may send, counted in the cache that every web process shares (Redis).

A fixed window of TRACKING_RATE_WINDOW seconds allows TRACKING_RATE_LIMIT events a second on
average: a site may burst (a batch flush, a page with many calls) as long as the window's budget
holds. Events are counted, not requests: a batch of 100 costs 100. A refused request gives its
events back, so a sender who waits for Retry-After is not punished for the calls refused.

Each web process takes the budget from Redis in blocks, a hundredth of a window's budget at a
time (or what a call needs, if more), and serves calls from its block without a round trip; when
the budget runs low the blocks shrink to what each call needs, so the limit is never exceeded and
a key is refused at most a few blocks early. With the default 1,000 events a second over 10 s,
a process calls Redis once every 100 events rather than for every call.

The same round trip stamps the key's last use (at least every USED_EVERY seconds a process), which
the write keys page shows without reading the events table.
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


# Take up to `want` events (ARGV[1]) of the window's budget, at least `need` (ARGV[6]) or none,
# and stamp the key's last use: one round trip, atomic, whatever the outcome. Returns how many
# were taken. A budget of 0 only stamps.
_TAKE = """
local want = tonumber(ARGV[1])
local budget = tonumber(ARGV[2])
local need = tonumber(ARGV[6])
local taken = want
if budget > 0 then
    local count = redis.call('INCRBY', KEYS[1], want)
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    if count > budget then
        local over = count - budget
        if want - over >= need then
            taken = want - over
            redis.call('DECRBY', KEYS[1], over)
        else
            taken = 0
            redis.call('DECRBY', KEYS[1], want)
        end
    end
end
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
return taken
"""
# A process takes this share of a window's budget at a time.
BLOCK_SHARE = 100
# (key id, window) -> events of the budget this process has taken and not yet used.
_blocks: dict[tuple[int, int], int] = {}
_script = None
# When this process last recorded each key's use.
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
    held = _blocks.get((source_id, slot), 0)
    stamped = now - _used_written.get(source_id, 0.0) < USED_EVERY
    if per_second > 0 and held >= events and stamped:
        _blocks[(source_id, slot)] = held - events
        return Decision(True, budget)
    try:
        client = redis_client()
        if client is not None:
            if _script is None:
                _script = client.register_script(_TAKE)
            need = max(0, events - held)
            taken = _script(
                keys=[
                    cache.make_key(COUNT_KEY.format(source_id, slot)),
                    cache.make_key(USED_KEY.format(source_id)),
                ],
                args=[
                    max(need, budget // BLOCK_SHARE),
                    budget,
                    window + 1,
                    int(now),
                    USED_TIMEOUT,
                    need,
                ],
                client=client,
            )
            _used_written[source_id] = now
            if per_second <= 0:
                return Decision(True)
            if held + taken < events:
                return Decision(False, budget, retry_after)
            for key in [key for key in _blocks if key[1] != slot]:
                del _blocks[key]  # blocks of past windows
            _blocks[(source_id, slot)] = held + taken - events
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
