"""Writes of the scoring engine: recompute scores after events, rescore everyone after a rule
change or as time passes, and qualify the leads that meet the MQL rule.

Scores are written by one set-based statement (`scoring.sql`) for the few leads of a burst of
events, and by two passes for everyone (slices of the events table, then chunks of leads: see
`rescore_start`); `lead_explain` computes the same numbers in Python, contribution by
contribution, for the lead page.
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
from leadflow.tracking.activity import activity_fold
from leadflow.tracking.models import Event
from stages.models import FIT_FIELDS, Lead, Stage, StageRules
from stages.services import TransitionError, lead_qualify, leads_qualify_bulk

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
    partials: str | None = None,
    skip_locked: bool = False,
) -> int | list[int]:
    """Write the scores of these leads as of `now` in one statement; return how many changed
    (with `skip_locked`: the ids of the leads it could lock, and so scored).

    A queryset-level update of the score fields only: it never overwrites a stage or an owner
    that a person changed while it ran, and flags MQLs that no longer meet the MQL rule as
    cooling (they stay MQLs). `only_changed`, `partials` and `skip_locked`: see
    `sql.scores_update`.
    """
    statement, params = sql.scores_update(
        rules,
        leads=leads,
        now=now,
        mql=_mql_rule(StageRules.current()),
        only_changed=only_changed,
        partials=partials,
        skip_locked=skip_locked,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        _jit_off(cursor)
        # A chunk groups its events by lead in memory; the default work_mem would spill to disk.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        if leads.ids is None and partials is None:
            # A range of leads is a band of the events table (ids, hence leads, grow with time):
            # a bitmap scan reads each of its pages once, in file order, where an index scan
            # jumps between them for every lead and reads most pages many times over.
            cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(statement, params)
        return [pk for (pk,) in cursor.fetchall()] if skip_locked else cursor.rowcount


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


# Past this many leads to qualify at once (a rule change), `leads_qualify_bulk` does it in a few
# statements a batch instead of a transaction and ~18 ms a lead through the state machine.
QUALIFY_BULK_MIN = 20


def leads_qualify(leads: QuerySet[Lead]) -> int:
    """Qualify those of these leads that meet the MQL rule, as the state machine would.

    A few (a burst of events): one `lead_qualify` per lead, in a transaction of its own as a
    person's would be, so the rows its receivers lock (the day rollup of the reports) are held
    for one lead at a time. Many (a rule change): `leads_qualify_bulk`, the same outcome in
    batches.
    """
    stage_rules = StageRules.current()
    if not stage_rules.auto_qualify:
        return 0
    qualified = 0
    with _jit_off_in_session():
        candidates = _qualifiable(leads, stage_rules).order_by("pk")
        few = list(candidates.values_list("pk", flat=True)[: QUALIFY_BULK_MIN + 1])
        if len(few) > QUALIFY_BULK_MIN:
            ids = candidates.values_list("pk", flat=True)
            return len(leads_qualify_bulk(lead_ids=ids, by="scoring"))
        for pk in few:
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
    """Fold the leads' pending activity into them, recompute their scores and qualify those
    that now meet the MQL rule.

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
    activity_fold(lead_ids)
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

    Each batch first folds its leads' activity into them (`activity_fold`), then computes
    their scores and locks them in id order to write them. Both steps skip the leads another
    transaction holds (a person moving them, an identify making them): those wait in the queue
    for the next task instead of making this one wait. The ingest never locks a lead, so it
    never waits for this.
    """
    qualified = 0

    def rescore(lead_ids: list[int]) -> set[int]:
        nonlocal qualified
        now = timezone.now()
        folded = activity_fold(lead_ids, skip_locked=True)
        free = folded.locked and scores_write(
            leads=sql.Leads(ids=tuple(folded.locked)),
            rules=rules_active(),
            now=now,
            skip_locked=True,
        )
        if free:
            qualified += leads_qualify(Lead.objects.filter(pk__in=free))
        # Leads merged or deleted since they were queued are dropped.
        return {*folded.held, *(set(folded.locked) - set(free))}

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


# Pages of the events table (8 kB each) below which a slice is not worth its own task.
SLICE_MIN_PAGES = 4096
# Pages of the events table sampled for the frequent keys of its events (`sql.keys_create`).
KEYS_SAMPLE_PAGES = 2000


def _event_slices(count: int) -> list[int]:
    """Page numbers cutting the events table into about `count` slices [lo, hi) of equal size
    (at least one, if it has pages). The last slice runs on to the end: pages added since."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_relation_size(%s) / current_setting('block_size')::bigint",
            [Event._meta.db_table],
        )
        pages = cursor.fetchone()[0]
    if not pages:
        return []
    count = max(1, min(count, pages // SLICE_MIN_PAGES))
    return [pages * n // count for n in range(count + 1)]


def rescore_create(
    *, reason: str, by: AbstractBaseUser | AnonymousUser | None = None, chunks: int | None = None
) -> RescoreRun:
    """Record a rescore of every lead with the active rules, cut into chunks of lead ids, and
    (with behaviour rules) its first pass into slices of the events table, with the table the
    slices fill for the chunks and the table of event keys they read; it goes with this
    transaction if it rolls back."""
    rules = rules_active()
    chunks = chunks or settings.SCORING_RESCORE_CHUNKS
    bounds = _lead_bounds(chunks)
    behaviour = any(rule.kind == engine.BEHAVIOUR for rule in rules)
    run = RescoreRun.objects.create(
        reason=reason,
        started_by=by if getattr(by, "is_authenticated", False) else None,
        as_of=timezone.now(),
        rules=[dataclasses.asdict(rule) for rule in rules],
        bounds=bounds,
        slices=_event_slices(chunks) if bounds and behaviour else [],
    )
    # The partials of runs that never finished (a worker lost for good) go after a day.
    since = timezone.now() - dt.timedelta(seconds=PROGRESS_TIMEOUT)
    for stale in RescoreRun.objects.filter(finished_at__isnull=True, created_at__lt=since):
        _partials_drop(stale.pk)
    if run.slice_count:
        with connection.cursor() as cursor:
            for statement in sql.partials_create(
                rules, table=sql.partials_table(run.pk), bounds=bounds
            ):
                cursor.execute(statement)
            pages = run.slices[-1]
            statement, params = sql.keys_create(
                rules,
                table=sql.keys_table(run.pk),
                sample_percent=min(100.0, 100.0 * KEYS_SAMPLE_PAGES / pages),
            )
            cursor.execute(statement, params)
            cursor.execute(f"ANALYZE {sql.keys_table(run.pk)}")
    return run


def rescore_start(
    *, reason: str, by: AbstractBaseUser | AnonymousUser | None = None, chunks: int | None = None
) -> RescoreRun:
    """Rescore every lead with the active rules once this transaction commits: the workers
    aggregate the slices of the events table in parallel, then score the chunks of leads in
    parallel. Follow it with `rescore_progress(run.pk)`.

    Each page of the events is read once, in file order, by one slice (a lead's events are
    spread over the whole table, so a chunk of leads reading its own events read most pages);
    each lead is written only if its scores change (or were older than its last event).
    """
    run = rescore_create(reason=reason, by=by, chunks=chunks)

    def enqueue() -> None:
        from celery import group

        from .tasks import rescore_slice

        # As of the commit of the rules it read: a task for a burst of events that started
        # before it may have read the old rules, and a later one reads these.
        run.as_of = timezone.now()
        RescoreRun.objects.filter(pk=run.pk).update(as_of=run.as_of)
        cache.set(PROGRESS_KEY.format(run.pk), 0, PROGRESS_TIMEOUT)
        if run.slice_count:
            group(rescore_slice.si(run.pk, n) for n in range(run.slice_count)).apply_async()
        else:
            _chunks_enqueue(run)

    transaction.on_commit(enqueue)
    return run


def _chunks_enqueue(run: RescoreRun) -> None:
    from celery import group

    from .tasks import rescore_chunk

    if run.chunks:
        group(rescore_chunk.si(run.pk, n) for n in range(run.chunks)).apply_async()
    else:
        _rescore_finish(run.pk)


def rescore_slice(*, run_id: int, index: int) -> None:
    """Aggregate one slice of the events table for a rescore, per lead, into its partials
    table; the last slice done queues the chunks. Idempotent."""
    run = RescoreRun.objects.get(pk=run_id)
    if run.finished_at or index in run.slices_done:
        return
    last = index + 1 == run.slice_count
    statement, params = sql.partials_insert(
        run.rules_as_engine(),
        table=sql.partials_table(run.pk),
        blocks=(run.slices[index], None if last else run.slices[index + 1]),
        leads=sql.Leads(lo=run.bounds[0], hi=run.bounds[-1]),
        now=run.as_of,
        keys=sql.keys_table(run.pk),
    )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        _jit_off(cursor)
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(statement, params)
        rows = cursor.rowcount
        # Marked in the same transaction as its rows: a second delivery of the slice finds
        # the mark of the first (waiting for its commit if need be) and rolls its own back.
        cursor.execute(
            f"UPDATE {RescoreRun._meta.db_table} SET slices_done = array_append(slices_done, %s)"
            " WHERE id = %s AND NOT (%s = ANY(slices_done))"
            " RETURNING cardinality(slices_done), cardinality(done)",
            [index, run.pk, index],
        )
        row = cursor.fetchone()
        if row is None:
            transaction.set_rollback(True)
            return
    logger.info(
        "rescore %s slice %s: %s partials in %.2f s",
        run.pk,
        index,
        rows,
        time.perf_counter() - started,
    )
    cache.set(PROGRESS_KEY.format(run.pk), row[0] + row[1], PROGRESS_TIMEOUT)
    if row[0] == run.slice_count:
        transaction.on_commit(lambda: _chunks_enqueue(run))


def rescore_chunk(*, run_id: int, index: int) -> int:
    """Score one chunk of a rescore and qualify who now meets the MQL rule. Idempotent.

    It reads the partials of its leads once every slice is done (as the workers run it),
    else their events.
    """
    run = RescoreRun.objects.get(pk=run_id)
    if run.finished_at:
        return 0  # a second delivery: the partials are gone, and the scores written
    leads = sql.Leads(lo=run.bounds[index], hi=run.bounds[index + 1])
    sliced = run.slice_count and len(run.slices_done) == run.slice_count
    started = time.perf_counter()
    if sliced:
        # A new table has no statistics: the plan would take its rows for a few hundred.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {sql.partials_partition(sql.partials_table(run.pk), index)}")
    written = scores_write(
        leads=leads,
        rules=run.rules_as_engine(),
        now=run.as_of,
        only_changed=True,
        partials=sql.partials_table(run.pk) if sliced else None,
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
            " WHERE id = %s AND NOT (%s = ANY(done))"
            " RETURNING cardinality(done), cardinality(slices_done)",
            [index, qualified, run.pk, index],
        )
        row = cursor.fetchone()
    if row is not None:
        cache.set(PROGRESS_KEY.format(run.pk), row[0] + row[1], PROGRESS_TIMEOUT)
        if row[0] == run.chunks:
            _rescore_finish(run.pk)
    return qualified


def _rescore_finish(run_id: int) -> None:
    with transaction.atomic():
        RescoreRun.objects.filter(pk=run_id, finished_at__isnull=True).update(
            finished_at=timezone.now()
        )
        _partials_drop(run_id)


def _partials_drop(run_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"DROP TABLE IF EXISTS {sql.partials_table(run_id)}, {sql.keys_table(run_id)}"
        )


def rescore_progress(run_id: int) -> dict[str, Any]:
    """How far a rescore is: steps (slices of the events, then chunks of leads) done of total,
    and whether it finished (for a progress bar)."""
    done = cache.get(PROGRESS_KEY.format(run_id))
    run = RescoreRun.objects.only("bounds", "done", "slices", "slices_done", "finished_at").get(
        pk=run_id
    )
    total = run.slice_count + run.chunks
    if run.finished_at:
        done = total
    elif done is None:
        done = len(run.slices_done) + len(run.done)
    return {"done": done, "total": total, "finished": run.finished_at is not None}


def scores_decay() -> RescoreRun | None:
    """Rescore everyone as of now if any rule decays, so scores fall without new events."""
    if not any(rule.decays for rule in rules_active()):
        return None
    since = timezone.now() - dt.timedelta(hours=settings.SCORING_DECAY_HOURS)
    if RescoreRun.objects.filter(finished_at__isnull=True, created_at__gte=since).exists():
        return None  # a rescore is under way: it scores as of its own time already
    return rescore_start(reason=RescoreRun.Reason.DECAY)
