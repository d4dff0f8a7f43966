"""Work on ids, coalesced across requests: one shared set in Redis, drained by one task.

A request adds its ids after commit, in one round trip; the first of a burst also queues the
task, `wait` seconds later, and every id added while it waits joins it. The task clears its mark
first, then takes the set in batches: an id added after the mark is cleared queues the next
task, one added before is taken by this one. So a web process pays one Redis round trip a
request, never a Celery message per event, and the worker handles the ids of many requests in
one go.

Without Redis (development, some tests) there is no shared set: the task runs at once for the
ids it is given. If Redis or the broker is down, the ids are dropped with a warning; each user
of a queue has a periodic sweep that finds its work from the database again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils.module_loading import import_string
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from .cache import redis_client

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CoalescedQueue:
    name: str  # the cache key of the set; the task's mark is "<name>:queued"
    task_path: str  # the Celery task: called with no ids it drains the set, with ids does them
    wait: Callable[[], float]  # seconds the first id of a burst waits for the rest
    mark_seconds: int = 60  # a task lost with its worker blocks the queue at most this long

    @property
    def task(self) -> Any:
        return import_string(self.task_path)

    def _keys(self) -> tuple[str, str]:
        return (
            cache.make_and_validate_key(self.name),
            cache.make_and_validate_key(f"{self.name}:queued"),
        )

    def add(self, ids: Iterable[int]) -> None:
        """Queue these ids once the current transaction commits."""
        ids = {pk for pk in ids if pk}
        if ids:
            transaction.on_commit(lambda: self._add(ids))

    def _add(self, ids: set[int]) -> None:
        try:
            client = redis_client()
            if client is None:
                self.task.delay(sorted(ids))
                return
            members, mark = self._keys()
            with client.pipeline(transaction=False) as pipe:
                pipe.sadd(members, *ids)
                pipe.set(mark, 1, ex=self.mark_seconds, nx=True)
                _, first = pipe.execute()
            if first:
                wait = self.wait()
                # A countdown makes an ETA task, which the worker holds on a timer: none at all
                # when there is nothing to wait for.
                if wait > 0:
                    self.task.apply_async(countdown=wait)
                else:
                    self.task.delay()
        except (RedisError, BrokerError, OSError):
            # The work's own data is committed: an outage must not fail the request that wrote
            # it. The queue's periodic sweep finds these ids again once Redis is back.
            logger.warning("%s: queue unavailable, left to the sweep: %s", self.name, sorted(ids))

    def drain(self, handle: Callable[[list[int]], Iterable[int]], *, batch: int) -> int:
        """Call `handle` on the queued ids, `batch` at a time, until the set is empty; returns how
        many ids were handled.

        `handle` returns the ids it could not do now (rows another transaction holds): once the
        set is empty they go back into it, with a task `wait` seconds later. A batch whose
        handling fails goes back into the set whole (for the task's retry).
        """
        client = redis_client()
        if client is None:
            return 0
        members, mark = self._keys()
        client.delete(mark)
        handled, later = 0, set()
        try:
            while taken := client.spop(members, batch):
                ids = sorted(int(pk) for pk in taken)
                try:
                    skipped = set(handle(ids))
                except BaseException:
                    client.sadd(members, *ids)
                    raise
                later |= skipped
                handled += len(ids) - len(skipped)
                if len(ids) < batch:
                    break
        finally:
            if later and self.task.app.conf.task_always_eager:
                # Tasks run in this very thread (tests): a task now would find the same rows
                # held by its caller, again and again. The sweep takes them.
                client.sadd(members, *later)
            elif later:
                self._add(later)
        return handled

    def pending(self) -> set[int]:
        """The ids waiting (for tests and the admin)."""
        client = redis_client()
        if client is None:
            return set()
        return {int(pk) for pk in client.smembers(self._keys()[0])}

    def queued(self) -> bool:
        """Whether a task is queued to take them."""
        client = redis_client()
        return bool(client is not None and client.exists(self._keys()[1]))
