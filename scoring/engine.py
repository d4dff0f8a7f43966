"""Score maths: a pure function of events, rules and contact fields. No database here.

`scoring.sql` computes the same numbers for many leads in one statement; the tests hold the two
to each other. The rules of the game:

- A behaviour rule matches an event by its type, its name, its URL (contains, exact path,
  path prefix, or a regular expression) and one of its properties. Text compares without ASCII
  case (A-Z = a-z; other letters as they are), which is what PostgreSQL's lower() does under the
  "C" collation, so both sides agree to the letter.
- Its frequency picks the awards among the matching events: each one; the first only (once per
  lead); or the first of each period of N days. Periods are N-day windows of UTC time counted
  from Monday 1970-01-05, so weekly periods start on Mondays.
- An award is worth the rule's points * 0.5^(age in days / half-life) at `now` (without decay,
  the points). An event dated after `now` has age 0.
- A rule's cap bounds the sum of its awards, |sum| ≤ cap, and a group's cap bounds the sum of
  its rules the same way.
- The behaviour score is that sum rounded half up (floor(x + 0.5)); the fit score the sum of
  the fit rules that match the contact, each capped, then capped by group. Fit never decays.

Every award is a `Contribution`: its rule, its event or field, its points, its points after
decay, and what it counts after the caps. The counted points add up to the unrounded score.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import math
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .free_mail import FREE_MAIL_DOMAINS

BEHAVIOUR, FIT = "behaviour", "fit"
# Frequencies of a behaviour rule.
EVERY, ONCE, PERIOD = "every", "once", "period"
# How a behaviour rule reads the URL, and one event property.
URL_CONTAINS, URL_EXACT, URL_PREFIX, URL_REGEX = "contains", "exact", "prefix", "regex"
PROPERTY_EQUALS, PROPERTY_CONTAINS, PROPERTY_EXISTS = "equals", "contains", "exists"
# Operators of a fit rule.
KNOWN, MISSING, CONTAINS, IN, BETWEEN, FREE_MAIL, COMPETITOR = (
    "known",
    "missing",
    "contains",
    "in",
    "between",
    "free_mail",
    "competitor",
)
NUMERIC_FIELDS = frozenset({"company_size"})
EMAIL_OPERATORS = frozenset({FREE_MAIL, COMPETITOR})

DAY = 86400.0
PERIOD_ANCHOR = 345600.0  # 1970-01-05T00:00:00Z, a Monday
WHITESPACE = " \t\n\r\f\v"
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_QUERY = re.compile(r"[?#].*", re.S)
_ORIGIN = re.compile(r"^[a-z][a-z0-9+.-]*://[^/]*")


def fold(text: str) -> str:
    """Fold ASCII case, as PostgreSQL's lower() does under the "C" collation."""
    return text.translate(_ASCII_LOWER)


def url_base(url: str) -> str:
    """The URL without its query string and fragment, case folded."""
    return _QUERY.sub("", fold(url), count=1)


def url_path(url: str) -> str:
    """The path of the URL (no scheme, host, query or fragment), case folded."""
    return _ORIGIN.sub("", url_base(url), count=1)


def round_points(value: float) -> int:
    """Round half up: the rounding of the stored scores, the same in SQL."""
    return math.floor(value + 0.5)


def clamp(value: float, cap: float | None) -> float:
    return value if cap is None else max(-cap, min(cap, value))


@dataclass(frozen=True)
class Rule:
    """A scoring rule as the maths needs it. Field names are the model's (`ScoringRule`)."""

    id: int
    name: str
    kind: str = BEHAVIOUR
    points: int = 0
    # behaviour: what the event must be
    event_type: str = ""
    event_name: str = ""
    url_match: str = ""
    url: str = ""
    property_key: str = ""
    property_match: str = ""
    property_value: str = ""
    # behaviour: how often it counts and how it fades
    frequency: str = EVERY
    period_days: int | None = None
    half_life_days: int | None = None
    # fit: what the contact must be
    field: str = ""
    operator: str = KNOWN
    values: tuple[str, ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    # caps
    max_points: int | None = None
    group_id: int | None = None
    group_name: str = ""
    group_max_points: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values or ()))

    @property
    def group_key(self) -> tuple[str, int]:
        return ("group", self.group_id) if self.group_id is not None else ("rule", self.id)

    @property
    def decays(self) -> bool:
        return self.kind == BEHAVIOUR and bool(self.half_life_days)


@dataclass(frozen=True)
class EventFacts:
    id: int
    type: str
    name: str
    url: str
    occurred_at: dt.datetime | None = None
    properties: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Contribution:
    rule_id: int
    rule_name: str
    points: int  # the rule's points for this award
    decayed: float  # the points after decay at the time of scoring
    counted: float  # after the rule's and the group's caps: these add up to the score
    event_id: int | None = None
    field: str = ""
    at: dt.datetime | None = None

    @property
    def kind(self) -> str:
        return FIT if self.event_id is None else BEHAVIOUR


@dataclass
class ScoreResult:
    behaviour: int = 0
    fit: int = 0
    behaviour_exact: float = 0.0
    contributions: list[Contribution] = field(default_factory=list)
    now: dt.datetime | None = None

    @property
    def total(self) -> int:
        return self.behaviour + self.fit


# -- matching --


def property_text(properties: Mapping[str, Any] | None, key: str) -> str | None:
    """The value at a dotted key path as text, the way PostgreSQL's `#>>` gives it."""
    value: Any = properties or {}
    for part in key.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and re.fullmatch(r"-?[0-9]+", part):
            index = int(part)
            if not -len(value) <= index < len(value):
                return None
            value = value[index]
        else:
            return None
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def url_matches(rule: Rule, url: str) -> bool:
    if rule.url_match == URL_CONTAINS:
        return fold(rule.url) in fold(url)
    if not url:
        return False
    if rule.url_match == URL_REGEX:
        return re.search(rule.url, url, re.IGNORECASE | re.ASCII) is not None
    value = fold(rule.url)
    target = url_path(url) if value.startswith("/") else url_base(url)
    if rule.url_match == URL_EXACT:
        return target.rstrip("/") == value.rstrip("/")
    if rule.url_match == URL_PREFIX:
        return target.startswith(value)
    raise ValueError(f"unknown URL match {rule.url_match!r}")


def event_matches(rule: Rule, event: EventFacts) -> bool:
    if rule.kind != BEHAVIOUR:
        return False
    if rule.event_type and rule.event_type != event.type:
        return False
    if rule.event_name and fold(rule.event_name) != fold(event.name):
        return False
    if rule.url_match and not url_matches(rule, event.url):
        return False
    if rule.property_match:
        text = property_text(event.properties, rule.property_key)
        if text is None:
            return False
        if rule.property_match == PROPERTY_EQUALS and fold(text) != fold(rule.property_value):
            return False
        if rule.property_match == PROPERTY_CONTAINS and fold(rule.property_value) not in fold(text):
            return False
    return bool(rule.event_type or rule.event_name or rule.url_match or rule.property_match)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip(WHITESPACE)


def email_domain(email: str) -> str:
    parts = fold(email).split("@")
    return parts[1] if len(parts) > 1 else ""


def contact_matches(rule: Rule, contact: Mapping[str, Any]) -> bool:
    if rule.kind != FIT:
        return False
    if rule.operator == FREE_MAIL:
        return email_domain(str(contact.get("email") or "")) in FREE_MAIL_DOMAINS
    if rule.operator == COMPETITOR:
        domain = email_domain(str(contact.get("email") or ""))
        return domain != "" and any(
            domain == d or domain.endswith("." + d) for d in (fold(v) for v in rule.values)
        )
    value = contact.get(rule.field)
    if rule.field in NUMERIC_FIELDS:
        if rule.operator == KNOWN:
            return value is not None
        if rule.operator == MISSING:
            return value is None
        if rule.operator == BETWEEN:
            return (
                value is not None
                and (rule.min_value is None or value >= rule.min_value)
                and (rule.max_value is None or value <= rule.max_value)
            )
        raise ValueError(f"{rule.operator!r} does not apply to {rule.field}")
    text = _text(value)
    if rule.operator == KNOWN:
        return text != ""
    if rule.operator == MISSING:
        return text == ""
    if rule.operator == CONTAINS:
        return any(fold(v) in fold(str(value or "")) for v in rule.values)
    if rule.operator == IN:
        return fold(text) in {fold(_text(v)) for v in rule.values}
    raise ValueError(f"unknown fit operator {rule.operator!r}")


# -- time --


def timestamp(event: EventFacts, now_ts: float | None) -> float:
    if event.occurred_at is not None:
        return event.occurred_at.timestamp()
    return now_ts if now_ts is not None else 0.0


def period_of(rule: Rule, ts: float) -> int:
    if rule.frequency == ONCE:
        return 0
    return math.floor((ts - PERIOD_ANCHOR) / (rule.period_days * DAY))


def decay_weight(rule: Rule, ts: float, now_ts: float | None) -> float:
    if not rule.decays:
        return 1.0
    if now_ts is None:
        raise ValueError(f"rule {rule.name!r} decays: a score needs the time it is taken at")
    return 0.5 ** (max(0.0, now_ts - ts) / DAY / rule.half_life_days)


def _awards(rule: Rule, matching: list[tuple[float, EventFacts]]) -> list[tuple[float, EventFacts]]:
    """The matching events that score, by the rule's frequency (`matching` is in time order)."""
    if rule.frequency == EVERY:
        return matching
    firsts: dict[int, tuple[float, EventFacts]] = {}
    for ts, event in matching:
        firsts.setdefault(period_of(rule, ts), (ts, event))
    return list(firsts.values())


def _allocate(amounts: list[float], cap: float | None) -> list[float]:
    """Share a capped sum out over its parts, newest first: the parts that fill the cap count,
    the older ones beyond it count nothing. The shares add up to the capped sum."""
    shares, running, shown = [], 0.0, 0.0
    for amount in amounts:
        running += amount
        now_shown = clamp(running, cap)
        shares.append(now_shown - shown)
        shown = now_shown
    return shares


def _caps_total(values: Mapping[int, float], rules: list[Rule]) -> float:
    """The sum of the rules' values, each group of rules capped as a whole."""
    groups: dict[tuple[str, int], list[float]] = {}
    caps: dict[tuple[str, int], int | None] = {}
    for rule in rules:
        groups.setdefault(rule.group_key, []).append(values.get(rule.id, 0.0))
        caps.setdefault(rule.group_key, rule.group_max_points)
    return math.fsum(clamp(math.fsum(parts), caps[key]) for key, parts in groups.items())


def fit_points(rules: Iterable[Rule], contact: Mapping[str, Any]) -> int:
    fit_rules = [rule for rule in rules if rule.kind == FIT]
    values = {
        rule.id: clamp(rule.points, rule.max_points)
        for rule in fit_rules
        if contact_matches(rule, contact)
    }
    return int(_caps_total(values, fit_rules))


def score(
    *,
    events: Iterable[EventFacts],
    rules: Iterable[Rule],
    contact: Mapping[str, Any],
    now: dt.datetime | None = None,
) -> ScoreResult:
    """Score one lead from all its events at `now`. The contributions say which rule gave what."""
    rules = list(rules)
    now_ts = now.timestamp() if now is not None else None
    dated = sorted(((timestamp(e, now_ts), e) for e in events), key=lambda p: (p[0], p[1].id))
    result = ScoreResult(now=now)
    behaviour_rules = [rule for rule in rules if rule.kind == BEHAVIOUR]
    values: dict[int, float] = {}
    # Per group, the awards of its rules with what each counts once its rule's cap is applied.
    members: dict[tuple[str, int], list[tuple[float, int, Rule, EventFacts, float, float]]] = {}
    for rule in behaviour_rules:
        awards = _awards(rule, [(ts, e) for ts, e in dated if event_matches(rule, e)])
        weights = [decay_weight(rule, ts, now_ts) for ts, _ in awards]
        values[rule.id] = clamp(rule.points * math.fsum(weights), rule.max_points)
        newest_first = list(reversed(list(zip(awards, weights, strict=True))))
        shares = _allocate([rule.points * w for _, w in newest_first], rule.max_points)
        for ((ts, event), weight), share in zip(newest_first, shares, strict=True):
            members.setdefault(rule.group_key, []).append(
                (ts, event.id, rule, event, rule.points * weight, share)
            )
    group_caps = {rule.group_key: rule.group_max_points for rule in reversed(behaviour_rules)}
    order = {rule.id: n for n, rule in enumerate(behaviour_rules)}
    contributions = []
    for key, awards in members.items():
        awards.sort(key=lambda a: (a[0], a[1]), reverse=True)
        shares = _allocate([a[5] for a in awards], group_caps[key])
        for (ts, _, rule, event, decayed, _), share in zip(awards, shares, strict=True):
            contribution = Contribution(
                rule.id,
                rule.name,
                rule.points,
                decayed=decayed,
                counted=share,
                event_id=event.id,
                at=event.occurred_at,
            )
            contributions.append((order[rule.id], ts, event.id, contribution))
    contributions.sort(key=lambda c: c[:3])
    result.contributions = [c[-1] for c in contributions]
    result.behaviour_exact = _caps_total(values, behaviour_rules)
    result.behaviour = round_points(result.behaviour_exact)

    fit_rules = [rule for rule in rules if rule.kind == FIT]
    fit_by_group: dict[tuple[str, int], list[Contribution]] = {}
    for rule in fit_rules:
        if contact_matches(rule, contact):
            points = clamp(rule.points, rule.max_points)
            fit_by_group.setdefault(rule.group_key, []).append(
                Contribution(
                    rule.id,
                    rule.name,
                    rule.points,
                    decayed=rule.points,
                    counted=points,
                    field="email" if rule.operator in EMAIL_OPERATORS else rule.field,
                )
            )
    fit_caps = {rule.group_key: rule.group_max_points for rule in reversed(fit_rules)}
    for key, group in fit_by_group.items():
        shares = _allocate([c.counted for c in group], fit_caps[key])
        result.contributions += [
            replace(c, counted=share) for c, share in zip(group, shares, strict=True)
        ]
    result.fit = fit_points(fit_rules, contact)
    return result


class ScoreState:
    """The behaviour score of one lead, kept up to date one event at a time.

    What it keeps per rule, undecayed so that time alone never changes it:
    - every event, no decay: how many matched;
    - every event, with decay: Σ 0.5^((ref - t) / half-life) over the matching events folded in,
      with a reference time `ref` (moved forward when it falls far behind, so nothing overflows),
      and the events dated after the last read apart: they have age 0 until time reaches them;
    - once per lead or per period: the earliest matching time of each period.
    `behaviour_exact(now)` decays at read. Reads must not go back in time.

    It equals `score()` on the same events whatever their order of arrival, to float rounding:
    the unrounded scores agree within 1e-9 (relative), so the rounded ones agree unless the
    exact score lies within that distance of a half point.
    """

    _REBASE = 64.0  # half-lives between the reference time and a new event before moving it

    def __init__(self, rules: Iterable[Rule]) -> None:
        rules = list(rules)
        self.rules = [rule for rule in rules if rule.kind == BEHAVIOUR]
        self.fit_rules = [rule for rule in rules if rule.kind == FIT]
        self._count: dict[int, int] = {}
        self._sum: dict[int, float] = {}
        self._ref: dict[int, float] = {}
        self._later: dict[int, list[float]] = {}
        self._firsts: dict[int, dict[int, float]] = {}
        self._read_at = -math.inf

    def add(self, event: EventFacts) -> None:
        if event.occurred_at is None:
            raise ValueError("the incremental state needs dated events")
        ts = event.occurred_at.timestamp()
        for rule in self.rules:
            if not event_matches(rule, event):
                continue
            if rule.frequency != EVERY:
                firsts = self._firsts.setdefault(rule.id, {})
                period = period_of(rule, ts)
                if period not in firsts or ts < firsts[period]:
                    firsts[period] = ts
            elif not rule.decays:
                self._count[rule.id] = self._count.get(rule.id, 0) + 1
            elif ts > self._read_at:
                bisect.insort(self._later.setdefault(rule.id, []), ts)
            else:
                self._fold(rule, ts)

    def _fold(self, rule: Rule, ts: float) -> None:
        half_life = rule.half_life_days
        if rule.id not in self._ref:
            self._ref[rule.id], self._sum[rule.id] = ts, 0.0
        elif (ts - self._ref[rule.id]) / DAY / half_life > self._REBASE:
            self._sum[rule.id] *= 0.5 ** ((ts - self._ref[rule.id]) / DAY / half_life)
            self._ref[rule.id] = ts
        self._sum[rule.id] += 0.5 ** ((self._ref[rule.id] - ts) / DAY / half_life)

    def _weight(self, rule: Rule, now_ts: float) -> float:
        """Σ of the decay weights of the rule's awards at `now_ts`."""
        if rule.frequency != EVERY:
            firsts = self._firsts.get(rule.id, {})
            return math.fsum(decay_weight(rule, ts, now_ts) for ts in firsts.values())
        if not rule.decays:
            return float(self._count.get(rule.id, 0))
        later = self._later.get(rule.id, [])
        while later and later[0] <= now_ts:
            self._fold(rule, later.pop(0))
        folded = 0.0
        if rule.id in self._ref:
            age = (now_ts - self._ref[rule.id]) / DAY / rule.half_life_days
            folded = self._sum[rule.id] * 0.5**age
        return folded + len(later)

    def behaviour_exact(self, now: dt.datetime) -> float:
        now_ts = now.timestamp()
        if now_ts < self._read_at:
            raise ValueError("the incremental state is read at times that never go back")
        self._read_at = now_ts
        values = {
            rule.id: clamp(rule.points * self._weight(rule, now_ts), rule.max_points)
            for rule in self.rules
        }
        return _caps_total(values, self.rules)

    def read(self, *, now: dt.datetime, contact: Mapping[str, Any]) -> tuple[int, int]:
        """(behaviour, fit) at `now`."""
        return round_points(self.behaviour_exact(now)), fit_points(self.fit_rules, contact)
