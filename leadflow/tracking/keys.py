"""Write keys as the tracking API reads them: from a small in-process cache, briefly.

Every call names its key, and the key's row hardly ever changes: reading it from PostgreSQL each
time was a round trip of every request. An active key is kept here for
TRACKING_KEY_CACHE_SECONDS; a revoked, rotated or unknown one is always read again. So a key
created anywhere works at once, and a key revoked or rotated in another process (the keys page
served by another worker, `manage.py writekey`) stops working there within those seconds; in the
process that made the change, at once.
"""

from __future__ import annotations

import time

from django.conf import settings

from .models import WriteKey

_active: dict[str, tuple[float, WriteKey]] = {}
_LIMIT = 1000  # keys held at most: a process serves a few sites, not thousands


def write_key_find(key: str) -> WriteKey | None:
    """The source with this key (active or revoked), or None."""
    ttl = settings.TRACKING_KEY_CACHE_SECONDS
    now = time.monotonic()
    if ttl > 0:
        found = _active.get(key)
        if found is not None and found[0] > now:
            return found[1]
    source = WriteKey.objects.filter(key=key).first()
    if ttl > 0 and source is not None and source.is_active:
        if len(_active) >= _LIMIT:
            _active.clear()
        _active[key] = (now + ttl, source)
    else:
        _active.pop(key, None)
    return source


def write_keys_forget() -> None:
    """Drop every cached key (a key changed in this process; tests)."""
    _active.clear()
