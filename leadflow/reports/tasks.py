from __future__ import annotations

from celery import shared_task
from django.db import OperationalError, transaction

from .queue import JOURNEYS_BATCH, JOURNEYS_QUEUE
from .services import journeys_refresh, visitor_days_refresh


@shared_task
def journeys_refresh_all() -> int:
    """The nightly consistency pass: every journey recomputed from the history.

    It catches what no transition announces: attribution that tracking changed since, leads
    loaded in bulk, rows of leads deleted by raw SQL.
    """
    visitor_days_refresh()
    return journeys_refresh()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=0.5, max_retries=3)
def journeys_refresh_leads(lead_ids: list[int] | None = None) -> int:
    """Refresh these leads' journeys, or without ids every lead waiting in `JOURNEYS_QUEUE`."""

    def refresh(ids: list[int]) -> list[int]:
        with transaction.atomic():
            journeys_refresh(lead_ids=ids)
        return []

    if lead_ids is None:
        return JOURNEYS_QUEUE.drain(refresh, batch=JOURNEYS_BATCH)
    refresh(lead_ids)
    return len(lead_ids)
