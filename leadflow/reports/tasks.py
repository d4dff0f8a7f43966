from __future__ import annotations

from celery import shared_task

from .services import journeys_refresh, visitor_days_refresh


@shared_task
def journeys_refresh_all() -> int:
    """The nightly consistency pass: every journey recomputed from the history.

    It catches what no transition announces: attribution that tracking changed since, leads
    loaded in bulk, rows of leads deleted by raw SQL.
    """
    visitor_days_refresh()
    return journeys_refresh()
