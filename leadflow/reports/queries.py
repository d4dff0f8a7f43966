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

from .services import DAY_COUNTS, SCORE_BANDS, UNKNOWN_BAND

__all__ = ["SCORE_BANDS", "UNKNOWN_BAND"]


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


# -- cohorts --


def cohorts(period: Period) -> list[dict[str, Any]]:
    """Leads by the month they first became leads (months starting in the period): how many
    reached each stage by now, and the median days it took."""
    # Counts from the day rollup; medians from the journeys of the leads that reached MQL (every
    # lead that reached SQL or customer through the funnel did), through a partial index.
    sql = f"""
        WITH counts AS (
            SELECT date_trunc('month', day)::date AS month, sum(leads)::int AS leads,
                   sum(leads_to_mql)::int AS mqls, sum(leads_to_sql)::int AS sqls,
                   sum(leads_to_customer)::int AS customers
            FROM reports_journeyday
            WHERE dimension = 'all' AND day >= %(start)s AND day <= %(end)s
            GROUP BY 1 HAVING sum(leads) > 0
        ),
        medians AS (
            SELECT date_trunc('month', lead_at AT TIME ZONE %(tz)s)::date AS month,
                   percentile_cont(0.5) WITHIN GROUP (
                       ORDER BY extract(epoch FROM mql_at - lead_at)) AS days_to_mql,
                   percentile_cont(0.5) WITHIN GROUP (
                       ORDER BY extract(epoch FROM sql_at - lead_at))
                       FILTER (WHERE sql_at IS NOT NULL AND NOT direct_sql) AS days_to_sql,
                   percentile_cont(0.5) WITHIN GROUP (
                       ORDER BY extract(epoch FROM customer_at - lead_at))
                       FILTER (WHERE customer_at IS NOT NULL AND NOT direct_sql)
                       AS days_to_customer
            FROM reports_leadjourney
            WHERE {_in("lead_at")} AND mql_at IS NOT NULL
            GROUP BY 1
        )
        SELECT counts.*, medians.days_to_mql, medians.days_to_sql, medians.days_to_customer
        FROM counts LEFT JOIN medians USING (month)
        ORDER BY month
    """
    rows = _fetch(sql, _day_params(period, "all"))
    for row in rows:
        for key in ("days_to_mql", "days_to_sql", "days_to_customer"):
            if row[key] is not None:
                row[key] = row[key] / 86400
    return rows


# -- velocity --

# Each step: (key, label, start column, end column, extra condition). Durations are counted for
# the leads that completed the step in the period (its end falls in the period).
STEPS = [
    ("lead_mql", "Lead → MQL", "lead_at", "mql_at", "TRUE"),
    ("mql_sql", "MQL → SQL", "mql_at", "sql_at", "NOT direct_sql"),
    ("sql_customer", "SQL → customer", "sql_at", "customer_at", "NOT direct_sql"),
    ("lead_customer", "Lead → customer", "lead_at", "customer_at", "NOT direct_sql"),
    ("direct_customer", "Direct SQL → customer", "sql_at", "customer_at", "direct_sql"),
]


def _step_sql(start: str, end: str, extra: str) -> str:
    return f"{_in(end)} AND {start} IS NOT NULL AND {start} <= {end} AND {extra}"


def velocity(period: Period) -> list[dict[str, Any]]:
    """Median and 90th percentile time (seconds) of each step completed in the period."""
    # A query a step, each an index-only range scan of the stamp that ends it.
    parts = [
        f"""SELECT '{key}' AS step, count(*) AS n,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM {end} - {start}))
                   AS p50,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM {end} - {start}))
                   AS p90
        FROM reports_leadjourney WHERE {_step_sql(start, end, extra)}"""
        for key, _, start, end, extra in STEPS
    ]
    found = {row["step"]: row for row in _fetch(" UNION ALL ".join(parts), period.params())}
    return [
        {
            "step": key,
            "label": label,
            "n": found[key]["n"],
            "p50": found[key]["p50"],
            "p90": found[key]["p90"],
        }
        for key, label, *_ in STEPS
    ]


def velocity_trend(period: Period) -> list[dict[str, Any]]:
    """The median of each main-path step by week (from Monday) of its completion; every week
    of the period has a row, with None where no lead completed the step."""
    parts = []
    for key, _, start, end, extra in STEPS[:4]:
        parts.append(
            f"""SELECT '{key}' AS step,
                   date_trunc('week', {end} AT TIME ZONE %(tz)s)::date AS week,
                   count(*) AS n,
                   percentile_cont(0.5) WITHIN GROUP (
                       ORDER BY extract(epoch FROM {end} - {start})) AS p50
            FROM reports_leadjourney WHERE {_step_sql(start, end, extra)} GROUP BY 2"""
        )
    found = {(r["step"], r["week"]): r for r in _fetch(" UNION ALL ".join(parts), period.params())}
    week = period.start - dt.timedelta(days=period.start.weekday())
    rows = []
    while week <= period.end:
        row: dict[str, Any] = {"week": week}
        for key, *_ in STEPS[:4]:
            hit = found.get((key, week))
            row[f"{key}_n"] = hit["n"] if hit else 0
            row[f"{key}_p50"] = hit["p50"] if hit else None
        rows.append(row)
        week += dt.timedelta(days=7)
    return rows


# -- the team --


def sdr_performance(period: Period, *, sdr_id: int | None = None) -> list[dict[str, Any]]:
    """For the MQLs of the period, by the SDR credited with each: first touch, SLA, attempts,
    conversion to SQL. `sdr_id` keeps one SDR's row."""
    from stages.models import StageRules

    params = {
        **period.params(),
        "sla": dt.timedelta(hours=StageRules.current().mql_sla_hours),
        "now": timezone.now(),
        "sdr": sdr_id,
    }
    one = "AND j.sdr_id = %(sdr)s" if sdr_id is not None else ""
    sql = f"""
        SELECT j.sdr_id, coalesce(u.username, '') AS sdr,
               count(*) AS mqls,
               count(first_touch_at) AS touched,
               percentile_cont(0.5) WITHIN GROUP (
                   ORDER BY extract(epoch FROM first_touch_at - mql_at)) AS touch_p50,
               percentile_cont(0.9) WITHIN GROUP (
                   ORDER BY extract(epoch FROM first_touch_at - mql_at)) AS touch_p90,
               count(*) FILTER (WHERE first_touch_at > mql_at + %(sla)s
                                OR (first_touch_at IS NULL AND mql_at + %(sla)s < %(now)s))
                   AS sla_breaches,
               coalesce(sum(attempts), 0) AS attempts,
               count(*) FILTER (WHERE sql_at IS NOT NULL AND NOT direct_sql) AS sqls
        FROM reports_leadjourney j LEFT JOIN auth_user u ON u.id = j.sdr_id
        WHERE {_in("j.mql_at")} {one}
        GROUP BY j.sdr_id, u.username
        ORDER BY count(*) DESC, u.username NULLS LAST
    """
    return _fetch(sql, params)


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
