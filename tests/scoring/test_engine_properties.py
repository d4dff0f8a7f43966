"""Properties of the score maths over random events and rules (hypothesis, no database)."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.engine import EventFacts, Rule, ScoreState, event_matches, round_points, score

NOW = dt.datetime(2030, 6, 3, 9, 30, tzinfo=dt.UTC)
TYPES = ["page", "track", "identify"]
NAMES = ["Signed Up", "Demo Requested", "Whitepaper Downloaded", ""]
URLS = [
    "https://x.test/",
    "https://x.test/pricing",
    "https://x.test/Pricing/?plan=pro",
    "https://x.test/blog/post-7",
    "/pricing#faq",
    "",
]
FIELDS = ["company", "job_title", "phone", "country", "seniority", "company_size"]

# Seconds before NOW, up to ~120 days back and a little into the future (clock skew).
offsets = st.integers(-3 * 86400, 120 * 86400)
properties = st.fixed_dictionaries(
    {},
    optional={"plan": st.sampled_from(["pro", "Enterprise", "free"]), "seats": st.integers(1, 3)},
)


@st.composite
def event_lists(draw, max_size: int = 40) -> list[EventFacts]:
    ids = draw(st.lists(st.integers(1, 10**6), unique=True, max_size=max_size))
    return [
        EventFacts(
            id=pk,
            type=draw(st.sampled_from(TYPES)),
            name=draw(st.sampled_from(NAMES)),
            url=draw(st.sampled_from(URLS)),
            occurred_at=NOW
            - dt.timedelta(seconds=draw(offsets), microseconds=draw(st.integers(0, 999_999))),
            properties=draw(properties),
        )
        for pk in ids
    ]


points = st.integers(-50, 50).filter(bool)
caps = st.none() | st.integers(0, 100)


@st.composite
def behaviour_rules(draw, pk: int) -> Rule:
    url_match = draw(st.sampled_from(["", "contains", "exact", "prefix", "regex"]))
    url = {
        "": "",
        "contains": draw(st.sampled_from(["/", "/pricing", "blog"])),
        "exact": draw(st.sampled_from(["/", "/pricing", "https://x.test/pricing"])),
        "prefix": draw(st.sampled_from(["/pricing", "/blog/", "https://x.test/"])),
        "regex": draw(st.sampled_from([r"post-[0-9]+$", r"^https://x\.test/p", "pricing/?$"])),
    }[url_match]
    property_match = draw(st.sampled_from(["", "", "equals", "contains", "exists"]))
    frequency = draw(st.sampled_from(["every", "once", "period"]))
    group = draw(st.none() | st.integers(1, 2))
    return Rule(
        id=pk,
        name=f"behaviour {pk}",
        kind="behaviour",
        points=draw(points),
        event_type=draw(st.sampled_from(["", *TYPES])),
        event_name=draw(st.sampled_from(["", *NAMES[:-1]])),
        url_match=url_match,
        url=url,
        property_key=draw(st.sampled_from(["plan", "seats"])) if property_match else "",
        property_match=property_match,
        property_value=draw(st.sampled_from(["pro", "enterprise", "1"])),
        frequency=frequency,
        period_days=draw(st.integers(1, 10)) if frequency == "period" else None,
        half_life_days=draw(st.none() | st.integers(1, 60)),
        max_points=draw(caps),
        group_id=group,
        group_max_points=None if group is None else [None, 40, 15][group],
    )


@st.composite
def fit_rules(draw, pk: int) -> Rule:
    field = draw(st.sampled_from(FIELDS))
    numeric = field == "company_size"
    operators = (
        ["known", "missing", "between"] if numeric else ["known", "missing", "contains", "in"]
    )
    operator = draw(st.sampled_from([*operators, "free_mail", "competitor"]))
    low = draw(st.none() | st.integers(1, 500))
    return Rule(
        id=pk,
        name=f"fit {pk}",
        kind="fit",
        points=draw(points),
        field=field,
        operator=operator,
        values=tuple(
            draw(
                st.lists(
                    st.sampled_from(["head", "a", "ACME", "fr", "rival.io"]), min_size=1, max_size=3
                )
            )
        ),
        min_value=low,
        max_value=draw(st.none() | st.integers(low or 1, 1000)),
        max_points=draw(caps),
        group_id=draw(st.none() | st.just(3)),
        group_max_points=12,
    )


@st.composite
def rule_lists(draw) -> list[Rule]:
    count = draw(st.integers(0, 8))
    return [
        draw(behaviour_rules(pk) if draw(st.booleans()) else fit_rules(pk))
        for pk in range(1, count + 1)
    ]


contacts = st.fixed_dictionaries(
    {
        **{name: st.sampled_from(["", "Acme", "Head of Sales", "  ", "FR"]) for name in FIELDS[:4]},
        "seniority": st.sampled_from(["", "vp", "c_level"]),
        "company_size": st.none() | st.integers(1, 2000),
        "email": st.sampled_from(["", "a@gmail.com", "b@acme.com", "c@eu.rival.io"]),
    }
)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def near_half(x: float) -> bool:
    return abs(x - math.floor(x) - 0.5) < 1e-9 * max(1.0, abs(x))


@settings(max_examples=150, deadline=None)
@given(events=event_lists(), rules=rule_lists(), contact=contacts)
def test_the_contributions_always_add_up_to_the_score(events, rules, contact):
    result = score(events=events, rules=rules, contact=contact, now=NOW)

    behaviour = [c.counted for c in result.contributions if c.event_id is not None]
    assert close(math.fsum(behaviour), result.behaviour_exact)
    assert result.behaviour == round_points(result.behaviour_exact)
    assert sum(c.counted for c in result.contributions if c.event_id is None) == result.fit
    for contribution in result.contributions:
        # Decay only shrinks; caps only take away, never flip a sign.
        assert abs(contribution.decayed) <= abs(contribution.points)
        assert contribution.counted * contribution.points >= 0 or close(contribution.counted, 0)


@settings(max_examples=150, deadline=None)
@given(events=event_lists(), rules=rule_lists(), contact=contacts)
def test_a_capped_rule_never_gives_or_takes_more_than_its_cap(events, rules, contact):
    result = score(events=events, rules=rules, contact=contact, now=NOW)

    per_rule: dict[int, float] = defaultdict(float)
    for contribution in result.contributions:
        per_rule[contribution.rule_id] += contribution.counted
    for rule in rules:
        total = per_rule[rule.id]
        if rule.max_points is not None:
            assert abs(total) <= rule.max_points + 1e-9


@settings(max_examples=150, deadline=None)
@given(events=event_lists(), rules=rule_lists(), contact=contacts, data=st.data())
def test_the_order_of_the_rules_does_not_change_the_score(events, rules, contact, data):
    shuffled = data.draw(st.permutations(rules))

    first = score(events=events, rules=rules, contact=contact, now=NOW)
    second = score(events=events, rules=shuffled, contact=contact, now=NOW)

    assert close(first.behaviour_exact, second.behaviour_exact)
    assert first.fit == second.fit
    assert sorted(c.event_id or 0 for c in first.contributions) == sorted(
        c.event_id or 0 for c in second.contributions
    )


@settings(max_examples=100, deadline=None)
@given(events=event_lists(), rules=rule_lists(), contact=contacts, data=st.data())
def test_the_order_of_the_events_does_not_change_anything(events, rules, contact, data):
    shuffled = data.draw(st.permutations(events))

    first = score(events=events, rules=rules, contact=contact, now=NOW)
    second = score(events=shuffled, rules=rules, contact=contact, now=NOW)

    assert first.behaviour_exact == second.behaviour_exact
    assert first.contributions == second.contributions


@settings(max_examples=100, deadline=None)
@given(events=event_lists(), rules=rule_lists(), contact=contacts)
def test_an_uncapped_rule_without_decay_gives_its_points_for_every_matching_event(
    events, rules, contact
):
    result = score(events=events, rules=rules, contact=contact, now=NOW)

    for rule in rules:
        if rule.kind != "behaviour" or rule.max_points is not None or rule.group_id is not None:
            continue
        if rule.frequency != "every" or rule.half_life_days:
            continue
        given_points = sum(c.counted for c in result.contributions if c.rule_id == rule.id)
        matching = [event for event in events if event_matches(rule, event)]
        assert given_points == rule.points * len(matching)


@settings(max_examples=100, deadline=None)
@given(events=event_lists(), rules=rule_lists(), contact=contacts, later=st.integers(1, 400))
def test_without_new_events_a_score_only_fades_towards_zero(events, rules, contact, later):
    rules = [r for r in rules if r.group_id is None and r.max_points is None]
    now = score(events=events, rules=rules, contact=contact, now=NOW)
    then = score(events=events, rules=rules, contact=contact, now=NOW + dt.timedelta(days=later))

    per_rule_now = defaultdict(float)
    per_rule_then = defaultdict(float)
    for c in now.contributions:
        per_rule_now[c.rule_id] += c.counted
    for c in then.contributions:
        per_rule_then[c.rule_id] += c.counted
    for rule in rules:
        assert abs(per_rule_then[rule.id]) <= abs(per_rule_now[rule.id]) + 1e-9


@settings(max_examples=300, deadline=None)
@given(
    events=event_lists(max_size=30),
    rules=rule_lists(),
    contact=contacts,
    data=st.data(),
)
def test_the_incremental_score_after_each_event_equals_a_full_recompute(
    events, rules, contact, data
):
    """Events arrive in any order (late ones too) and the clock moves on between them.

    The rounding rule: the unrounded behaviour scores agree within 1e-9 (float summation order),
    so the stored integers agree unless the exact score lies within that of a half point.
    """
    arrival = data.draw(st.permutations(events))
    steps = data.draw(
        st.lists(st.integers(0, 5 * 86400), min_size=len(arrival), max_size=len(arrival))
    )
    state = ScoreState(rules)
    seen: list[EventFacts] = []
    now = NOW - dt.timedelta(days=5)
    for event, step in zip(arrival, steps, strict=True):
        state.add(event)
        seen.append(event)
        now += dt.timedelta(seconds=step)

        full = score(events=seen, rules=rules, contact=contact, now=now)
        incremental = state.behaviour_exact(now)

        assert close(incremental, full.behaviour_exact), (incremental, full.behaviour_exact)
        if not near_half(full.behaviour_exact):
            assert state.read(now=now, contact=contact) == (full.behaviour, full.fit)
