"""What a draft of the rules would do, computed on the real data before anything is saved.

The draft's scores of every lead come from the same statement the rescore writes
(`scoring.sql.scores_select`), into a temporary table; a few aggregate queries over it and the
leads then say who would become an MQL, which MQLs would start cooling, and how the leads the
draft's MQL rule selects converted so far.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Min

from leadflow.people.models import Contact
from stages.models import FIT_FIELDS, Lead, StageRules

from . import engine, sql
from .drafts import engine_rules, stage_rules_of

LIMIT = 20


@dataclass
class Conversion:
    """Of the leads in a set that ever became an MQL, how many reached SQL and Customer."""

    label: str
    mql: int = 0
    sql: int = 0
    customer: int = 0

    @property
    def sql_rate(self) -> float | None:
        return self.sql / self.mql if self.mql else None

    @property
    def customer_rate(self) -> float | None:
        return self.customer / self.mql if self.mql else None


@dataclass
class Change:
    lead: Lead
    behaviour: int
    fit: int

    @property
    def score(self) -> int:
        return self.behaviour + self.fit


@dataclass
class WhatIf:
    now: dt.datetime
    stage_rules: StageRules
    leads: int = 0
    rescored: int = 0  # leads whose scores the draft changes
    meet: int = 0  # leads (stage lead) that meet the draft's MQL rule and may be qualified
    qualify: int = 0  # of those, how many the worker would qualify (auto-qualify on)
    cooling: int = 0  # MQLs that would start cooling
    warming: int = 0  # cooling MQLs that would meet the rule again
    to_qualify: list[Change] = field(default_factory=list)
    to_cool: list[Change] = field(default_factory=list)
    history: list[Conversion] = field(default_factory=list)


def _meets(rules: StageRules, p: dict[str, Any], b: str, f: str, prefix: str) -> str:
    """SQL: scores `b` and `f` meet the MQL score rule (threshold and minimums)."""
    p[f"{prefix}threshold"] = rules.mql_threshold
    parts = [f"{b} + {f} >= %({prefix}threshold)s"]
    if rules.mql_min_behaviour is not None:
        p[f"{prefix}min_b"] = rules.mql_min_behaviour
        parts.append(f"{b} >= %({prefix}min_b)s")
    if rules.mql_min_fit is not None:
        p[f"{prefix}min_f"] = rules.mql_min_fit
        parts.append(f"{f} >= %({prefix}min_f)s")
    return "(" + " AND ".join(parts) + ")"


def _fields_known(rules: StageRules) -> str:
    """SQL: the contact has every field the MQL rule requires (as the worker checks them)."""
    parts = ["true"]
    for name in rules.mql_required_fields:
        if name not in FIT_FIELDS:
            continue
        column = f"c.{Contact._meta.get_field(name).column}"
        parts.append(f"{column} IS NOT NULL")
        if name not in engine.NUMERIC_FIELDS:
            parts.append(f"{column} <> ''")
    return "(" + " AND ".join(parts) + ")"


def whatif_compute(
    *, data: dict[str, Any], now: dt.datetime, live: StageRules | None = None, limit: int = LIMIT
) -> WhatIf:
    """What publishing this rule set (a draft's data) would do to the leads as of `now`."""
    rules = engine_rules(data)
    stage = stage_rules_of(data)
    live = live or StageRules.current()
    result = WhatIf(now=now, stage_rules=stage)
    bounds = Lead.objects.aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return result
    select, params = sql.scores_select(
        rules, leads=sql.Leads(lo=bounds["lo"], hi=bounds["hi"] + 1), now=now
    )
    table = f"whatif_{uuid.uuid4().hex}"
    p: dict[str, Any] = {}
    meets = _meets(stage, p, "w.behaviour", "w.fit", "d_")
    live_meets = _meets(live, p, "l.score - l.fit_score", "l.fit_score", "l_")
    qualifiable = (
        f"l.stage = 'lead' AND {meets} AND {_fields_known(stage)}"
        " AND ((l.became_mql_at IS NULL AND l.disqualified_at IS NULL)"
        " OR l.last_event_at > l.stage_changed_at)"
    )
    cools = f"l.stage = 'mql' AND NOT l.is_cooling AND NOT {meets}"
    joins = (
        f"FROM {table} w JOIN {sql.LEADS} l ON l.id = w.id JOIN {sql.CONTACTS} c"
        " ON c.id = l.contact_id"
    )
    ever = "l.became_mql_at IS NOT NULL"
    reached = "l.became_sql_at IS NOT NULL"
    won = "l.became_customer_at IS NOT NULL"

    def conversion(where: str) -> str:
        return (
            f"count(*) FILTER (WHERE {where} AND {ever}),"
            f" count(*) FILTER (WHERE {where} AND {ever} AND {reached}),"
            f" count(*) FILTER (WHERE {where} AND {ever} AND {won})"
        )

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(f"CREATE TEMP TABLE {table} ON COMMIT DROP AS {select}", params)
        cursor.execute(
            f"SELECT count(*),"
            " count(*) FILTER (WHERE (w.behaviour, w.fit)"
            " IS DISTINCT FROM (l.behaviour_score, l.fit_score)),"
            f" count(*) FILTER (WHERE {qualifiable}),"
            f" count(*) FILTER (WHERE {cools}),"
            f" count(*) FILTER (WHERE l.stage = 'mql' AND l.is_cooling AND {meets}),"
            f" {conversion(meets)}, {conversion(f'NOT {meets}')},"
            f" {conversion(live_meets)}, {conversion('true')} {joins}",
            p,
        )
        row = cursor.fetchone()
        lists = {}
        for name, where in (("qualify", qualifiable), ("cool", cools)):
            cursor.execute(
                f"SELECT l.id, w.behaviour, w.fit {joins} WHERE {where}"
                " ORDER BY w.behaviour + w.fit DESC, l.id LIMIT %(limit)s",
                {**p, "limit": limit},
            )
            lists[name] = cursor.fetchall()
        # ON COMMIT DROP ends it with a real transaction; inside a test's it must go now.
        cursor.execute(f"DROP TABLE {table}")

    result.leads, result.rescored, result.meet, result.cooling, result.warming = row[:5]
    result.qualify = result.meet if stage.auto_qualify else 0
    labels = [
        f"Score meets the draft rule (≥ {stage.mql_threshold})",
        "Score below the draft rule",
        f"Stored score meets the live rule (≥ {live.mql_threshold})",
        "All leads",
    ]
    for n, label in enumerate(labels):
        mql, reached_sql, customer = row[5 + 3 * n : 8 + 3 * n]
        result.history.append(Conversion(label, mql, reached_sql, customer))
    ids = [pk for pk, _, _ in lists["qualify"] + lists["cool"]]
    leads = Lead.objects.select_related("contact", "owner").in_bulk(ids)
    result.to_qualify = [Change(leads[pk], b, f) for pk, b, f in lists["qualify"] if pk in leads]
    result.to_cool = [Change(leads[pk], b, f) for pk, b, f in lists["cool"] if pk in leads]
    return result
