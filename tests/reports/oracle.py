"""The reports recomputed in plain Python from the raw records, for the correctness tests.

Independent of the journey table and of the report SQL: it reads `LeadTransition`, `Attempt`,
`Lead` and `Visitor` rows and applies the README's funnel definitions directly.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.contrib.auth import get_user_model

from leadflow.people.models import Visitor
from leadflow.reports.queries import SCORE_BANDS, UNKNOWN_BAND, Period
from stages.models import Attempt, Lead, LeadTransition


@dataclass
class J:
    lead_id: int
    lead: Lead
    lead_at: dt.datetime | None = None
    mql_at: dt.datetime | None = None
    sql_at: dt.datetime | None = None
    customer_at: dt.datetime | None = None
    direct: bool = False
    mql_entries: int = 0
    score: int | None = None
    sdr_id: int | None = None
    ae_id: int | None = None
    first_touch_at: dt.datetime | None = None
    attempts: int = 0
    disqualified_at: dt.datetime | None = None
    disqualify_reason: str = ""
    recycled_at: dt.datetime | None = None
    recycle_reason: str = ""
    won_value: Decimal | None = None
    moves: list = field(default_factory=list)


def journeys() -> dict[int, J]:
    leads = {lead.pk: lead for lead in Lead.objects.all()}
    out = {pk: J(pk, lead) for pk, lead in leads.items()}
    by_lead = defaultdict(list)
    for t in LeadTransition.objects.order_by("created_at", "id"):
        by_lead[t.lead_id].append(t)
    attempts = defaultdict(list)
    for a in Attempt.objects.order_by("created_at", "id"):
        attempts[a.lead_id].append(a)
    for pk, j in out.items():
        history = by_lead.get(pk, [])
        entries = [t for t in history if t.field == "stage"]
        firsts: dict[str, Any] = {}
        for t in entries:
            firsts.setdefault(t.target, t)
        j.lead_at = firsts["lead"].created_at if "lead" in firsts else None
        j.mql_at = firsts["mql"].created_at if "mql" in firsts else None
        j.sql_at = firsts["sql"].created_at if "sql" in firsts else None
        j.customer_at = firsts["customer"].created_at if "customer" in firsts else None
        j.direct = "sql" in firsts and firsts["sql"].name == "source_direct"
        j.mql_entries = sum(1 for t in entries if t.target == "mql")
        for t in history:
            if t.name in ("convert", "book_meeting") or (
                t.name == "source_direct" and t.data.get("active") is True
            ):
                j.ae_id = t.data.get("ae", t.data.get("owner"))
                break
        wins = [t for t in history if t.name == "win"]
        if wins and wins[0].data.get("deal_value") is not None:
            j.won_value = Decimal(wins[0].data["deal_value"])
        if j.mql_at is None:
            continue
        qualify = firsts["mql"]
        j.score = qualify.data.get("score")
        after = [t for t in history if t.created_at >= j.mql_at]
        touches = [(t.created_at, t.by_id) for t in after if t.by_id and t.name != "qualify"]
        lead_attempts = [a for a in attempts.get(pk, []) if a.created_at >= j.mql_at]
        j.attempts = len(lead_attempts)
        first_attempt = [(a.created_at, a.by_id) for a in lead_attempts[:1]]
        first = min(touches[:1] + first_attempt, key=lambda x: x[0], default=None)
        if touches and first_attempt and first_attempt[0][0] <= touches[0][0]:
            first = first_attempt[0]
        j.first_touch_at = first[0] if first else None
        j.sdr_id = qualify.data.get("owner") or (first[1] if first else None)
        for t in after:
            if t.name == "disqualify":
                j.disqualified_at, j.disqualify_reason = t.created_at, t.reason
                break
        for t in after:
            if t.name == "recycle":
                j.recycled_at, j.recycle_reason = t.created_at, t.reason
                break
    return out


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank percentile: the value at rank ceil(p * n), counting from 1.

    Computed on the exact durations; the reports give the bucket holding it (`histograms.py`).
    """
    if not values:
        return None
    values = sorted(values)
    return values[math.ceil(Fraction(str(p)) * len(values)) - 1]


def secs(delta: dt.timedelta) -> float:
    return delta.total_seconds()


def funnel(js: dict[int, J], p: Period) -> dict[str, Any]:
    v = list(js.values())
    c = p.contains
    return {
        "visitors": sum(1 for x in Visitor.objects.all() if c(x.first_seen_at)),
        "leads": sum(1 for j in v if c(j.lead_at)),
        "leads_to_mql": sum(1 for j in v if c(j.lead_at) and j.mql_at),
        "leads_to_sql": sum(1 for j in v if c(j.lead_at) and j.sql_at and not j.direct),
        "leads_to_customer": sum(1 for j in v if c(j.lead_at) and j.customer_at and not j.direct),
        "mqls": sum(1 for j in v if c(j.mql_at)),
        "mqls_to_sql": sum(1 for j in v if c(j.mql_at) and j.sql_at and not j.direct),
        "mqls_disqualified": sum(1 for j in v if c(j.mql_at) and j.disqualified_at),
        "mqls_recycled": sum(1 for j in v if c(j.mql_at) and j.recycled_at),
        "mqls_requalified": sum(1 for j in v if c(j.mql_at) and j.mql_entries > 1),
        "sqls": sum(1 for j in v if c(j.sql_at) and not j.direct),
        "sqls_to_customer": sum(1 for j in v if c(j.sql_at) and not j.direct and j.customer_at),
        "customers": sum(1 for j in v if c(j.customer_at) and not j.direct),
        "direct_sqls": sum(1 for j in v if c(j.sql_at) and j.direct),
        "direct_sqls_to_customer": sum(1 for j in v if c(j.sql_at) and j.direct and j.customer_at),
        "direct_customers": sum(1 for j in v if c(j.customer_at) and j.direct),
        "recycled": sum(1 for j in v if c(j.recycled_at)),
        "won_value": sum((j.won_value or 0 for j in v if c(j.customer_at)), Decimal(0)),
    }


def band(score: int | None) -> str:
    if score is None:
        return UNKNOWN_BAND
    label = SCORE_BANDS[0][0]
    for name, low in SCORE_BANDS[1:]:
        if score >= low:
            label = name
    return label


def dimension_value(j: J, dimension: str) -> str:
    if dimension == "score_band":
        return band(j.score)
    if dimension == "sdr":
        users = {u.pk: u.username for u in get_user_model().objects.all()}
        return users.get(j.sdr_id, "")
    if dimension == "origin":
        return j.lead.source
    return getattr(j.lead, dimension)


def breakdown(js: dict[int, J], p: Period, dimension: str) -> dict[str, dict[str, Any]]:
    groups = defaultdict(dict)
    for pk, j in js.items():
        groups[dimension_value(j, dimension)][pk] = j
    out = {}
    for value, members in groups.items():
        counts = funnel(members, p)
        counts.pop("visitors")
        if any(n for k, n in counts.items() if k != "won_value"):
            out[value] = counts
    return out


def cohorts(js: dict[int, J], p: Period) -> list[dict[str, Any]]:
    months = defaultdict(list)
    for j in js.values():
        if p.contains(j.lead_at):
            local = j.lead_at.astimezone(p.since.tzinfo)
            months[local.date().replace(day=1)].append(j)
    rows = []
    for month in sorted(months):
        m = months[month]
        main = [j for j in m if not j.direct]
        rows.append(
            {
                "month": month,
                "leads": len(m),
                "mqls": sum(1 for j in m if j.mql_at),
                "sqls": sum(1 for j in main if j.sql_at),
                "customers": sum(1 for j in main if j.customer_at),
                "days_to_mql": _median_days(m, "mql_at"),
                "days_to_sql": _median_days(main, "sql_at"),
                "days_to_customer": _median_days(main, "customer_at"),
            }
        )
    return rows


def _median_days(members: list[J], stamp: str) -> float | None:
    values = [secs(getattr(j, stamp) - j.lead_at) for j in members if getattr(j, stamp)]
    median = percentile(values, 0.5)
    return None if median is None else median / 86400


STEP_RULES = {
    "lead_mql": ("lead_at", "mql_at", lambda j: True),
    "mql_sql": ("mql_at", "sql_at", lambda j: not j.direct),
    "sql_customer": ("sql_at", "customer_at", lambda j: not j.direct),
    "lead_customer": ("lead_at", "customer_at", lambda j: not j.direct),
    "direct_customer": ("sql_at", "customer_at", lambda j: j.direct),
}


def step_durations(js: dict[int, J], p: Period, step: str) -> list[tuple[dt.datetime, float]]:
    start, end, rule = STEP_RULES[step]
    out = []
    for j in js.values():
        a, b = getattr(j, start), getattr(j, end)
        if a and b and a <= b and rule(j) and p.contains(b):
            out.append((b, secs(b - a)))
    return out


def velocity(js: dict[int, J], p: Period) -> dict[str, tuple[int, float | None, float | None]]:
    out = {}
    for step in STEP_RULES:
        values = [d for _, d in step_durations(js, p, step)]
        out[step] = (len(values), percentile(values, 0.5), percentile(values, 0.9))
    return out


def velocity_trend(js: dict[int, J], p: Period) -> dict[tuple[str, dt.date], tuple[int, float]]:
    out = {}
    for step in list(STEP_RULES)[:4]:
        weeks = defaultdict(list)
        for end, d in step_durations(js, p, step):
            day = end.astimezone(p.since.tzinfo).date()
            weeks[day - dt.timedelta(days=day.weekday())].append(d)
        for week, values in weeks.items():
            out[(step, week)] = (len(values), percentile(values, 0.5))
    return out


def sdr_performance(js: dict[int, J], p: Period, sla: dt.timedelta, now: dt.datetime) -> dict:
    groups = defaultdict(list)
    for j in js.values():
        if p.contains(j.mql_at):
            groups[j.sdr_id].append(j)
    out = {}
    for sdr_id, m in groups.items():
        touch = [secs(j.first_touch_at - j.mql_at) for j in m if j.first_touch_at]
        out[sdr_id] = {
            "mqls": len(m),
            "touched": len(touch),
            "touch_p50": percentile(touch, 0.5),
            "touch_p90": percentile(touch, 0.9),
            "sla_breaches": sum(
                1
                for j in m
                if (j.first_touch_at and j.first_touch_at > j.mql_at + sla)
                or (j.first_touch_at is None and j.mql_at + sla < now)
            ),
            "attempts": sum(j.attempts for j in m),
            "sqls": sum(1 for j in m if j.sql_at and not j.direct),
        }
    return out


def ae_performance(js: dict[int, J], p: Period) -> dict:
    out = defaultdict(lambda: {"sqls": 0, "sqls_won": 0, "won": 0, "won_value": Decimal(0)})
    for j in js.values():
        if not (p.contains(j.sql_at) or p.contains(j.customer_at)):
            continue
        row = out[j.ae_id]
        if p.contains(j.sql_at):
            row["sqls"] += 1
            row["sqls_won"] += bool(j.customer_at)
        if p.contains(j.customer_at):
            row["won"] += 1
            row["won_value"] += j.won_value or 0
    return dict(out)


def quality_reasons(js: dict[int, J], p: Period) -> dict[tuple[str, str], int]:
    out = defaultdict(int)
    for j in js.values():
        if p.contains(j.mql_at):
            if j.disqualified_at:
                out[("disqualified", j.disqualify_reason)] += 1
            if j.recycled_at:
                out[("recycled", j.recycle_reason[:200])] += 1
    return dict(out)


def sql_to_customer_by_source(js: dict[int, J], p: Period) -> dict[str, tuple]:
    out = defaultdict(lambda: [0, 0])
    for j in js.values():
        if p.contains(j.sql_at):
            row = out[j.lead.first_touch_source]
            row[0] += 1
            row[1] += bool(j.customer_at)
    return {k: tuple(v) for k, v in out.items()}
