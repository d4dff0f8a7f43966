"""Writes of the scoring engine: recompute scores, and queue that after events."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from leadflow.tracking.models import Event
from stages.models import FIT_FIELDS, Lead, Stage, StageRules
from stages.services import TransitionError, lead_qualify, transition_problems

from . import engine
from .models import ScoringRule

PENDING_KEY = "scoring:pending:{}"
logger = logging.getLogger(__name__)


def rules_active() -> list[engine.Rule]:
    return [rule.as_rule() for rule in ScoringRule.objects.filter(is_active=True)]


def lead_explain(*, lead: Lead, rules: list[engine.Rule] | None = None) -> engine.ScoreResult:
    """Score one lead from all its events: the contributions say which rule gave what."""
    events = (
        engine.EventFacts(*row)
        for row in Event.objects.filter(lead=lead)
        .order_by("occurred_at", "id")
        .values_list("id", "type", "name", "url", "occurred_at")
        .iterator(chunk_size=2000)
    )
    contact = {name: getattr(lead.contact, name) for name in FIT_FIELDS}
    return engine.score(
        events=events, rules=rules if rules is not None else rules_active(), contact=contact
    )


def leads_rescore(*, lead_ids: Iterable[int]) -> int:
    """Recompute the scores of these leads and qualify those that now meet the MQL rule.

    Idempotent: the score is a function of all the lead's events, so a redelivered task writes
    the same numbers again and qualifies no one twice.
    """
    rules = rules_active()
    stage_rules = StageRules.current()
    qualified = 0
    for lead in Lead.objects.filter(pk__in=list(lead_ids)).select_related("contact"):
        result = lead_explain(lead=lead, rules=rules)
        # A queryset update, not save(): the score must never overwrite a stage or an owner
        # that a person changed while this worker was counting.
        Lead.objects.filter(pk=lead.pk).update(
            score=result.total,
            behaviour_score=result.behaviour,
            fit_score=result.fit,
            scored_at=timezone.now(),
        )
        lead.score, lead.behaviour_score, lead.fit_score = (
            result.total,
            result.behaviour,
            result.fit,
        )
        if (
            stage_rules.auto_qualify
            and lead.stage == Stage.LEAD
            and _active_since_entering_lead(lead)
            and not transition_problems(lead, "qualify", None)
        ):
            try:
                lead_qualify(lead=lead, by="scoring")
                qualified += 1
            except TransitionError:
                pass  # a person moved the lead first; their transition stands
    return qualified


def _active_since_entering_lead(lead: Lead) -> bool:
    """Whether the worker may qualify this lead: always a new one; a recycled one only on
    activity after it came back, or the score that made it an MQL the first time would send it
    straight back to the people who returned it."""
    if lead.became_mql_at is None and lead.disqualified_at is None:
        return True
    return lead.last_event_at is not None and lead.last_event_at > lead.stage_changed_at


def leads_schedule_rescore(lead_ids: Iterable[int]) -> None:
    """Queue one recompute for these leads after commit, coalescing bursts per lead.

    A lead already waiting for a recompute is not queued again: the pending task reads all its
    events when it runs, including the ones that arrive while it waits.
    """
    lead_ids = {pk for pk in lead_ids if pk}
    if not lead_ids:
        return

    def enqueue() -> None:
        from .tasks import score_leads

        timeout = settings.SCORING_COALESCE_SECONDS
        try:
            fresh = [pk for pk in sorted(lead_ids) if cache.add(PENDING_KEY.format(pk), 1, timeout)]
            if fresh:
                score_leads.delay(fresh)
        except (RedisError, OperationalError, OSError):
            # The events are committed: an outage of Redis or the broker must not fail the
            # request that stored them. The periodic sweep scores these leads once it is back.
            logger.warning("scoring queue unavailable; the sweep will rescore %s", sorted(lead_ids))

    transaction.on_commit(enqueue)
