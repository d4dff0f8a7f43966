"""Journeys of leads that the tracking API moved, refreshed by a worker rather than in the
request.

A batch that identifies people moves them visitor → lead in its own transaction; refreshing
their journeys there would also lock today's shared day rollup until that transaction commits,
and every concurrent batch would queue behind it. So the ingest queues the leads (after commit)
and one task refreshes them in a few statements, seconds later. The nightly pass
(`journeys_refresh_all`) catches any that an outage of Redis lost.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from leadflow.lib.coalesce import CoalescedQueue

JOURNEYS_QUEUE = CoalescedQueue(
    name="reports:journeys",
    task_path="leadflow.reports.tasks.journeys_refresh_leads",
    wait=lambda: settings.SCORING_COALESCE_MS / 1000,
)
JOURNEYS_BATCH = 500  # leads a transaction


def journeys_schedule_refresh(lead_ids: Iterable[int]) -> None:
    JOURNEYS_QUEUE.add(lead_ids)
