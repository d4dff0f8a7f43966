from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from django.db.models import F, Q

from leadflow.tracking.activity import activity_pending
from stages.models import Lead

from . import services
from .services import leads_pending_rescore, leads_rescore, leads_schedule_rescore


# A deadlock with a concurrent ingest of the same leads (or a lost connection) is retried a few
# times; past that, the sweep of stale scores picks the leads up within a minute.
@shared_task(autoretry_for=(OperationalError,), retry_backoff=0.5, max_retries=3)
def score_leads(lead_ids: list[int] | None = None) -> int:
    """Recompute these leads, or without ids every lead waiting in the pending set."""
    if lead_ids is None:
        return leads_pending_rescore()
    return leads_rescore(lead_ids=lead_ids)


@shared_task
def sweep_stale_scores(limit: int = 10_000) -> int:
    """Queue leads whose newest event is newer than their score, or whose activity the worker
    has not folded yet (a lost task, a worker down)."""
    stale = set(activity_pending(limit))
    stale.update(
        Lead.objects.filter(last_event_at__isnull=False)
        .filter(Q(scored_at__isnull=True) | Q(scored_at__lt=F("last_event_at")))
        .values_list("pk", flat=True)[:limit]
    )
    leads_schedule_rescore(stale)
    return len(stale)


@shared_task
def rescore_slice(run_id: int, index: int) -> None:
    services.rescore_slice(run_id=run_id, index=index)


@shared_task
def rescore_chunk(run_id: int, index: int) -> int:
    return services.rescore_chunk(run_id=run_id, index=index)


@shared_task
def decay_scores() -> int | None:
    """Let scores fall with time: a rescore of everyone as of now, if any rule decays."""
    run = services.scores_decay()
    return run.pk if run else None
