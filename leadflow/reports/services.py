"""Writes of the reports app: the journey rollup, recomputed from the transition history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

# Columns written by the refresh, in the order of the SELECT below.
COLUMNS = [
    "lead_at",
    "mql_at",
    "sql_at",
    "customer_at",
    "direct_sql",
    "mql_entries",
    "mql_score",
    "mql_behaviour",
    "mql_fit",
    "sdr_id",
    "ae_id",
    "first_touch_at",
    "attempts",
    "disqualified_at",
    "disqualify_reason",
    "disqualified_from",
    "recycled_at",
    "recycle_reason",
    "recycled_from",
    "won_value",
    "origin",
    "first_touch_source",
    "first_touch_medium",
    "first_touch_campaign",
    "last_touch_source",
    "last_touch_medium",
    "last_touch_campaign",
    "refreshed_at",
]

# One statement: the stage stamps and every "first X after the first MQL" in one pass over the
# leads' transitions (a window gives each row the lead's first MQL time), attempts in a second
# aggregate, then an upsert. Ties in time are broken by id, as the Python recomputation does.
# Placeholders in braces are filled with constant SQL from this module, never user input.
_REFRESH = """
WITH target AS (
    SELECT l.id, l.source, l.first_touch_source, l.first_touch_medium, l.first_touch_campaign,
           l.last_touch_source, l.last_touch_medium, l.last_touch_campaign
    FROM stages_lead l
    WHERE l.id = ANY(%(ids)s)
),
t AS (
    SELECT t.id, t.lead_id, t.name, t.field, t.source, t.target, t.by_id, t.reason, t.data,
           t.created_at,
           min(t.created_at) FILTER (WHERE t.field = 'stage' AND t.target = 'mql')
               OVER (PARTITION BY t.lead_id) AS first_mql_at
    FROM stages_leadtransition t
    WHERE t.lead_id = ANY(%(ids)s)
),
agg AS (
    SELECT
        lead_id,
        min(created_at) FILTER (WHERE field = 'stage' AND target = 'lead') AS lead_at,
        min(first_mql_at) AS mql_at,
        min(created_at) FILTER (WHERE field = 'stage' AND target = 'sql') AS sql_at,
        min(created_at) FILTER (WHERE field = 'stage' AND target = 'customer') AS customer_at,
        coalesce((array_agg(name ORDER BY created_at, id)
            FILTER (WHERE field = 'stage' AND target = 'sql'))[1] = 'source_direct', false)
            AS direct_sql,
        count(*) FILTER (WHERE field = 'stage' AND target = 'mql') AS mql_entries,
        (array_agg(data ORDER BY created_at, id)
            FILTER (WHERE field = 'stage' AND target = 'mql'))[1] AS mql_data,
        (array_agg(coalesce(data ->> 'ae', data ->> 'owner') ORDER BY created_at, id)
            FILTER (WHERE name IN ('convert', 'book_meeting')
                    OR (name = 'source_direct' AND data ->> 'active' = 'true')))[1] AS ae_id,
        (array_agg(data ->> 'deal_value' ORDER BY created_at, id)
            FILTER (WHERE name = 'win'))[1] AS won_value,
        min(created_at) FILTER (WHERE touch) AS touch_at,
        (array_agg(by_id ORDER BY created_at, id) FILTER (WHERE touch))[1] AS touch_by,
        min(created_at) FILTER (WHERE dq) AS disqualified_at,
        (array_agg(reason ORDER BY created_at, id) FILTER (WHERE dq))[1] AS disqualify_reason,
        (array_agg(source ORDER BY created_at, id) FILTER (WHERE dq))[1] AS disqualified_from,
        min(created_at) FILTER (WHERE rc) AS recycled_at,
        (array_agg(reason ORDER BY created_at, id) FILTER (WHERE rc))[1] AS recycle_reason,
        (array_agg(source ORDER BY created_at, id) FILTER (WHERE rc))[1] AS recycled_from
    FROM (
        SELECT t.*,
               t.created_at >= t.first_mql_at AND t.by_id IS NOT NULL AND t.name <> 'qualify'
                   AS touch,
               t.created_at >= t.first_mql_at AND t.name = 'disqualify' AS dq,
               t.created_at >= t.first_mql_at AND t.name = 'recycle' AS rc
        FROM t
    ) t
    GROUP BY lead_id
),
att AS (
    SELECT a.lead_id, count(*) AS attempts, min(a.created_at) AS first_at,
           (array_agg(a.by_id ORDER BY a.created_at, a.id))[1] AS first_by
    FROM stages_attempt a JOIN agg ON agg.lead_id = a.lead_id AND a.created_at >= agg.mql_at
    WHERE a.lead_id = ANY(%(ids)s)
    GROUP BY a.lead_id
),
old AS (
    SELECT -1 AS sign, {rollup_columns} FROM reports_leadjourney WHERE lead_id = ANY(%(ids)s)
),
gone AS (
    DELETE FROM reports_leadjourney
    WHERE lead_id = ANY(%(ids)s) AND lead_id NOT IN (SELECT id FROM target)
),
new AS (
INSERT INTO reports_leadjourney (lead_id, {columns})
SELECT
    l.id,
    agg.lead_at,
    agg.mql_at,
    agg.sql_at,
    agg.customer_at,
    coalesce(agg.direct_sql, false),
    coalesce(agg.mql_entries, 0),
    (agg.mql_data ->> 'score')::int,
    (agg.mql_data ->> 'behaviour_score')::int,
    (agg.mql_data ->> 'fit_score')::int,
    coalesce(
        (agg.mql_data ->> 'owner')::bigint,
        CASE WHEN att.first_at <= agg.touch_at OR agg.touch_at IS NULL
             THEN att.first_by ELSE agg.touch_by END
    ),
    agg.ae_id::bigint,
    least(agg.touch_at, att.first_at),
    coalesce(att.attempts, 0),
    agg.disqualified_at,
    coalesce(agg.disqualify_reason, ''),
    coalesce(agg.disqualified_from, ''),
    agg.recycled_at,
    coalesce(agg.recycle_reason, ''),
    coalesce(agg.recycled_from, ''),
    agg.won_value::numeric,
    l.source,
    l.first_touch_source,
    l.first_touch_medium,
    l.first_touch_campaign,
    l.last_touch_source,
    l.last_touch_medium,
    l.last_touch_campaign,
    now()
FROM target l
LEFT JOIN agg ON agg.lead_id = l.id
LEFT JOIN att ON att.lead_id = l.id
ON CONFLICT (lead_id) DO UPDATE SET {updates}
RETURNING 1 AS sign, {rollup_columns}
),
r AS (SELECT * FROM old UNION ALL SELECT * FROM new),
days AS (
INSERT INTO reports_journeyday AS d (day, dimension, value, {day_columns})
{contributions}
ORDER BY 1, 2, 3
ON CONFLICT (dimension, day, value) DO UPDATE SET {day_updates}
)
{duration_upsert}"""

# The journey columns the day rollup is made of.
ROLLUP_COLUMNS = [
    "lead_at",
    "mql_at",
    "sql_at",
    "customer_at",
    "recycled_at",
    "disqualified_at",
    "direct_sql",
    "mql_entries",
    "mql_score",
    "sdr_id",
    "ae_id",
    "disqualify_reason",
    "recycle_reason",
    "won_value",
    "first_touch_at",
    "attempts",
    "origin",
    "first_touch_source",
    "first_touch_medium",
    "first_touch_campaign",
    "last_touch_source",
    "last_touch_medium",
    "last_touch_campaign",
]
# Each count of the day rollup: the stamp whose day it is counted on, and its condition.
DAY_COUNTS = {
    "leads": ("lead", "TRUE"),
    "leads_to_mql": ("lead", "r.mql_at IS NOT NULL"),
    "leads_to_sql": ("lead", "r.sql_at IS NOT NULL AND NOT r.direct_sql"),
    "leads_to_customer": ("lead", "r.customer_at IS NOT NULL AND NOT r.direct_sql"),
    "mqls": ("mql", "TRUE"),
    "mqls_to_sql": ("mql", "r.sql_at IS NOT NULL AND NOT r.direct_sql"),
    "mqls_disqualified": ("mql", "r.disqualified_at IS NOT NULL"),
    "mqls_recycled": ("mql", "r.recycled_at IS NOT NULL"),
    "mqls_requalified": ("mql", "r.mql_entries > 1"),
    "sqls": ("sql", "NOT r.direct_sql"),
    "sqls_to_customer": ("sql", "NOT r.direct_sql AND r.customer_at IS NOT NULL"),
    "customers": ("customer", "NOT r.direct_sql"),
    "direct_sqls": ("sql", "r.direct_sql"),
    "direct_sqls_to_customer": ("sql", "r.direct_sql AND r.customer_at IS NOT NULL"),
    "direct_customers": ("customer", "r.direct_sql"),
    "recycled": ("recycled", "TRUE"),
}
# Sums besides the counts: the won value, on the day of the win.
DAY_SUMS = {"won_value": ("customer", "coalesce(r.won_value, 0)")}
DAY_COLUMNS = [*DAY_COUNTS, *DAY_SUMS]
UNKNOWN_BAND = "unknown"
# Score bands at the first MQL: (label, lowest score in the band).
SCORE_BANDS = [("under 60", None), ("60-79", 60), ("80-99", 80), ("100-119", 100), ("120+", 120)]
BAND_SQL = (
    f"CASE WHEN r.mql_score IS NULL THEN '{UNKNOWN_BAND}' "
    + " ".join(
        f"WHEN r.mql_score >= {low} THEN '{label}'"
        for label, low in reversed(SCORE_BANDS)
        if low is not None
    )
    + f" ELSE '{SCORE_BANDS[0][0]}' END"
)
# Breakdown dimensions of the day rollup and the journey value each is made of; "all" is the
# whole funnel.
DAY_DIMENSIONS = {
    "all": "''",
    "first_touch_source": "r.first_touch_source",
    "first_touch_medium": "r.first_touch_medium",
    "first_touch_campaign": "r.first_touch_campaign",
    "last_touch_source": "r.last_touch_source",
    "last_touch_medium": "r.last_touch_medium",
    "last_touch_campaign": "r.last_touch_campaign",
    "origin": "r.origin",
    "sdr": "coalesce(r.sdr_id::text, '')",
    "score_band": BAND_SQL,
    "ae": "coalesce(r.ae_id::text, '')",
    "disqualify_reason": "r.disqualify_reason",
    "recycle_reason": "left(r.recycle_reason, 200)",
}
# A journey row r with its sign (+1 new, -1 old) counts on the local day of each of its stamps,
# once for every dimension. The time zone is the site's: a change of TIME_ZONE needs
# `manage.py journeys --rebuild-days`.
_CONTRIBUTIONS = """
SELECT f.day, dims.dimension, dims.value, {sums}
FROM r
CROSS JOIN LATERAL (VALUES
    ('lead', (r.lead_at AT TIME ZONE %(tz)s)::date),
    ('mql', (r.mql_at AT TIME ZONE %(tz)s)::date),
    ('sql', (r.sql_at AT TIME ZONE %(tz)s)::date),
    ('customer', (r.customer_at AT TIME ZONE %(tz)s)::date),
    ('recycled', (r.recycled_at AT TIME ZONE %(tz)s)::date)
) AS f(stamp, day)
CROSS JOIN LATERAL (VALUES {dimensions}) AS dims(dimension, value)
WHERE f.day IS NOT NULL
GROUP BY 1, 2, 3
{having}
"""


def _contributions(*, changes_only: bool = False) -> str:
    """The day rollup rows of the journeys in `r`; with `changes_only`, only the rows that a
    difference moves (an old and a new journey on the same day cancel out: no write)."""
    sums = [
        f"sum(r.sign * (f.stamp = '{stamp}' AND {condition})::int) AS {name}"
        for name, (stamp, condition) in DAY_COUNTS.items()
    ]
    sums += [
        f"sum(CASE WHEN f.stamp = '{stamp}' THEN r.sign * {term} ELSE 0 END) AS {name}"
        for name, (stamp, term) in DAY_SUMS.items()
    ]
    dimensions = ", ".join(f"('{key}', {value})" for key, value in DAY_DIMENSIONS.items())
    having = ""
    if changes_only:
        moved = [
            f"sum(r.sign * (f.stamp = '{stamp}' AND {condition})::int) <> 0"
            for stamp, condition in DAY_COUNTS.values()
        ]
        moved += [
            f"sum(CASE WHEN f.stamp = '{stamp}' THEN r.sign * {term} ELSE 0 END) <> 0"
            for stamp, term in DAY_SUMS.values()
        ]
        having = "HAVING " + " OR ".join(moved)
    return _CONTRIBUTIONS.format(sums=", ".join(sums), dimensions=dimensions, having=having)


# Velocity steps: (key, label, start stamp, end stamp, extra condition). A journey counts in a
# step on the day of the stamp that ends it, if it has both stamps in that order.
STEPS = [
    ("lead_mql", "Lead → MQL", "lead_at", "mql_at", "TRUE"),
    ("mql_sql", "MQL → SQL", "mql_at", "sql_at", "NOT r.direct_sql"),
    ("sql_customer", "SQL → customer", "sql_at", "customer_at", "NOT r.direct_sql"),
    ("lead_customer", "Lead → customer", "lead_at", "customer_at", "NOT r.direct_sql"),
    ("direct_customer", "Direct SQL → customer", "sql_at", "customer_at", "r.direct_sql"),
]
# Cohort times, on the day the lead became a lead: (kind, stamp reached, condition).
COHORT_TIMES = [
    ("cohort_mql", "mql_at", "TRUE"),
    ("cohort_sql", "sql_at", "NOT r.direct_sql"),
    ("cohort_customer", "customer_at", "NOT r.direct_sql"),
]
UNTOUCHED = -1


def _bucket(start: str, end: str) -> str:
    return f"reports_duration_bucket(extract(epoch FROM r.{end} - r.{start}))"


# Each duration kept in the histogram rollup: (kind, stamp whose day it counts on, key, bucket
# or NULL when the journey has none, the coarser spans kept beside the days, and for the first
# touch the attempts and the conversion to SQL of the MQL).
DURATIONS = [
    *[
        (
            key,
            f"r.{end}",
            "''",
            f"CASE WHEN r.{start} <= r.{end} AND {extra} THEN {_bucket(start, end)} END",
            "w",  # the weekly trend
            "0",
            "0",
        )
        for key, _, start, end, extra in STEPS
    ],
    *[
        (
            kind,
            "r.lead_at",
            "''",
            f"CASE WHEN {condition} THEN {_bucket('lead_at', end)} END",
            "m",
            "0",
            "0",
        )
        for kind, end, condition in COHORT_TIMES
    ],
    (
        "touch",
        "r.mql_at",
        "coalesce(r.sdr_id::text, '')",
        f"coalesce({_bucket('mql_at', 'first_touch_at')}, {UNTOUCHED})",
        "mw",  # the SDR table's long periods: whole months, then weeks, then days
        "r.attempts",
        "(r.sql_at IS NOT NULL AND NOT r.direct_sql)::int",
    ),
]
DURATION_SUMS = ["n", "attempts", "sqls"]
# The histogram rows of the journeys in `r` (with their sign), on each local day and on the
# weeks (from Monday) or months holding it (the spans are letters: "d", "w", "m").
_DURATIONS = """
SELECT x.kind, s.span,
       CASE s.span WHEN 'd' THEN x.day
                   WHEN 'w' THEN x.day - (extract(isodow FROM x.day)::int - 1)
                   ELSE date_trunc('month', x.day)::date END AS day,
       x.key, x.bucket, sum(x.sign) AS n, sum(x.sign * x.attempts) AS attempts,
       sum(x.sign * x.sqls) AS sqls
FROM (
    SELECT r.sign, d.kind, d.key, d.bucket, d.coarse, d.attempts, d.sqls,
           (d.at AT TIME ZONE %(tz)s)::date AS day
    FROM r
    CROSS JOIN LATERAL (VALUES {durations}) AS d(kind, at, key, bucket, coarse, attempts, sqls)
    WHERE d.at IS NOT NULL AND d.bucket IS NOT NULL
) x
CROSS JOIN LATERAL unnest(string_to_array('d' || x.coarse, NULL)) AS s(span)
GROUP BY 1, 2, 3, 4, 5
{having}
"""


def _durations(*, changes_only: bool = False) -> str:
    values = ", ".join(
        f"('{kind}', {at}, {key}, {bucket}, '{coarse}', {attempts}, {sqls})"
        for kind, at, key, bucket, coarse, attempts, sqls in DURATIONS
    )
    having = (
        "HAVING sum(x.sign) <> 0 OR sum(x.sign * x.attempts) <> 0 OR sum(x.sign * x.sqls) <> 0"
        if changes_only
        else ""
    )
    return _DURATIONS.format(durations=values, having=having)


_DURATION_UPSERT = f"""
INSERT INTO reports_journeyduration AS d (kind, span, day, key, bucket, {", ".join(DURATION_SUMS)})
{{durations}}
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (kind, span, day, key, bucket) DO UPDATE SET
{", ".join(f"{c} = d.{c} + EXCLUDED.{c}" for c in DURATION_SUMS)}
"""


def _statement() -> str:
    return _REFRESH.format(
        columns=", ".join(COLUMNS),
        updates=", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS),
        rollup_columns=", ".join(ROLLUP_COLUMNS),
        day_columns=", ".join(DAY_COLUMNS),
        contributions=_contributions(changes_only=True),
        day_updates=", ".join(f"{c} = d.{c} + EXCLUDED.{c}" for c in DAY_COLUMNS),
        duration_upsert=_DURATION_UPSERT.format(durations=_durations(changes_only=True)),
    )


_STATEMENT = _statement()
CHUNK = 5000
# Refreshes of up to this many leads (a transition, a batch of the ingest) call the statement
# wrapped in a PL/pgSQL function: its plan is made once a connection, not at every transition
# (planning the statement costs more than running it for one lead). The function is created by
# the migrations from `refresh_function_sql()`; a test checks that it is the current statement.
FUNCTION_UP_TO = 100


def refresh_function_sql() -> str:
    """CREATE OR REPLACE the function that runs `_STATEMENT` for an array of lead ids."""
    body = _STATEMENT.replace("%(ids)s", "p_ids").replace("%(tz)s", "p_tz")
    return f"""
CREATE OR REPLACE FUNCTION reports_journeys_refresh(p_ids bigint[], p_tz text) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $refresh$
BEGIN
{body};
END
$refresh$"""


def journeys_refresh(*, lead_ids: Iterable[int] | None = None) -> int:
    """Recompute the journeys of these leads (None: of every lead) from their history, and move
    the day rollup by the difference between each old and new journey.

    Rows of leads that no longer exist (merged away, deleted) are dropped. Returns the number of
    journeys written. Runs in the caller's transaction; for every lead, a transaction a chunk.
    """
    if lead_ids is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM stages_lead UNION SELECT lead_id FROM reports_leadjourney"
                " ORDER BY 1"
            )
            every = [pk for (pk,) in cursor.fetchall()]
            cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM reports_leadjourney)")
            (first,) = cursor.fetchone()
        if not every:
            return 0
        if first:
            return _journeys_build(every)
        written = 0
        for n in range(0, len(every), CHUNK):
            # A transaction a chunk: transitions of these leads wait for one chunk at most.
            with transaction.atomic():
                written += journeys_refresh(lead_ids=every[n : n + CHUNK])
        return written
    ids = sorted({int(pk) for pk in lead_ids})
    if not ids:
        return 0
    with connection.cursor() as cursor:
        # Lock the journeys first: a concurrent refresh of the same lead then waits, and this
        # statement's snapshot sees what it wrote, so the old row the difference is taken from
        # is the current one.
        cursor.execute(
            "SELECT 1 FROM reports_leadjourney WHERE lead_id = ANY(%s) ORDER BY lead_id FOR UPDATE",
            [ids],
        )
        if len(ids) <= FUNCTION_UP_TO:
            cursor.execute(
                "SELECT reports_journeys_refresh(%s::bigint[], %s)", [ids, settings.TIME_ZONE]
            )
        else:
            cursor.execute(_STATEMENT, {"ids": ids, "tz": settings.TIME_ZONE})
    return len(ids)


# The statement without the rollups' differences: for a first build, after which the rollups
# are made from all the journeys at once.
_BUILD = (
    _STATEMENT[: _STATEMENT.index("r AS (SELECT * FROM old UNION ALL")].rstrip().rstrip(",")
    + "\nSELECT count(*) FROM new"
)
BUILD_CHUNK = 50_000


def _journeys_build(ids: list[int]) -> int:
    """Write the journeys of these leads where there were none (a new or restored database,
    a benchmark's generated history), then the rollups from them: many times faster than moving
    the rollups lead by lead. A transition meanwhile moves its own rollup rows as usual; the
    rebuild at the end recomputes them all anyway."""
    for n in range(0, len(ids), BUILD_CHUNK):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_BUILD, {"ids": ids[n : n + BUILD_CHUNK], "tz": settings.TIME_ZONE})
    journey_days_rebuild()
    return len(ids)


def journey_days_rebuild() -> None:
    """Recompute the day and duration rollups from the journeys (after a change of TIME_ZONE,
    or to check them). Writers of journeys wait meanwhile."""
    journeys = f"WITH r AS (SELECT 1 AS sign, {', '.join(ROLLUP_COLUMNS)} FROM reports_leadjourney)"
    days = f"""{journeys}
        INSERT INTO reports_journeyday (day, dimension, value, {", ".join(DAY_COLUMNS)})
        {_contributions()}
    """
    sums = ", ".join(DURATION_SUMS)
    durations = f"""{journeys}
        INSERT INTO reports_journeyduration (kind, span, day, key, bucket, {sums}) {_durations()}
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE reports_leadjourney IN SHARE MODE")
        cursor.execute("DELETE FROM reports_journeyday")
        cursor.execute("DELETE FROM reports_journeyduration")
        cursor.execute(days, {"tz": settings.TIME_ZONE})
        cursor.execute(durations, {"tz": settings.TIME_ZONE})


def journeys_forget(*, lead_ids: Iterable[int]) -> None:
    """Drop the journeys of leads about to be deleted, and their counts from the day rollup."""
    sql = f"""
        WITH r AS (
            DELETE FROM reports_leadjourney WHERE lead_id = ANY(%(ids)s)
            RETURNING -1 AS sign, {", ".join(ROLLUP_COLUMNS)}
        ),
        days AS (
            INSERT INTO reports_journeyday AS d (day, dimension, value, {", ".join(DAY_COLUMNS)})
            {_contributions()}
            ORDER BY 1, 2, 3
            ON CONFLICT (dimension, day, value) DO UPDATE SET
            {", ".join(f"{c} = d.{c} + EXCLUDED.{c}" for c in DAY_COLUMNS)}
        )
        {_DURATION_UPSERT.format(durations=_durations())}
    """
    ids = sorted({int(pk) for pk in lead_ids})
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(sql, {"ids": ids, "tz": settings.TIME_ZONE})


def visitor_days_refresh() -> None:
    """Count the visitors of every past day again (today stays live in the reports)."""
    sql = """
        WITH counted AS (
            SELECT (first_seen_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS n
            FROM people_visitor
            WHERE first_seen_at < %(today)s
            GROUP BY 1
        ),
        days AS (
            SELECT generate_series(min(day), %(yesterday)s::date, interval '1 day')::date AS day
            FROM counted
        )
        INSERT INTO reports_visitorday (day, visitors)
        SELECT days.day, coalesce(counted.n, 0) FROM days LEFT JOIN counted USING (day)
    """
    today = timezone.localdate()
    midnight = dt.datetime.combine(today, dt.time(), tzinfo=timezone.get_current_timezone())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE reports_visitorday IN EXCLUSIVE MODE")
        cursor.execute("DELETE FROM reports_visitorday")
        cursor.execute(
            sql,
            {
                "tz": settings.TIME_ZONE,
                "today": midnight,
                "yesterday": today - dt.timedelta(days=1),
            },
        )
