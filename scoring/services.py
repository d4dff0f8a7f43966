"""Writes of the scoring engine: recompute scores after events, rescore everyone after a rule
change or as time passes, and qualify the leads that meet the MQL rule.

Scores are written by one set-based statement (`scoring.sql`) whether for the few leads of a
burst of events or for a chunk of every lead; `lead_explain` computes the same numbers in Python,
contribution by contribution, for the lead page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from leadflow.lib.coalesce import CoalescedQueue
from leadflow.tracking.models import Event
from stages.models import FIT_FIELDS, Lead, Stage, StageRules
from stages.services import TransitionError, lead_qualify

from . import engine, sql
from .models import RescoreRun, ScoringRule

# Leads waiting for a recompute, shared by every web process (see `leads_schedule_rescore`).
RESCORE_QUEUE = CoalescedQueue(
    name="scoring:pending",
    task_path="scoring.tasks.score_leads",
    wait=lambda: settings.SCORING_COALESCE_MS / 1000,
)
RESCORE_BATCH = 500  # leads scored by one statement (and locked while it runs)
PROGRESS_KEY = "scoring:rescore:{}:done"
PROGRESS_TIMEOUT = 24 * 3600
logger = logging.getLogger(__name__)


def rules_active() -> list[engine.Rule]:
    rules = ScoringRule.objects.filter(is_active=True).select_related("group").order_by("pk")
    return [rule.as_rule() for rule in rules]


def lead_explain(
    *, lead: Lead, rules: list[engine.Rule] | None = None, now: dt.datetime | None = None
) -> engine.ScoreResult:
    """Score one lead from all its events at `now` (default: now), contribution by contribution.

    It equals what the workers store for the same time: `lead_explain(lead=l, now=l.scored_at)`.
    """
    rules = rules_active() if rules is None else rules
    columns = ["id", "type", "name", "url", "occurred_at"]
    if any(rule.property_match for rule in rules):
        columns.append("properties")
    events = (
        engine.EventFacts(*row)
        for row in Event.objects.filter(lead=lead)
        .order_by("occurred_at", "id")
        .values_list(*columns)
        .iterator(chunk_size=2000)
    )
    contact = {name: getattr(lead.contact, name) for name in FIT_FIELDS}
    return engine.score(events=events, rules=rules, contact=contact, now=now or timezone.now())


def _mql_rule(stage_rules: StageRules) -> sql.MqlRule:
    return sql.MqlRule(
        threshold=stage_rules.mql_threshold,
        min_behaviour=stage_rules.mql_min_behaviour,
        min_fit=stage_rules.mql_min_fit,
    )


def scores_write(
    *,
    leads: sql.Leads,
    rules: list[engine.Rule],
    now: dt.datetime,
    only_changed: bool = False,
) -> int:
    """Write the scores of these leads as of `now` in one statement; return how many changed.

    A queryset-level update of the score fields only: it never overwrites a stage or an owner
    that a person changed while it ran, and flags MQLs that no longer meet the MQL rule as
    cooling (they stay MQLs).
    """
    statement, params = sql.scores_update(
        rules,
        leads=leads,
        now=now,
        mql=_mql_rule(StageRules.current()),
        only_changed=only_changed,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        _jit_off(cursor)
        # A chunk groups its events by lead in memory; the default work_mem would spill to disk.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        if leads.ids is None:
            # A range of leads is a band of the events table (ids, hence leads, grow with time):
            # a bitmap scan reads each of its pages once, in file order, where an index scan
            # jumps between them for every lead and reads most pages many times over.
            cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(statement, params)
        return cursor.rowcount


def _jit_off(cursor: Any) -> None:
    """No JIT compilation in this transaction (on by default since PostgreSQL 12).

    It costs more than it saves here: the wide score expressions, and the rough row estimates of
    small joins (the round-robin's count of owned leads), cross its cost thresholds, and each
    statement then pays for compiling (up to seconds) before it runs for milliseconds.
    """
    cursor.execute("SET LOCAL jit = off")


def _qualifiable(leads: QuerySet[Lead], stage_rules: StageRules) -> QuerySet[Lead]:
    """The leads among these that the worker may qualify now, as far as the database can tell.

    A recycled lead only comes back on activity after it was recycled, or the score that made it
    an MQL the first time would send it straight back to the people who returned it.
    """
    leads = leads.filter(stage=Stage.LEAD, score__gte=stage_rules.mql_threshold).filter(
        Q(became_mql_at__isnull=True, disqualified_at__isnull=True)
        | Q(last_event_at__gt=F("stage_changed_at"))
    )
    if stage_rules.mql_min_behaviour is not None:
        leads = leads.filter(behaviour_score__gte=stage_rules.mql_min_behaviour)
    if stage_rules.mql_min_fit is not None:
        leads = leads.filter(fit_score__gte=stage_rules.mql_min_fit)
    for name in stage_rules.mql_required_fields:
        leads = leads.exclude(**{f"contact__{name}__isnull": True})
        if name not in engine.NUMERIC_FIELDS:
            leads = leads.exclude(**{f"contact__{name}": ""})
    return leads


def leads_qualify(leads: QuerySet[Lead]) -> int:
    """Qualify, through the state machine, those of these leads that meet the MQL rule.

    One `lead_qualify` per lead, in a transaction of its own as a person's would be: conditions,
    permissions, audit and assignment all apply, and the rows its receivers lock (the day
    rollup of the reports) are held for one lead at a time.
    """
    stage_rules = StageRules.current()
    if not stage_rules.auto_qualify:
        return 0
    qualified = 0
    with _jit_off_in_session():
        for pk in _qualifiable(leads, stage_rules).order_by("pk").values_list("pk", flat=True):
            try:
                with transaction.atomic():
                    # Locked and read again: a recompute that committed since the query above
                    # may have taken its score back below the rule (and one that runs now waits,
                    # then flags it cooling). The transition checks the conditions on this row.
                    lead = Lead.objects.select_for_update(of=("self",))
                    lead = lead.select_related("contact").get(pk=pk)
                    lead_qualify(lead=lead, by="scoring")
                qualified += 1
            except TransitionError:
                pass  # not qualifiable after all, or a person moved the lead first
    return qualified


@contextmanager
def _jit_off_in_session() -> Iterator[None]:
    """`_jit_off` for the statements of many transactions (one per lead), restored after."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit')")
        before = cursor.fetchone()[0]
        cursor.execute("SET jit = off")
    try:
        yield
    finally:
        # In a caller's transaction that failed, its rollback undoes the setting instead.
        with suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('jit', %s, false)", [before])


def leads_rescore(*, lead_ids: Iterable[int]) -> int:
    """Recompute the scores of these leads and qualify those that now meet the MQL rule.

    One statement scores them all. Idempotent: a score is a function of the lead's events, the
    rules and the time, so a redelivered task writes the same numbers (decay aside) and
    qualifies no one twice.
    """
    lead_ids = sorted({pk for pk in lead_ids if pk})
    if not lead_ids:
        return 0
    # The time first, the rules second: a full rescore for new rules is taken as of a time
    # after their commit, so it wins over this one whenever this one read the old rules.
    now = timezone.now()
    scores_write(leads=sql.Leads(ids=tuple(lead_ids)), rules=rules_active(), now=now)
    return leads_qualify(Lead.objects.filter(pk__in=lead_ids))


def leads_schedule_rescore(lead_ids: Iterable[int]) -> None:
    """Queue a recompute of these leads after commit, one for every lead of every request that
    arrives while it waits (`RESCORE_QUEUE`).

    A lead already waiting is not queued twice; the task reads all its events when it runs,
    including the ones that arrived while it waited. Leads lost to an outage of Redis are found
    again by `sweep_stale_scores` (their newest event is newer than their score).
    """
    RESCORE_QUEUE.add(lead_ids)


def leads_pending_rescore(batch: int = RESCORE_BATCH) -> int:
    """Recompute the leads waiting in `RESCORE_QUEUE`, `batch` a statement; returns how many of
    them were qualified.

    Each batch first locks its leads in id order, skipping those another transaction holds (an
    ingest storing their events, a person moving them): those wait in the queue for the next
    task instead of making this one wait, and a scoring statement never deadlocks with an
    ingest.
    """
    qualified = 0

    def rescore(lead_ids: list[int]) -> set[int]:
        nonlocal qualified
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {Lead._meta.db_table} WHERE id = ANY(%s)"
                " ORDER BY id FOR UPDATE SKIP LOCKED",
                [lead_ids],
            )
            free = [pk for (pk,) in cursor.fetchall()]
            if free:
                scores_write(leads=sql.Leads(ids=tuple(free)), rules=rules_active(), now=now)
        if free:
            qualified += leads_qualify(Lead.objects.filter(pk__in=free))
        return set(lead_ids) - set(free)

    RESCORE_QUEUE.drain(rescore, batch=batch)
    return qualified


# -- the full rescore --


def _lead_bounds(chunks: int) -> list[int]:
    """Lead ids cutting all leads into about `chunks` ranges [lo, hi) of equal size."""
    count = Lead.objects.count()
    if not count:
        return []
    chunks = max(1, min(chunks, math.ceil(count / settings.SCORING_RESCORE_MIN_CHUNK)))
    fractions = [n / chunks for n in range(chunks + 1)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT percentile_disc(%s::float8[]) WITHIN GROUP (ORDER BY id)"
            f" FROM {Lead._meta.db_table}",
            [fractions],
        )
        cuts = cursor.fetchone()[0]
    return sorted({*cuts[:-1], cuts[-1] + 1})


def rescore_create(
    *, reason: str, by: AbstractBaseUser | AnonymousUser | None = None, chunks: int | None = None
) -> RescoreRun:
    """Record a rescore of every lead with the active rules, cut into chunks of lead ids."""
    return RescoreRun.objects.create(
        reason=reason,
        started_by=by if getattr(by, "is_authenticated", False) else None,
        as_of=timezone.now(),
        rules=[dataclasses.asdict(rule) for rule in rules_active()],
        bounds=_lead_bounds(chunks or settings.SCORING_RESCORE_CHUNKS),
    )


def rescore_start(
    *, reason: str, by: AbstractBaseUser | AnonymousUser | None = None, chunks: int | None = None
) -> RescoreRun:
    """Rescore every lead with the active rules, in chunks of lead ids that the workers run in
    parallel once this transaction commits. Follow it with `rescore_progress(run.pk)`.
    """
    run = rescore_create(reason=reason, by=by, chunks=chunks)

    def enqueue() -> None:
        from celery import group

        from .tasks import rescore_chunk

        # As of the commit of the rules it read: a task for a burst of events that started
        # before it may have read the old rules, and a later one reads these.
        run.as_of = timezone.now()
        RescoreRun.objects.filter(pk=run.pk).update(as_of=run.as_of)
        cache.set(PROGRESS_KEY.format(run.pk), 0, PROGRESS_TIMEOUT)
        if run.chunks:
            group(rescore_chunk.si(run.pk, n) for n in range(run.chunks)).apply_async()
        else:
            _rescore_finish(run.pk)

    transaction.on_commit(enqueue)
    return run


def rescore_chunk(*, run_id: int, index: int) -> int:
    """Score one chunk of a rescore and qualify who now meets the MQL rule. Idempotent."""
    run = RescoreRun.objects.get(pk=run_id)
    leads = sql.Leads(lo=run.bounds[index], hi=run.bounds[index + 1])
    started = time.perf_counter()
    written = scores_write(
        leads=leads,
        rules=run.rules_as_engine(),
        now=run.as_of,
        only_changed=run.reason == RescoreRun.Reason.DECAY,
    )
    scored = time.perf_counter()
    qualified = leads_qualify(Lead.objects.filter(pk__gte=leads.lo, pk__lt=leads.hi))
    logger.info(
        "rescore %s chunk %s: %s leads written in %.2f s, %s qualified in %.2f s",
        run.pk,
        index,
        written,
        scored - started,
        qualified,
        time.perf_counter() - scored,
    )
    with connection.cursor() as cursor:
        # Counted once per chunk however often it runs (a redelivered task counts nothing).
        cursor.execute(
            f"UPDATE {RescoreRun._meta.db_table}"
            " SET done = array_append(done, %s), qualified = qualified + %s"
            " WHERE id = %s AND NOT (%s = ANY(done)) RETURNING cardinality(done)",
            [index, qualified, run.pk, index],
        )
        row = cursor.fetchone()
    if row is not None:
        cache.set(PROGRESS_KEY.format(run.pk), row[0], PROGRESS_TIMEOUT)
        if row[0] == run.chunks:
            _rescore_finish(run.pk)
    return qualified


def _rescore_finish(run_id: int) -> None:
    RescoreRun.objects.filter(pk=run_id, finished_at__isnull=True).update(
        finished_at=timezone.now()
    )


def rescore_progress(run_id: int) -> dict[str, Any]:
    """How far a rescore is: chunks done of total, and whether it finished (for a progress bar)."""
    done = cache.get(PROGRESS_KEY.format(run_id))
    run = RescoreRun.objects.only("bounds", "done", "finished_at").get(pk=run_id)
    if done is None or run.finished_at:
        done = len(run.done)
    return {"done": done, "total": run.chunks, "finished": run.finished_at is not None}


def scores_decay() -> RescoreRun | None:
    """Rescore everyone as of now if any rule decays, so scores fall without new events."""
    if not any(rule.decays for rule in rules_active()):
        return None
    since = timezone.now() - dt.timedelta(hours=settings.SCORING_DECAY_HOURS)
    if RescoreRun.objects.filter(finished_at__isnull=True, created_at__gte=since).exists():
        return None  # a rescore is under way: it scores as of its own time already
    return rescore_start(reason=RescoreRun.Reason.DECAY)
