"""The scores of many leads in one SQL statement, built from the rules.

`scores_update` writes what `scoring.engine.score` computes, for a range or a list of lead ids,
in one aggregate pass over their events. The statement's shape comes from the rules' options
(the fixed words of this module); every value a person typed (names, URLs, patterns, property
keys and values, lists) is a parameter.

Each derived column of an event (folded name and URL, property values) is computed once in an
inner query, whatever the number of rules that read it, and only for the event types of those
rules; each rule's condition once per event; then one GROUP BY lead gives, per rule, the count or
the sum of decay weights of its awards, the time of its first award (once per lead), or the times
of its few matching events (once per period, grouped by period per lead afterwards). The float
operations are the engine's, in the same order, so the two agree to float summation order (see
`ScoreState` for the rounding rule).

A full rescore splits that pass in two, because a lead's events are spread over the whole events
table: `partials_insert` aggregates one slice of the table's pages per lead (each page read once,
in file order), and `scores_update(partials=...)` combines a chunk of leads' partial aggregates
(sums, minima, concatenated times) into the same scores. The slices look each event's rule
conditions up by its key (type, name, URL) in a small table of the frequent keys (`keys_create`),
so that names and URLs are folded and matched once per key, not once per event.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from leadflow.people.models import Contact
from leadflow.tracking.models import Event
from stages.models import FIT_FIELDS, Lead

from . import engine
from .free_mail import FREE_MAIL_DOMAINS
from .models import RescoreRun

EVENTS = Event._meta.db_table
LEADS = Lead._meta.db_table
RUNS = RescoreRun._meta.db_table
CONTACTS = Contact._meta.db_table

# The origin (scheme and host) of a folded URL, when it has one: a path rule skips it.
_ORIGIN = "([a-z][a-z0-9+.-]*://[^/?#]*)?"
# An aggregate concatenating float8[] (migration scoring 0004): the times of a once-per-period
# rule, gathered by slices of the events, put together per lead.
ARRAY_CAT = "scoring_float8_array_cat"
# The columns of an event that a rule's condition reads, but for its properties: its key.
KEY = ("type", "name", "url")
KEYS_LIMIT = 10_000  # keys in a rescore's table of them (`keys_create`): the most frequent
_REGEX_SPECIAL = re.compile(r"([\\^$.|?*+()\[\]{}])")


@dataclass(frozen=True)
class Leads:
    """The leads a statement scores: ids in [lo, hi), or these ids."""

    lo: int | None = None
    hi: int | None = None
    ids: tuple[int, ...] | None = None

    def where(self, column: str, p: _Params) -> str:
        if self.ids is not None:
            return f"{column} = ANY({p(list(self.ids))}::bigint[])"
        return f"{column} >= {p(self.lo)} AND {column} < {p(self.hi)}"


@dataclass(frozen=True)
class MqlRule:
    threshold: int
    min_behaviour: int | None = None
    min_fit: int | None = None


class _Params:
    """Named parameters: a part of the statement may be built before the parts it follows."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any, cast: str = "") -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"%({name})s{cast}"


def _regex_literal(text: str) -> str:
    return _REGEX_SPECIAL.sub(r"\\\1", text)


def _clamp(expression: str, cap: int | None, p: _Params, cast: str = "::float8") -> str:
    if cap is None:
        return f"({expression})"
    return f"GREATEST(-{p(cap, cast)}, LEAST({p(cap, cast)}, {expression}))"


class _Columns:
    """The derived columns of an event that the rules read, each computed once per event, and
    only for the event types of the rules that read it."""

    def __init__(self, p: _Params) -> None:
        self.p = p
        self.sql: dict[str, str] = {}
        self.types: dict[str, set[str]] = {}
        self.properties: dict[str, str] = {}

    def need(self, name: str, expression: str, rule: engine.Rule) -> str:
        self.sql.setdefault(name, expression)
        self.types.setdefault(name, set()).add(rule.event_type or "*")
        return f"e.{name}"

    def property(self, key: str, rule: engine.Rule) -> str:
        if key not in self.properties:
            path = self.p(key.split("."), "::text[]")
            self.properties[key] = (
                f"prop{len(self.properties)}",
                (f'lower((e.properties #>> {path}) COLLATE "C")'),
            )
        name, expression = self.properties[key]
        return self.need(name, expression, rule)

    def select(self, unknown_key: str | None = None) -> str:
        """The derived columns. `unknown_key`: true where an event's key is not in a table of
        keys; the columns of key conditions (all but the properties) are computed only there."""
        properties = {name for name, _ in self.properties.values()}
        columns = []
        for name, expression in self.sql.items():
            guards = []
            if name != "type" and "*" not in self.types[name]:
                guards.append(f"e.type = ANY({self.p(sorted(self.types[name]), '::text[]')})")
            if unknown_key and name not in properties:
                guards.append(unknown_key)
            if guards:
                expression = f"CASE WHEN {' AND '.join(guards)} THEN {expression} END"
            columns.append(f", {expression} AS {name}")
        return "".join(columns)


def _event_condition(
    rule: engine.Rule, columns: _Columns, p: _Params, known: str | None = None
) -> str:
    """A rule's condition on an event. `known`: the column holding its key condition as a
    table of event keys has it, NULL for a key not in that table (then computed here)."""
    key = _key_condition(rule, columns, p)
    if known:
        key = f"coalesce({known}, {key})"
    if not rule.property_match:
        return key
    return f"({key} AND {_property_condition(rule, columns, p)})"


def _key_condition(rule: engine.Rule, columns: _Columns, p: _Params) -> str:
    """The part of a rule's condition on an event's type, name and URL (its key)."""
    parts = []
    if rule.event_type:
        parts.append(f"{columns.need('type', 'e.type', rule)} = {p(rule.event_type)}")
    if rule.event_name:
        lname = columns.need("lname", 'lower(e.name COLLATE "C")', rule)
        parts.append(f"{lname} = {p(engine.fold(rule.event_name))}")
    if rule.url_match == engine.URL_CONTAINS:
        lurl = columns.need("lurl", 'lower(e.url COLLATE "C")', rule)
        parts.append(f"strpos({lurl}, {p(engine.fold(rule.url))}) > 0")
    elif rule.url_match == engine.URL_REGEX:
        url = columns.need("url", "e.url", rule)
        parts.append(f"{url} <> '' AND {url} COLLATE \"C\" ~* {p(rule.url)}")
    elif rule.url_match in (engine.URL_EXACT, engine.URL_PREFIX):
        lurl = columns.need("lurl", 'lower(e.url COLLATE "C")', rule)
        value = engine.fold(rule.url)
        origin = _ORIGIN if value.startswith("/") else ""
        if rule.url_match == engine.URL_EXACT:
            value = value.rstrip("/")
            pattern = f"^{origin}{_regex_literal(value)}/*([?#]|$)"
        else:
            pattern = f"^{origin}{_regex_literal(value)}"
        # strpos first: most URLs fail it at a fraction of the cost of the pattern.
        literal = f"strpos({lurl}, {p(value)}) > 0 AND " if value else ""
        parts.append(f"{lurl} <> '' AND {literal}{lurl} ~ {p(pattern)}")
    elif rule.url_match:
        raise ValueError(f"unknown URL match {rule.url_match!r}")
    if parts:
        return "(" + " AND ".join(parts) + ")"
    return "true" if rule.property_match else "false"


def _property_condition(rule: engine.Rule, columns: _Columns, p: _Params) -> str:
    value = columns.property(rule.property_key, rule)
    if rule.property_match == engine.PROPERTY_EQUALS:
        return f"{value} = {p(engine.fold(rule.property_value))}"
    if rule.property_match == engine.PROPERTY_CONTAINS:
        return f"strpos({value}, {p(engine.fold(rule.property_value))}) > 0"
    if rule.property_match == engine.PROPERTY_EXISTS:
        return f"{value} IS NOT NULL"
    raise ValueError(f"unknown property match {rule.property_match!r}")


def _weight(rule: engine.Rule, ts: str, now: str, p: _Params) -> str:
    """The decay weight of an award at `ts`, as the engine's `decay_weight` computes it."""
    return (
        f"power(0.5::float8, greatest(0::float8, {now} - {ts}) / 86400::float8"
        f" / {p(float(rule.half_life_days), '::float8')})"
    )


def _fit_condition(rule: engine.Rule, p: _Params) -> str:
    if rule.operator in engine.EMAIL_OPERATORS:
        domain = "split_part(lower(c.email COLLATE \"C\"), '@', 2)"
        if rule.operator == engine.FREE_MAIL:
            return f"{domain} = ANY({p(sorted(FREE_MAIL_DOMAINS), '::text[]')})"
        ors = [
            f"{domain} = {p(d)} OR right({domain}, {p(len(d) + 1)}) = {p('.' + d)}"
            for d in (engine.fold(v) for v in rule.values)
        ]
        return f"({domain} <> '' AND ({' OR '.join(ors) or 'false'}))"
    if rule.field not in FIT_FIELDS:
        raise ValueError(f"unknown contact field {rule.field!r}")
    column = f"c.{Contact._meta.get_field(rule.field).column}"
    if rule.field in engine.NUMERIC_FIELDS:
        if rule.operator == engine.KNOWN:
            return f"{column} IS NOT NULL"
        if rule.operator == engine.MISSING:
            return f"{column} IS NULL"
        if rule.operator == engine.BETWEEN:
            parts = [f"{column} IS NOT NULL"]
            if rule.min_value is not None:
                parts.append(f"{column} >= {p(rule.min_value)}")
            if rule.max_value is not None:
                parts.append(f"{column} <= {p(rule.max_value)}")
            return "(" + " AND ".join(parts) + ")"
        raise ValueError(f"{rule.operator!r} does not apply to {rule.field}")
    trimmed = f"btrim({column}, {p(engine.WHITESPACE)})"
    if rule.operator == engine.KNOWN:
        return f"{trimmed} <> ''"
    if rule.operator == engine.MISSING:
        return f"{trimmed} = ''"
    if rule.operator == engine.CONTAINS:
        folded = f'lower({column} COLLATE "C")'
        ors = [f"strpos({folded}, {p(engine.fold(v))}) > 0" for v in rule.values]
        return "(" + (" OR ".join(ors) or "false") + ")"
    if rule.operator == engine.IN:
        values = sorted({engine.fold(v.strip(engine.WHITESPACE)) for v in rule.values})
        return f'lower({trimmed} COLLATE "C") = ANY({p(values, "::text[]")})'
    raise ValueError(f"unknown fit operator {rule.operator!r}")


def _sum_by_group(rules: list[engine.Rule], values: dict[int, str], p: _Params, cast: str) -> str:
    groups: dict[tuple[str, int], list[engine.Rule]] = {}
    for rule in rules:
        groups.setdefault(rule.group_key, []).append(rule)
    terms = [
        _clamp(" + ".join(values[r.id] for r in members), members[0].group_max_points, p, cast)
        for members in groups.values()
    ]
    return " + ".join(terms) if terms else f"0{cast}"


@dataclass
class _Behaviour:
    """How the behaviour rules read the events: the derived columns and conditions of one pass
    over them, one aggregate (or a few) per rule, and each rule's term over those aggregates.

    Each aggregate is (column, over the events, combining partial results of that same
    aggregate over disjoint sets of events, its type), so that the events may be aggregated in
    slices and the slices combined (`partials_insert`, `partials_scores_update`).
    """

    columns: _Columns
    conditions: list[str]
    aggregates: list[tuple[str, str, str, str]]
    terms: dict[int, str]


def _behaviour(
    rules: list[engine.Rule], now: str, p: _Params, *, keyed: bool = False
) -> _Behaviour:
    """`keyed`: the events carry each rule's key condition from a table of keys (`k0`, ...)."""
    columns = _Columns(p)
    conditions = [
        _event_condition(rule, columns, p, f"e.k{n}" if keyed else None)
        for n, rule in enumerate(rules)
    ]
    aggregates, terms = [], {}
    for n, rule in enumerate(rules):
        hit = f"c{n}"
        if rule.frequency == engine.EVERY and not rule.decays:
            # An integer per slice (a lead's events in it): their sum is a bigint, not the
            # numeric that a sum of bigints would be.
            aggregates.append((f"n{n}", f"count(*) FILTER (WHERE {hit})", f"sum(n{n})", "integer"))
            x = f"coalesce(agg.n{n}, 0)::float8"
        elif rule.frequency == engine.EVERY:
            weight = _weight(rule, "ts", now, p)
            aggregates.append(
                (f"w{n}", f"sum({weight}) FILTER (WHERE {hit})", f"sum(w{n})", "float8")
            )
            x = f"coalesce(agg.w{n}, 0::float8)"
        elif rule.frequency == engine.ONCE:
            aggregates.append((f"t{n}", f"min(ts) FILTER (WHERE {hit})", f"min(t{n})", "float8"))
            if rule.decays:
                # Not coalesce(): greatest() skips a NULL, so a missing award would weigh 1.
                weight = _weight(rule, f"agg.t{n}", now, p)
                x = f"CASE WHEN agg.t{n} IS NULL THEN 0::float8 ELSE {weight} END"
            else:
                x = f"(agg.t{n} IS NOT NULL)::int::float8"
        elif rule.frequency == engine.PERIOD:
            # Not array_agg(): the planner sizes its state at 8 kB a lead and plans the grouping
            # of a large slice to spill to disk (1 M leads), where these small arrays fit.
            aggregates.append(
                (
                    f"a{n}",
                    f"{ARRAY_CAT}(ARRAY[ts]) FILTER (WHERE {hit})",
                    f"{ARRAY_CAT}(a{n})",
                    "float8[]",
                )
            )
            length = p(rule.period_days * engine.DAY, "::float8")
            period = f"floor((t - {p(engine.PERIOD_ANCHOR, '::float8')}) / {length})"
            weight = _weight(rule, "first", now, p) if rule.decays else "1::float8"
            # Most leads have no award of the rule: no subquery for them.
            x = (
                f"CASE WHEN agg.a{n} IS NULL THEN 0::float8 ELSE"
                f" (SELECT coalesce(sum({weight}), 0::float8) FROM (SELECT min(t) AS first"
                f" FROM unnest(agg.a{n}) t GROUP BY {period}) awards) END"
            )
        else:
            raise ValueError(f"unknown frequency {rule.frequency!r}")
        terms[rule.id] = _clamp(f"{p(rule.points, '::float8')} * {x}", rule.max_points, p)
    return _Behaviour(columns, conditions, aggregates, terms)


def _events_pass(b: _Behaviour, where: str, keys: str | None = None) -> str:
    """The events of `where`, grouped by lead: each matching event's rules, aggregated.

    `keys`: a table of event keys with each rule's condition on them (`keys_create`), for
    `_behaviour(..., keyed=True)`: an event whose key it holds is matched by a hash lookup,
    the others by the conditions themselves.
    """
    hits = ", ".join(f"{cond} AS c{n}" for n, cond in enumerate(b.conditions))
    source, known, unknown_key = f"{EVENTS} e", "", None
    if keys:
        source += f" LEFT JOIN {keys} k ON {' AND '.join(f'k.{c} = e.{c}' for c in KEY)}"
        known = "".join(f", k.c{n} AS k{n}" for n in range(len(b.conditions)))
        unknown_key = "k.type IS NULL"
    # Each OFFSET 0 keeps its query apart: the inner one computes each derived column once per
    # event, the middle one each rule's condition once per event. The grouping by lead then
    # holds the lead, the time and one flag per rule: narrow rows that fit a hash table in
    # memory, where the wide derived columns had to be sorted first.
    return (
        f"SELECT lead_id{''.join(f', {sql} AS {name}' for name, sql, _, _ in b.aggregates)}"
        f" FROM (SELECT e.lead_id, e.ts, {hits} FROM ("
        f"SELECT e.lead_id, date_part('epoch', e.occurred_at) AS ts{known}"
        f"{b.columns.select(unknown_key)} FROM {source} WHERE {where} OFFSET 0) e OFFSET 0) m"
        f" WHERE {' OR '.join(f'c{n}' for n in range(len(b.conditions)))} GROUP BY lead_id"
    )


def _behaviour_ctes(rules: list[engine.Rule], leads: Leads, now: str, p: _Params) -> list[str]:
    """CTEs ending in `beh(lead_id, b)`: the unrounded behaviour score of each lead with events.

    One GROUP BY lead over the events: per rule, the count or the sum of the decay weights of
    its matching events (every time), the first time (once per lead), or the times themselves
    (once per period: few, and grouped by period per lead afterwards, so that the events are
    read and aggregated once whatever the rules).
    """
    b = _behaviour(rules, now, p)
    return [
        f"agg AS ({_events_pass(b, leads.where('e.lead_id', p))})",
        f"beh AS (SELECT agg.lead_id, {_sum_by_group(rules, b.terms, p, '::float8')} AS b"
        " FROM agg)",
    ]


def _scores_ctes(
    rules: list[engine.Rule],
    *,
    leads: Leads,
    now: dt.datetime,
    p: _Params,
    partials: str | None = None,
) -> list[str]:
    """CTEs ending in `s(id, behaviour, fit)`: the rounded scores of `leads` as of `now`, from
    their events, or from the `partials` table that `partials_insert` filled for them."""
    behaviour = [rule for rule in rules if rule.kind == engine.BEHAVIOUR]
    fit = [rule for rule in rules if rule.kind == engine.FIT]
    now_ts = p(now.timestamp(), "::float8")
    if behaviour and partials:
        b = _behaviour(behaviour, now_ts, p)
        combined = "".join(f", {combine} AS {name}" for name, _, combine, _ in b.aggregates)
        ctes = [
            f"agg AS (SELECT lead_id{combined} FROM {partials}"
            f" WHERE {leads.where('lead_id', p)} GROUP BY lead_id)",
            f"beh AS (SELECT agg.lead_id, {_sum_by_group(behaviour, b.terms, p, '::float8')} AS b"
            " FROM agg)",
        ]
    else:
        ctes = _behaviour_ctes(behaviour, leads, now_ts, p) if behaviour else []
    b = "coalesce(beh.b, 0::float8)" if behaviour else "0::float8"
    fit_terms = {
        rule.id: f"CASE WHEN {_fit_condition(rule, p)} THEN "
        f"{p(int(engine.clamp(rule.points, rule.max_points)))}::int ELSE 0 END"
        for rule in fit
    }
    join = "LEFT JOIN beh ON beh.lead_id = l.id" if behaviour else ""
    # Materialized: the update reads each score several times (to compare, then to write).
    ctes.append(
        f"s AS MATERIALIZED (SELECT l.id, floor({b} + 0.5::float8)::int AS behaviour,"
        f" ({_sum_by_group(fit, fit_terms, p, '::int')})::int AS fit"
        f" FROM {LEADS} l JOIN {CONTACTS} c ON c.id = l.contact_id {join}"
        f" WHERE {leads.where('l.id', p)})"
    )
    return ctes


def scores_select(
    rules: Iterable[engine.Rule], *, leads: Leads, now: dt.datetime
) -> tuple[str, dict[str, Any]]:
    """A SELECT of (lead id, behaviour, fit) that `scores_update` would write, writing nothing:
    for a draft of the rules (what-if)."""
    p = _Params()
    ctes = _scores_ctes(list(rules), leads=leads, now=now, p=p)
    return f"WITH {', '.join(ctes)} SELECT s.id, s.behaviour, s.fit FROM s", p.values


def scores_update(
    rules: Iterable[engine.Rule],
    *,
    leads: Leads,
    now: dt.datetime,
    mql: MqlRule,
    only_changed: bool = False,
    partials: str | None = None,
    skip_locked: bool = False,
) -> tuple[str, dict[str, Any]]:
    """An UPDATE that scores `leads` with `rules` as of `now` and flags cooling MQLs.

    A lead scored as of a later time than `now` (by a newer task or rescore) is left alone, and
    so is every lead once a full rescore as of a later time exists (it read rules as new as
    these or newer, and scores every lead), so that of two computations the newer one stands
    whatever order they commit in. With `only_changed`, leads whose scores and flag stay the
    same are not written (no new row versions, no index entries) unless their score is older
    than their last event: their stored score is the one computed, and the sweep of stale
    scores must not take them. `partials`: the behaviour from that table of the rescore.

    `skip_locked`: the leads are locked, in id order, only once their scores are computed, and
    those that another transaction holds (an ingest storing their events) are skipped, not
    waited for: the statement then returns the ids of the leads it locked. The lock is held
    from the write to the commit, never while the events are read, so an ingest that needs one
    of these leads does not wait for the scoring of all of them.
    """
    p = _Params()
    ctes = _scores_ctes(list(rules), leads=leads, now=now, p=p, partials=partials)
    meets = [f"s.behaviour + s.fit >= {p(mql.threshold)}"]
    if mql.min_behaviour is not None:
        meets.append(f"s.behaviour >= {p(mql.min_behaviour)}")
    if mql.min_fit is not None:
        meets.append(f"s.fit >= {p(mql.min_fit)}")
    # The target row's stage, not the snapshot's: a transition may commit while this waits.
    cooling = f"(l.stage = 'mql' AND NOT ({' AND '.join(meets)}))"
    as_of = p(now)
    changed = (
        f" AND ((l.behaviour_score, l.fit_score, l.score, l.is_cooling)"
        f" IS DISTINCT FROM (s.behaviour, s.fit, s.behaviour + s.fit, {cooling})"
        f" OR l.scored_at IS NULL OR l.scored_at < l.last_event_at)"
        if only_changed
        else ""
    )
    if skip_locked:
        # The computed scores of the leads it could lock, which the update then joins alone:
        # joined with `s` again, the update was planned as a nested loop of every score with
        # every locked lead (25 ms for 500 leads, with their locks held).
        ctes.append(
            f"locked AS (SELECT s.* FROM s JOIN {LEADS} k ON k.id = s.id"
            " ORDER BY s.id FOR UPDATE OF k SKIP LOCKED)"
        )
    update = (
        f"UPDATE {LEADS} l SET behaviour_score = s.behaviour, fit_score = s.fit,"
        f" score = s.behaviour + s.fit, scored_at = {as_of}, is_cooling = {cooling}"
        # The leads again on the target: else it is read whole, to join with a few of its rows.
        f" FROM {'locked AS s' if skip_locked else 's'}"
        f" WHERE l.id = s.id AND {leads.where('l.id', p)}"
        f" AND (l.scored_at IS NULL OR l.scored_at <= {as_of}){changed}"
        f" AND NOT EXISTS (SELECT FROM {RUNS} WHERE as_of > {as_of})"
    )
    if skip_locked:
        return f"WITH {', '.join(ctes)}, upd AS ({update}) SELECT id FROM locked", p.values
    return f"WITH {', '.join(ctes)} {update}", p.values


# -- a full rescore in two passes: the events by slices of the table, then leads by chunks --


def partials_table(run_id: int) -> str:
    return f"scoring_rescore_{int(run_id)}"


def partials_partition(table: str, chunk: int) -> str:
    """The partition of `table` that holds the partials of chunk number `chunk`."""
    return f"{table}_{int(chunk)}"


def partials_create(rules: Iterable[engine.Rule], *, table: str, bounds: list[int]) -> list[str]:
    """Statements creating the table of a rescore's partial behaviour aggregates: a row per lead
    and slice of the events, unlogged (rebuilt by running the rescore again, never needed after
    it), one partition per chunk of leads [bounds[n], bounds[n + 1])."""
    behaviour = [rule for rule in rules if rule.kind == engine.BEHAVIOUR]
    b = _behaviour(behaviour, "0", _Params())
    columns = "".join(f", {name} {kind}" for name, _, _, kind in b.aggregates)
    statements = [
        f"CREATE UNLOGGED TABLE {table} (lead_id bigint NOT NULL{columns})"
        " PARTITION BY RANGE (lead_id)"
    ]
    for n, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        statements.append(
            f"CREATE UNLOGGED TABLE {partials_partition(table, n)} PARTITION OF {table}"
            f" FOR VALUES FROM ({int(lo)}) TO ({int(hi)})"
        )
    return statements


def partials_insert(
    rules: Iterable[engine.Rule],
    *,
    table: str,
    blocks: tuple[int, int | None],
    leads: Leads,
    now: dt.datetime,
    keys: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """An INSERT of the partial behaviour aggregates, per lead among `leads`, of the events
    stored in the table's pages [blocks[0], blocks[1]) (None: to the end): each page of the
    events is read once by one slice, in file order, whatever the leads its rows belong to.
    `keys`: the run's table of event keys (`keys_create`), if it has one."""
    p = _Params()
    behaviour = [rule for rule in rules if rule.kind == engine.BEHAVIOUR]
    b = _behaviour(behaviour, p(now.timestamp(), "::float8"), p, keyed=keys is not None)
    lo, hi = blocks
    where = f"e.ctid >= {p(f'({int(lo)},0)')}::tid"
    if hi is not None:
        where += f" AND e.ctid < {p(f'({int(hi)},0)')}::tid"
    where += f" AND {leads.where('e.lead_id', p)}"
    names = ", ".join(name for name, _, _, _ in b.aggregates)
    return f"INSERT INTO {table} (lead_id, {names}) {_events_pass(b, where, keys)}", p.values


def keys_table(run_id: int) -> str:
    return f"scoring_rescore_{int(run_id)}_keys"


def keys_create(
    rules: Iterable[engine.Rule], *, table: str, sample_percent: float, limit: int = KEYS_LIMIT
) -> tuple[str, dict[str, Any]]:
    """A statement creating a rescore's table of event keys (type, name, URL) with each
    behaviour rule's condition on them, so that the slices match most events by a hash lookup
    instead of folding, searching and pattern-matching their names and URLs once per event.

    The keys are the frequent ones of a sample of the events' pages: a key not in the table
    (rare, or new since) is matched by the conditions themselves, with the same outcome.
    """
    p = _Params()
    behaviour = [rule for rule in rules if rule.kind == engine.BEHAVIOUR]
    columns = _Columns(p)
    flags = "".join(
        f", coalesce({_key_condition(rule, columns, p)}, false) AS c{n}"
        for n, rule in enumerate(behaviour)
    )
    key = ", ".join(KEY)
    # The key under other names in the middle query: its derived columns may be named alike.
    return (
        f"CREATE UNLOGGED TABLE {table} AS SELECT {', '.join(f'e.key_{c} AS {c}' for c in KEY)}"
        f"{flags} FROM (SELECT {', '.join(f'e.{c} AS key_{c}' for c in KEY)}{columns.select()}"
        f" FROM (SELECT {key} FROM {EVENTS}"
        f" TABLESAMPLE SYSTEM ({p(sample_percent, '::float8')}) GROUP BY {key}"
        f" HAVING count(*) > 1 ORDER BY count(*) DESC LIMIT {p(limit)}) e OFFSET 0) e",
        p.values,
    )
