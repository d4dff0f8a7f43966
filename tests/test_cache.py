"""The Redis cache builds one redis-py client and reuses it: a page makes several cache calls."""

from __future__ import annotations

import pytest
from django.core.cache import cache

pytestmark = [pytest.mark.redis]


def test_the_cache_reuses_one_client_and_still_works():
    client = cache._cache.get_client(write=True)

    cache.set("reuse-check", {"n": 1}, 30)

    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client() is client  # one server: reads and writes share it
    assert cache.get("reuse-check") == {"n": 1}
    assert cache.incr(cache.add("reuse-count", 1, 30) and "reuse-count") == 2
