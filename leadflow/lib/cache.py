"""The Redis client behind Django's cache, for what the cache API cannot say (sets, scripts,
pipelines)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


def redis_client() -> Any | None:
    """The redis-py client of the default cache, or None when the cache is not Redis."""
    if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        return None
    return cache._cache.get_client(write=True)  # built once: see RedisCache below


class _ReusingClient(RedisCacheClient):
    """Django's Redis cache client, which builds a redis-py client for every cache call (about
    0.3 ms each, a page makes several); this one builds one per server and reuses it. The
    connections come from the same pool either way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client


class RedisCache(DjangoRedisCache):
    """`django.core.cache.backends.redis.RedisCache`, reusing its redis-py clients."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient
