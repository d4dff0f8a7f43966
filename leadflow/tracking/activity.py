"""The lead activity that the ingest leaves for the scoring worker (see `LeadActivity`).

The ingest appends what it learnt about each lead (when it stored events of it, the earliest and
the latest touch among them) and never writes the lead row: requests about the same people never
wait for each other's row locks, nor for the worker's. `activity_fold` moves those rows into the
leads, in a short transaction of its own, before the worker scores them; a lead's touches and
newest event time are current once its score is.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import NamedTuple

from django.db import transaction

from leadflow.lib.prepared import prepared_cursor
from stages.models import Lead

from .models import LeadActivity

# Whether a lead's touch moves to the one in `v`: the first touch only ever moves earlier, the
# last touch later, and a direct visit never hides an earlier campaign or referral as last touch.
FIRST_MOVES = (
    "v.first_at IS NOT NULL AND (l.first_touch_at IS NULL OR v.first_at < l.first_touch_at)"
)
LAST_MOVES = """v.last_at IS NOT NULL AND (l.last_touch_at IS NULL OR
    (NOT v.last_direct, v.last_at)
    > (NOT (l.last_touch_source = 'direct' AND l.last_touch_medium = 'none'), l.last_touch_at))"""


def touches_set() -> str:
    """The SET clause that moves a lead `l` to the touches of a row `v` (first_source, ...,
    last_direct) where `FIRST_MOVES` and `LAST_MOVES` say; each condition written once for its
    four columns, which keeps the statements that use it short."""
    names = ("source", "medium", "campaign", "at")
    return ",\n".join(
        f"({', '.join(f'{kind}_touch_{name}' for name in names)}) = (SELECT "
        + ", ".join(
            f"CASE WHEN ok THEN v.{kind}_{name} ELSE l.{kind}_touch_{name} END" for name in names
        )
        + f" FROM (SELECT {cond} AS ok) AS c)"
        for kind, cond in (("first", FIRST_MOVES), ("last", LAST_MOVES))
    )


@functools.cache
def _fold_sql(skip_locked: bool) -> str:
    leads, activity = Lead._meta.db_table, LeadActivity._meta.db_table
    first = "first_source, first_medium, first_campaign, first_at"
    last = "last_source, last_medium, last_campaign, last_at"
    # locked: the leads, in id order as every statement that locks several leads takes them
    # (two statements that lock the same leads in different orders can deadlock); NO KEY: the
    # lock that an update of non-key columns takes anyway. gone: their rows, deleted; rows an
    # ingest commits after this statement began are not seen, so not deleted, and stay for the
    # next fold. Rows of leads that no longer exist (an ingest that appended to a lead a merge
    # was deleting) go too: nothing else would ever take them. The update returns the leads
    # whose first touch is now one of these rows': their journeys copy it (see `activity_fold`).
    sql = f"""
        WITH locked AS (
            SELECT id FROM {leads} WHERE id = ANY(%(ids)s) ORDER BY id
            FOR NO KEY UPDATE{" SKIP LOCKED" if skip_locked else ""}
        ), gone AS (
            DELETE FROM {activity} a WHERE a.lead_id = ANY(%(ids)s) AND (
                a.lead_id IN (SELECT id FROM locked)
                OR NOT EXISTS (SELECT FROM {leads} k WHERE k.id = a.lead_id))
            RETURNING a.*
        ), earliest AS (
            SELECT DISTINCT ON (lead_id) lead_id, {first} FROM gone
            WHERE first_at IS NOT NULL ORDER BY lead_id, first_at, id
        ), latest AS (
            SELECT DISTINCT ON (lead_id) lead_id, {last}, last_direct FROM gone
            WHERE last_at IS NOT NULL ORDER BY lead_id, NOT last_direct DESC, last_at DESC, id
        ), v AS (
            SELECT lead_id AS id, received_at, {first}, {last}, last_direct
            FROM (SELECT lead_id, max(received_at) AS received_at FROM gone GROUP BY lead_id) r
            LEFT JOIN earliest USING (lead_id) LEFT JOIN latest USING (lead_id)
        ), upd AS (
            UPDATE {leads} AS l SET
                last_event_at = GREATEST(l.last_event_at, v.received_at),
                {touches_set()}
            FROM v WHERE l.id = v.id
            RETURNING l.id, l.first_touch_at = v.first_at AS first_moved
        )
        SELECT id, 'locked' FROM locked
        UNION ALL SELECT id, 'held' FROM (
            SELECT id FROM {leads} WHERE id = ANY(%(ids)s) EXCEPT SELECT id FROM locked) AS h
        UNION ALL SELECT id, 'first' FROM upd WHERE first_moved
    """
    return " ".join(sql.split())


class Folded(NamedTuple):
    locked: list[int]  # the leads folded (those without activity too)
    held: list[int]  # with `skip_locked`: those another transaction held, not folded


def activity_fold(lead_ids: Iterable[int], *, skip_locked: bool = False) -> Folded:
    """Fold the pending activity of these leads into them, in one statement and a transaction
    of its own (committed before the caller scores them: no lock held while it computes).

    It locks every one of them that exists, or with `skip_locked` those that no other
    transaction holds (the others keep their activity for a later fold). Ids of leads that no
    longer exist (merged, deleted) are in neither list.

    A lead whose first touch the fold set has its journey refreshed by a worker after commit, as
    the identify that made it a lead does: reports group leads by their first touch.
    """
    ids = sorted(set(lead_ids))
    if not ids:
        return Folded([], [])
    with transaction.atomic(), prepared_cursor() as cursor:
        cursor.execute(_fold_sql(skip_locked), {"ids": ids})
        rows = cursor.fetchall()
        moved = [pk for pk, kind in rows if kind == "first"]
        if moved:
            # The reports build on tracking: imported here, not at the top.
            from stages.services import transitions_follow

            transitions_follow(lead_ids=moved, later=True)
    return Folded(
        locked=[pk for pk, kind in rows if kind == "locked"],
        held=[pk for pk, kind in rows if kind == "held"],
    )


def activity_pending(limit: int) -> list[int]:
    """Leads with activity not folded yet (a lost task, a worker down), at most `limit`."""
    pending = LeadActivity.objects.values_list("lead_id", flat=True).distinct()
    return list(pending.order_by("lead_id")[:limit])
