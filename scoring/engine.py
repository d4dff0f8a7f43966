"""Score maths: a pure function of events, rules and contact fields. No database here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    kind: str  # "behaviour" or "fit"
    points: int
    event_type: str = ""
    event_name: str = ""
    url_contains: str = ""
    field: str = ""
    field_contains: str = ""
    max_points: int | None = None


@dataclass(frozen=True)
class EventFacts:
    id: int
    type: str
    name: str
    url: str
    occurred_at: dt.datetime | None = None


@dataclass(frozen=True)
class Contribution:
    rule_id: int
    rule_name: str
    points: int
    event_id: int | None = None
    field: str = ""


@dataclass
class ScoreResult:
    behaviour: int = 0
    fit: int = 0
    contributions: list[Contribution] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.behaviour + self.fit


def event_matches(rule: Rule, event: EventFacts) -> bool:
    if rule.event_type and rule.event_type != event.type:
        return False
    if rule.event_name and rule.event_name.casefold() != event.name.casefold():
        return False
    if rule.url_contains and rule.url_contains.casefold() not in event.url.casefold():
        return False
    return bool(rule.event_type or rule.event_name or rule.url_contains)


def contact_matches(rule: Rule, contact: Mapping[str, str]) -> bool:
    value = (contact.get(rule.field) or "").strip()
    if not value:
        return False
    return not rule.field_contains or rule.field_contains.casefold() in value.casefold()


def _capped(total: int, points: int, cap: int | None) -> int:
    """Points this award may add given the running total of its rule and the rule's cap."""
    if cap is None:
        return points
    if points >= 0:
        return max(0, min(points, cap - total))
    return min(0, max(points, -cap - total))


def score(
    *, events: Iterable[EventFacts], rules: Iterable[Rule], contact: Mapping[str, str]
) -> ScoreResult:
    """Score one lead. Each contribution names its rule and its event or field; they add up."""
    rules = list(rules)
    result = ScoreResult()
    behaviour_rules = [r for r in rules if r.kind == "behaviour"]
    running: dict[int, int] = {}
    for event in events:
        for rule in behaviour_rules:
            if not event_matches(rule, event):
                continue
            points = _capped(running.get(rule.id, 0), rule.points, rule.max_points)
            if points == 0:
                continue
            running[rule.id] = running.get(rule.id, 0) + points
            result.behaviour += points
            result.contributions.append(Contribution(rule.id, rule.name, points, event_id=event.id))
    for rule in rules:
        if rule.kind == "fit" and contact_matches(rule, contact):
            points = _capped(0, rule.points, rule.max_points)
            if points == 0:
                continue
            result.fit += points
            result.contributions.append(Contribution(rule.id, rule.name, points, field=rule.field))
    return result
