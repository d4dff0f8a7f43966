"""The reports: plain functions over the rollups, one SQL statement each.

Each takes a `Period` and returns plain numbers (counts, seconds, amounts); `tables.py` turns
them into what the page and the CSV show. The benchmark times these functions directly. The
definitions of every figure are in the README ("Funnel definitions").
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from . import histograms
from .histograms import sla_bucket
from .services import COHORT_TIMES, DAY_COUNTS, SCORE_BANDS, STEPS, UNKNOWN_BAND, UNTOUCHED

__all__ = ["SCORE_BANDS", "STEPS", "UNKNOWN_BAND"]

DAY = 86400.0


@dataclass(frozen=True)
class Period:
    """Whole days, `start` to `end` inclusive, in the site's time zone."""

    start: dt.date
    end: dt.date

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=_zone())

    @property
    def until(self) -> dt.datetime:
        """The first moment after the period."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=_zone())

    def contains(self, moment: dt.datetime | None) -> bool:
        return moment is not None and self.since <= moment < self.until

    def params(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "tz": settings.TIME_ZONE}


def _zone() -> dt.tzinfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _in(column: str) -> str:
    return f"({column} >= %(since)s AND {column} < %(until)s)"


def _fetch(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# -- the funnel, and its breakdowns: sums over the day rollup --

# Breakdown dimensions: key -> label. The values are kept in the day rollup (`JourneyDay`).
DIMENSIONS: dict[str, tuple[str, str]] = {
    "first_touch_source": ("First-touch source", "first_touch_source"),
    "first_touch_medium": ("First-touch medium", "first_touch_medium"),
    "first_touch_campaign": ("First-touch campaign", "first_touch_campaign"),
    "last_touch_source": ("Last-touch source", "last_touch_source"),
    "last_touch_medium": ("Last-touch medium", "last_touch_medium"),
    "last_touch_campaign": ("Last-touch campaign", "last_touch_campaign"),
    "origin": ("Origin (how the lead came in)", "origin"),
    "sdr": ("SDR at MQL", "sdr"),
    "score_band": ("Score band at MQL", "score_band"),
}
_SUMS = ", ".join(f"sum({name})::int AS {name}" for name in DAY_COUNTS)
_ENTRIES = " + ".join(
    f"sum({name})"
    for name in ("leads", "mqls", "sqls", "customers", "direct_sqls", "direct_customers")
)
_DAYS = f"""
    SELECT value, {_SUMS}, sum(won_value) AS won_value
    FROM reports_journeyday
    WHERE dimension = %(dimension)s AND day >= %(start)s AND day <= %(end)s
    GROUP BY value
    HAVING {_ENTRIES} + sum(recycled) > 0
"""


def _day_params(period: Period, dimension: str) -> dict[str, Any]:
    return {**period.params(), "start": period.start, "end": period.end, "dimension": dimension}


# Visitors: the rolled-up past days, plus a live count from the first day not rolled up.
_VISITORS = """
    SELECT coalesce((SELECT sum(visitors) FROM reports_visitorday
                     WHERE day >= %(start)s AND day <= %(end)s), 0)
         + (SELECT count(*) FROM people_visitor
            WHERE first_seen_at >= greatest(
                      %(since)s,
                      ((SELECT max(day) + 1 FROM reports_visitorday)::timestamp
                          AT TIME ZONE %(tz)s))
              AND first_seen_at < %(until)s)
"""


def visitors(period: Period) -> int:
    """Anonymous browsers first seen in the period."""
    return _fetch(f"SELECT ({_VISITORS})::int AS n", _day_params(period, "all"))[0]["n"]


def funnel(period: Period) -> dict[str, Any]:
    """The period's funnel: visitors, then each stage's first entries and how many went on."""
    sql = f"""
        SELECT ({_VISITORS})::int AS visitors,
               f.* FROM (SELECT 1) one LEFT JOIN ({_DAYS}) f ON true
    """
    row = _fetch(sql, _day_params(period, "all"))[0]
    row.pop("value")
    row = {k: 0 if v is None else v for k, v in row.items()}
    row["won_value"] = Decimal(row["won_value"])
    return row


def breakdown(period: Period, dimension: str) -> list[dict[str, Any]]:
    """The funnel counts for each value of a dimension, most leads first."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"no dimension {dimension!r}")
    if dimension == "sdr":
        sql = f"""
            SELECT coalesce(u.username, '') AS name, b.* FROM ({_DAYS}) b
            LEFT JOIN auth_user u ON u.id = nullif(b.value, '')::bigint
        """
    else:
        sql = _DAYS
    rows = _fetch(sql, _day_params(period, dimension))
    if dimension == "sdr":
        for row in rows:
            row["value"] = row.pop("name")
    if dimension == "score_band":
        order = [label for label, _ in SCORE_BANDS] + [UNKNOWN_BAND]
        return sorted(rows, key=lambda r: order.index(r["value"]))
    return sorted(rows, key=lambda r: (-r["leads"], -r["mqls"], -r["sqls"], r["value"] or ""))


# -- percentiles: sums over the histogram rollup --


def _whole(start: dt.date, end: dt.date, span: str) -> tuple[dt.date, dt.date] | None:
    """The first days [c0, c1) of the weeks ("w") or months ("m") wholly inside start..end."""
    after = end + dt.timedelta(days=1)
    if span == "w":
        c0 = start + dt.timedelta(days=(7 - start.weekday()) % 7)
        c1 = after - dt.timedelta(days=after.weekday())
    else:
        c0 = start if start.day == 1 else (start.replace(day=28) + dt.timedelta(days=4))
        c0 = c0.replace(day=1)
        c1 = after.replace(day=1)
    return (c0, c1) if c0 < c1 else None


def _ranges(start: dt.date, end: dt.date, spans: tuple[str, ...]) -> list[tuple[str, Any, Any]]:
    """Cover the days start..end exactly with the fewest rollup rows: (span, first day from,
    first day before) for the whole months or weeks (coarsest first) inside, then days."""
    if start > end:
        return []
    if not spans:
        return [("d", start, end + dt.timedelta(days=1))]
    whole = _whole(start, end, spans[0])
    if whole is None:
        return _ranges(start, end, spans[1:])
    c0, c1 = whole
    return [
        *_ranges(start, c0 - dt.timedelta(days=1), spans[1:]),
        (spans[0], c0, c1),
        *_ranges(c1, end, spans[1:]),
    ]


def _rows(
    kinds: list[str],
    spans: tuple[str, ...],
    start: dt.date,
    end: dt.date,
    *,
    name: str,
    group: str = "''",
    where: str = "",
) -> tuple[str, dict[str, Any]]:
    """The histogram rows (kind, grp, key, bucket, n, attempts, sqls) of the days start..end:
    one index range scan a span. `group` is an expression of the day (a whole span is its own
    group); the parameters are named after `name`."""
    parts = ["SELECT '' AS kind, NULL AS grp, '' AS key, 0 AS bucket, 0 AS n, 0 AS attempts,"
             " 0 AS sqls WHERE false"]  # fmt: skip
    params: dict[str, Any] = {}
    for i, (span, low, high) in enumerate(_ranges(start, end, spans)):
        grp = group if span == "d" or group == "''" else "day"
        parts.append(
            f"""SELECT kind, {grp}, key, bucket, n, attempts, sqls FROM reports_journeyduration
            WHERE kind = ANY(ARRAY{kinds!r}) AND span = '{span}'
              AND day >= %({name}{i}_from)s AND day < %({name}{i}_to)s {where}"""
        )
        params |= {f"{name}{i}_from": low, f"{name}{i}_to": high}
    return " UNION ALL ".join(parts), params


def _histogram(
    kinds: list[str], spans: tuple[str, ...], period: Period, group: str = "''"
) -> tuple[str, dict[str, Any]]:
    """Per kind, group and key: each bucket's sums over the period."""
    rows, params = _rows(kinds, spans, period.start, period.end, name="h", group=group)
    sql = f"""
        SELECT kind, grp, key, bucket, sum(n) AS n, sum(attempts) AS attempts,
               sum(sqls) AS sqls
        FROM ({rows}) x
        GROUP BY 1, 2, 3, 4
    """
    return sql, params


def _percentiles(histogram: str) -> str:
    """Count, and the buckets of the median and 90th percentile (nearest rank) of each group
    of a `_histogram`; untouched MQLs (bucket -1) are not durations."""
    return f"""
        WITH h AS (SELECT * FROM ({histogram}) h WHERE bucket >= 0 AND n > 0),
        c AS (
            SELECT kind, grp, key, bucket,
                   sum(n) OVER (PARTITION BY kind, grp, key ORDER BY bucket) AS cum,
                   sum(n) OVER (PARTITION BY kind, grp, key) AS total
            FROM h
        )
        SELECT kind, grp, key, max(total)::int AS n,
               min(bucket) FILTER (WHERE cum >= ceil(0.5 * total - 1e-9)) AS b50,
               min(bucket) FILTER (WHERE cum >= ceil(0.9 * total - 1e-9)) AS b90
        FROM c GROUP BY 1, 2, 3
    """


def _value(b: int | None) -> float | None:
    return None if b is None else histograms.value(b)


# The first-touch histogram is also kept by month: the SDR table reads whole months, then
# whole weeks, then days.
TOUCH_SPANS = ("m", "w")
_WEEK_OF = "(day - (extract(isodow FROM day)::int - 1))"
_MONTH_OF = "date_trunc('month', day)::date"


# -- cohorts --

COHORT_DAYS = {"cohort_mql": "days_to_mql", "cohort_sql": "days_to_sql",
               "cohort_customer": "days_to_customer"}  # fmt: skip


def cohorts(period: Period) -> list[dict[str, Any]]:
    """Leads by the month they first became leads (the period's days of each month): how many
    reached each stage by now, and the median days it took (to within its bucket)."""
    kinds = [kind for kind, *_ in COHORT_TIMES]
    histogram, params = _histogram(kinds, ("m",), period, _MONTH_OF)
    sql = f"""
        WITH counts AS (
            SELECT date_trunc('month', day)::date AS month, sum(leads)::int AS leads,
                   sum(leads_to_mql)::int AS mqls, sum(leads_to_sql)::int AS sqls,
                   sum(leads_to_customer)::int AS customers
            FROM reports_journeyday
            WHERE dimension = 'all' AND day >= %(start)s AND day <= %(end)s
            GROUP BY 1 HAVING sum(leads) > 0
        ),
        medians AS ({_percentiles(histogram)})
        SELECT counts.*, m.kind, m.b50
        FROM counts LEFT JOIN medians m ON m.grp = counts.month
        ORDER BY month
    """
    rows: dict[dt.date, dict[str, Any]] = {}
    for hit in _fetch(sql, {**_day_params(period, "all"), **params}):
        kind, b50 = hit.pop("kind"), hit.pop("b50")
        row = rows.setdefault(hit["month"], {**hit, **dict.fromkeys(COHORT_DAYS.values())})
        if kind is not None:
            row[COHORT_DAYS[kind]] = histograms.value(b50) / DAY
    return list(rows.values())


# -- velocity --


def velocity(period: Period) -> list[dict[str, Any]]:
    """Count, median and 90th percentile time (seconds, to within its bucket) of each step
    completed in the period."""
    kinds = [key for key, *_ in STEPS]
    histogram, params = _histogram(kinds, ("w",), period)
    found = {row["kind"]: row for row in _fetch(_percentiles(histogram), params)}
    rows = []
    for key, label, *_ in STEPS:
        hit = found.get(key, {})
        rows.append(
            {
                "step": key,
                "label": label,
                "n": hit.get("n", 0),
                "p50": _value(hit.get("b50")),
                "p90": _value(hit.get("b90")),
            }
        )
    return rows


def velocity_trend(period: Period) -> list[dict[str, Any]]:
    """The median of each main-path step by week (from Monday) of its completion; every week
    of the period has a row, with None where no lead completed the step."""
    kinds = [key for key, *_ in STEPS[:4]]
    histogram, params = _histogram(kinds, ("w",), period, _WEEK_OF)
    found = {(r["kind"], r["grp"]): r for r in _fetch(_percentiles(histogram), params)}
    week = period.start - dt.timedelta(days=period.start.weekday())
    rows = []
    while week <= period.end:
        row: dict[str, Any] = {"week": week}
        for key in kinds:
            hit = found.get((key, week))
            row[f"{key}_n"] = hit["n"] if hit else 0
            row[f"{key}_p50"] = _value(hit["b50"]) if hit else None
        rows.append(row)
        week += dt.timedelta(days=7)
    return rows


# -- the team --


def sdr_performance(period: Period, *, sdr_id: int | None = None) -> list[dict[str, Any]]:
    """For the MQLs of the period, by the SDR credited with each: first touch (median and 90th
    percentile to within their bucket), SLA breaches, attempts, conversion to SQL. `sdr_id`
    keeps one SDR's row."""
    from stages.models import StageRules

    now = timezone.now()
    sla_hours = StageRules.current().mql_sla_hours
    sla = dt.timedelta(hours=sla_hours)
    # Untouched MQLs breach once their SLA has run out: those of whole days before the day it
    # runs out on come from the rollup, that day's from the journeys (an index range scan).
    cutoff = now - sla
    cutoff_day = timezone.localtime(cutoff).date()
    untouched_end = min(period.end, cutoff_day - dt.timedelta(days=1))
    last = sla_bucket(sla_hours)
    one = "AND key = %(sdr)s" if sdr_id is not None else ""
    histogram, params = _histogram(["touch"], TOUCH_SPANS, period)
    untouched, untouched_params = _rows(
        ["touch"],
        TOUCH_SPANS,
        period.start,
        untouched_end,
        name="u",
        where=f"AND bucket = {UNTOUCHED} {one}",
    )
    params |= {
        **untouched_params,
        **period.params(),
        "sdr": "" if sdr_id is None else str(sdr_id),
        "late_bucket": 10_000 if last is None else last,
        "cutoff": cutoff,
        "cutoff_since": max(period.since, Period(cutoff_day, cutoff_day).since),
        "sla": sla,
    }
    one_journey = "AND coalesce(sdr_id::text, '') = %(sdr)s" if sdr_id is not None else ""
    # An SLA longer than a week is no bucket bound: its late touches are counted on the journeys.
    late_journeys = (
        ""
        if last is not None
        else f"""UNION ALL
            SELECT coalesce(sdr_id::text, ''), count(*) FROM reports_leadjourney
            WHERE {_in("mql_at")} AND first_touch_at > mql_at + %(sla)s {one_journey}
            GROUP BY 1"""
    )
    # One read of the first-touch histogram: the MQLs (bucket -1: not touched), their attempts
    # and SQLs, the touched ones' percentiles and late touches.
    sql = f"""
        WITH h AS (
            SELECT key, bucket, n, attempts, sqls,
                   sum(n) FILTER (WHERE bucket >= 0) OVER (PARTITION BY key ORDER BY bucket)
                       AS cum,
                   sum(n) FILTER (WHERE bucket >= 0) OVER (PARTITION BY key) AS touched
            FROM ({histogram}) h
            WHERE n <> 0 {one}
        ),
        per_sdr AS (
            SELECT key, sum(n)::int AS mqls, coalesce(max(touched), 0)::int AS touched,
                   min(bucket) FILTER (WHERE bucket >= 0 AND cum >= ceil(0.5 * touched - 1e-9))
                       AS b50,
                   min(bucket) FILTER (WHERE bucket >= 0 AND cum >= ceil(0.9 * touched - 1e-9))
                       AS b90,
                   coalesce(sum(n) FILTER (WHERE bucket > %(late_bucket)s), 0) AS late,
                   sum(attempts)::int AS attempts, sum(sqls)::int AS sqls
            FROM h GROUP BY key HAVING sum(n) > 0
        ),
        breaches AS (
            SELECT key, sum(n) AS n FROM (
                SELECT key, n FROM ({untouched}) u
                UNION ALL
                SELECT coalesce(sdr_id::text, ''), count(*) FROM reports_leadjourney
                WHERE mql_at >= %(cutoff_since)s AND mql_at < %(cutoff)s
                  AND mql_at < %(until)s AND first_touch_at IS NULL {one_journey}
                GROUP BY 1
                {late_journeys}
            ) b
            GROUP BY key
        )
        SELECT nullif(s.key, '')::bigint AS sdr_id, coalesce(u.username, '') AS sdr,
               s.mqls, s.touched, s.b50, s.b90,
               (s.late + coalesce(b.n, 0))::int AS sla_breaches, s.attempts, s.sqls
        FROM per_sdr s
        LEFT JOIN breaches b ON b.key = s.key
        LEFT JOIN auth_user u ON u.id = nullif(s.key, '')::bigint
        ORDER BY s.mqls DESC, u.username NULLS LAST
    """
    rows = _fetch(sql, params)
    for row in rows:
        row["touch_p50"] = _value(row.pop("b50"))
        row["touch_p90"] = _value(row.pop("b90"))
    return rows


def ae_performance(period: Period, *, ae_id: int | None = None) -> list[dict[str, Any]]:
    """By the AE each SQL was handed to: the period's SQLs (both paths) and how many were won
    by now; deals won in the period and their value."""
    one = "AND value = %(ae)s" if ae_id is not None else ""
    sql = f"""
        SELECT nullif(b.value, '')::bigint AS ae_id, coalesce(u.username, '') AS ae,
               b.sqls, b.sqls_won, b.won, b.won_value
        FROM (
            SELECT value, sum(sqls + direct_sqls)::int AS sqls,
                   sum(sqls_to_customer + direct_sqls_to_customer)::int AS sqls_won,
                   sum(customers + direct_customers)::int AS won,
                   sum(won_value) AS won_value
            FROM reports_journeyday
            WHERE dimension = 'ae' AND day >= %(start)s AND day <= %(end)s {one}
            GROUP BY value
            HAVING sum(sqls + direct_sqls + customers + direct_customers) > 0
        ) b
        LEFT JOIN auth_user u ON u.id = nullif(b.value, '')::bigint
        ORDER BY b.sqls DESC, u.username NULLS LAST
    """
    params = {**_day_params(period, "ae"), "ae": str(ae_id)}
    return _fetch(sql, params)


# -- quality --


def quality_reasons(period: Period) -> list[dict[str, Any]]:
    """Of the period's MQLs, those later disqualified or recycled, by reason."""
    sql = """
        SELECT 'disqualified' AS outcome, value AS reason, sum(mqls_disqualified)::int AS n
        FROM reports_journeyday
        WHERE dimension = 'disqualify_reason' AND day >= %(start)s AND day <= %(end)s
        GROUP BY value HAVING sum(mqls_disqualified) > 0
        UNION ALL
        SELECT 'recycled', value, sum(mqls_recycled)::int
        FROM reports_journeyday
        WHERE dimension = 'recycle_reason' AND day >= %(start)s AND day <= %(end)s
        GROUP BY value HAVING sum(mqls_recycled) > 0
        ORDER BY 1, 3 DESC, 2
    """
    return _fetch(sql, _day_params(period, ""))


def sql_to_customer_by_source(period: Period) -> list[dict[str, Any]]:
    """The period's SQLs (both paths) by first-touch source, and how many were won by now."""
    sql = """
        SELECT value AS source, sum(sqls + direct_sqls)::int AS sqls,
               sum(sqls_to_customer + direct_sqls_to_customer)::int AS won
        FROM reports_journeyday
        WHERE dimension = 'first_touch_source' AND day >= %(start)s AND day <= %(end)s
        GROUP BY value HAVING sum(sqls + direct_sqls) > 0
        ORDER BY 2 DESC, 1
    """
    return _fetch(sql, _day_params(period, ""))
