"""Properties of the score maths over random events and rules (hypothesis, no database)."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.engine import EventFacts, Rule, event_matches, score

TYPES = ["page", "track", "identify"]
NAMES = ["Signed Up", "Demo Requested", "Whitepaper Downloaded", ""]
URLS = ["https://x.test/", "https://x.test/pricing", "https://x.test/blog/post", ""]
FIELDS = ["company", "job_title", "phone", "country"]

events = st.lists(
    st.builds(
        EventFacts,
        id=st.integers(1, 10_000),
        type=st.sampled_from(TYPES),
        name=st.sampled_from(NAMES),
        url=st.sampled_from(URLS),
    ),
    max_size=60,
)
points = st.integers(-50, 50).filter(bool)
caps = st.none() | st.integers(0, 100)


@st.composite
def rule_lists(draw) -> list[Rule]:
    count = draw(st.integers(0, 8))
    rules = []
    for pk in range(1, count + 1):
        if draw(st.booleans()):
            rules.append(
                Rule(
                    id=pk,
                    name=f"behaviour {pk}",
                    kind="behaviour",
                    points=draw(points),
                    event_type=draw(st.sampled_from(["", *TYPES])),
                    event_name=draw(st.sampled_from(["", *NAMES])),
                    url_contains=draw(st.sampled_from(["", "/", "/pricing", "blog"])),
                    max_points=draw(caps),
                )
            )
        else:
            rules.append(
                Rule(
                    id=pk,
                    name=f"fit {pk}",
                    kind="fit",
                    points=draw(points),
                    field=draw(st.sampled_from(FIELDS)),
                    field_contains=draw(st.sampled_from(["", "head", "a"])),
                    max_points=draw(caps),
                )
            )
    return rules


contacts = st.fixed_dictionaries(
    {name: st.sampled_from(["", "Acme", "Head of Sales", "  "]) for name in FIELDS}
)


@settings(max_examples=300, deadline=None)
@given(events=events, rules=rule_lists(), contact=contacts)
def test_the_contributions_always_add_up_to_the_total(events, rules, contact):
    result = score(events=events, rules=rules, contact=contact)

    assert sum(c.points for c in result.contributions) == result.total
    assert sum(c.points for c in result.contributions if c.event_id is not None) == (
        result.behaviour
    )
    assert sum(c.points for c in result.contributions if c.event_id is None) == result.fit
    assert all(c.points != 0 for c in result.contributions)


@settings(max_examples=300, deadline=None)
@given(events=events, rules=rule_lists(), contact=contacts)
def test_a_capped_rule_never_gives_or_takes_more_than_its_cap(events, rules, contact):
    result = score(events=events, rules=rules, contact=contact)

    per_rule: dict[int, int] = defaultdict(int)
    for contribution in result.contributions:
        per_rule[contribution.rule_id] += contribution.points
    for rule in rules:
        total = per_rule[rule.id]
        assert total == 0 or (total > 0) == (rule.points > 0)  # a rule's sign never flips
        if rule.max_points is not None:
            assert abs(total) <= rule.max_points


@settings(max_examples=300, deadline=None)
@given(events=events, rules=rule_lists(), contact=contacts, data=st.data())
def test_the_order_of_the_rules_does_not_change_the_score(events, rules, contact, data):
    shuffled = data.draw(st.permutations(rules))

    first = score(events=events, rules=rules, contact=contact)
    second = score(events=events, rules=shuffled, contact=contact)

    assert (first.behaviour, first.fit) == (second.behaviour, second.fit)
    assert sorted(first.contributions, key=repr) == sorted(second.contributions, key=repr)


@settings(max_examples=200, deadline=None)
@given(events=events, rules=rule_lists(), contact=contacts, data=st.data())
def test_the_order_of_the_events_does_not_change_the_total(events, rules, contact, data):
    shuffled = data.draw(st.permutations(events))

    assert score(events=events, rules=rules, contact=contact).total == (
        score(events=shuffled, rules=rules, contact=contact).total
    )


@settings(max_examples=200, deadline=None)
@given(events=events, rules=rule_lists(), contact=contacts)
def test_an_uncapped_rule_gives_its_points_for_every_matching_event(events, rules, contact):
    result = score(events=events, rules=rules, contact=contact)

    for rule in rules:
        if rule.kind != "behaviour" or rule.max_points is not None:
            continue
        given_points = sum(c.points for c in result.contributions if c.rule_id == rule.id)
        matching = [event for event in events if event_matches(rule, event)]
        assert given_points == rule.points * len(matching)
