"""The Redis client behind Django's cache, for what the cache API cannot say (sets, scripts,
pipelines)."""

from __future__ import annotations

import weakref
from typing import Any

from django.conf import settings
from django.core.cache import cache

# One client per cache backend object (Django makes one a thread): redis-py builds a client in
# about 0.3 ms, more than the round trip it is made for.
_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def redis_client() -> Any | None:
    """The redis-py client of the default cache, or None when the cache is not Redis."""
    if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        return None
    backend = cache._cache
    client = _clients.get(backend)
    if client is None:
        client = _clients[backend] = backend.get_client(write=True)
    return client
