"""The score maths on plain values: no database, every point explained."""

from __future__ import annotations

import datetime as dt

from scoring.engine import Contribution, EventFacts, Rule, contact_matches, event_matches, score

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def page(pk: int, url: str) -> EventFacts:
    return EventFacts(id=pk, type="page", name="", url=url, occurred_at=T0)


def track(pk: int, name: str) -> EventFacts:
    return EventFacts(id=pk, type="track", name=name, url="", occurred_at=T0)


def behaviour(pk: int, points: int, **match) -> Rule:
    return Rule(id=pk, name=f"rule {pk}", kind="behaviour", points=points, **match)


def fit(pk: int, points: int, field: str, contains: str = "", cap: int | None = None) -> Rule:
    return Rule(
        id=pk,
        name=f"fit {pk}",
        kind="fit",
        points=points,
        field=field,
        field_contains=contains,
        max_points=cap,
    )


def test_a_rule_matches_events_by_type():
    rule = behaviour(1, 1, event_type="page")

    assert event_matches(rule, page(1, "https://x.test/"))
    assert not event_matches(rule, track(2, "Signed Up"))


def test_a_rule_matches_track_events_by_name_whatever_the_case():
    rule = behaviour(1, 1, event_type="track", event_name="Demo Requested")

    assert event_matches(rule, track(1, "demo requested"))
    assert not event_matches(rule, track(2, "Demo Requested Twice"))
    assert not event_matches(rule, page(3, "https://x.test/demo-requested"))


def test_a_rule_matches_pages_by_a_piece_of_their_url():
    rule = behaviour(1, 10, event_type="page", url_contains="/Pricing")

    assert event_matches(rule, page(1, "https://x.test/pricing?plan=pro"))
    assert not event_matches(rule, page(2, "https://x.test/price"))


def test_a_rule_without_any_criterion_matches_nothing():
    rule = behaviour(1, 5)

    assert not event_matches(rule, page(1, "https://x.test/"))
    assert not event_matches(rule, track(2, "Anything"))


def test_a_fit_rule_needs_a_known_field_and_matches_contains_without_case():
    decision_maker = fit(1, 10, "job_title", contains="head")

    assert contact_matches(decision_maker, {"job_title": "Head of Sales"})
    assert contact_matches(decision_maker, {"job_title": "Forehead inspector"})
    assert not contact_matches(decision_maker, {"job_title": "CEO"})
    assert not contact_matches(fit(2, 5, "company"), {"company": "   "})
    assert not contact_matches(fit(2, 5, "company"), {})
    assert contact_matches(fit(2, 5, "company"), {"company": "Acme"})


def test_each_matching_event_gives_the_rule_points_and_names_them():
    rules = [behaviour(7, 10, event_type="page", url_contains="/pricing")]
    events = [page(1, "https://x.test/pricing"), page(2, "https://x.test/"), page(3, "/pricing")]

    result = score(events=events, rules=rules, contact={})

    assert (result.behaviour, result.fit, result.total) == (20, 0, 20)
    assert result.contributions == [
        Contribution(7, "rule 7", 10, event_id=1),
        Contribution(7, "rule 7", 10, event_id=3),
    ]


def test_positive_points_stop_at_the_rules_cap():
    rules = [behaviour(1, 10, event_type="page", max_points=25)]

    result = score(events=[page(n, "/") for n in range(1, 6)], rules=rules, contact={})

    assert result.behaviour == 25
    assert [c.points for c in result.contributions] == [10, 10, 5]
    assert [c.event_id for c in result.contributions] == [1, 2, 3]


def test_negative_points_stop_at_the_rules_cap_below_zero():
    rules = [behaviour(1, -30, event_type="track", event_name="Unsubscribed", max_points=50)]
    events = [track(n, "Unsubscribed") for n in range(1, 4)]

    result = score(events=events, rules=rules, contact={})

    assert result.behaviour == -50
    assert [c.points for c in result.contributions] == [-30, -20]


def test_an_uncapped_negative_rule_keeps_taking_points():
    rules = [behaviour(1, -30, event_type="track", event_name="Unsubscribed")]

    result = score(events=[track(n, "Unsubscribed") for n in range(4)], rules=rules, contact={})

    assert result.total == -120


def test_caps_count_per_rule_not_per_event():
    rules = [
        behaviour(1, 10, event_type="page", url_contains="/pricing", max_points=30),
        behaviour(2, 1, event_type="page", url_contains="/", max_points=5),
    ]
    events = [page(n, "https://x.test/pricing") for n in range(10)]

    result = score(events=events, rules=rules, contact={})

    assert result.behaviour == 35
    assert sum(c.points for c in result.contributions if c.rule_id == 1) == 30
    assert sum(c.points for c in result.contributions if c.rule_id == 2) == 5


def test_fit_points_come_once_per_rule_and_name_the_field():
    rules = [
        fit(1, 5, "company"),
        fit(2, 5, "job_title"),
        fit(3, 10, "job_title", contains="head"),
        fit(4, 20, "phone"),
        fit(5, 50, "country", cap=15),
    ]
    contact = {"company": "Acme", "job_title": "Head of IT", "phone": "", "country": "FR"}

    result = score(events=[], rules=rules, contact=contact)

    assert (result.behaviour, result.fit) == (0, 35)
    assert [(c.rule_id, c.points, c.field, c.event_id) for c in result.contributions] == [
        (1, 5, "company", None),
        (2, 5, "job_title", None),
        (3, 10, "job_title", None),
        (5, 15, "country", None),
    ]


def test_fit_rules_ignore_events_and_behaviour_rules_ignore_the_contact():
    rules = [behaviour(1, 10, event_type="page"), fit(2, 5, "company")]

    only_events = score(events=[page(1, "/")], rules=rules, contact={})
    only_contact = score(events=[], rules=rules, contact={"company": "Acme"})

    assert (only_events.behaviour, only_events.fit) == (10, 0)
    assert (only_contact.behaviour, only_contact.fit) == (0, 5)


def test_the_contributions_add_up_to_the_total():
    rules = [
        behaviour(1, 25, event_type="track", event_name="Whitepaper Downloaded", max_points=50),
        behaviour(2, 10, event_type="page", url_contains="/pricing", max_points=30),
        behaviour(3, -30, event_type="track", event_name="Unsubscribed"),
        fit(4, 5, "company"),
    ]
    events = [
        track(1, "Whitepaper Downloaded"),
        page(2, "/pricing"),
        track(3, "Unsubscribed"),
        track(4, "Whitepaper Downloaded"),
        track(5, "Whitepaper Downloaded"),
    ]

    result = score(events=events, rules=rules, contact={"company": "Acme"})

    assert result.total == 50 + 10 - 30 + 5
    assert sum(c.points for c in result.contributions) == result.total
    assert sum(c.points for c in result.contributions if c.event_id) == result.behaviour
    assert sum(c.points for c in result.contributions if c.field) == result.fit


def test_no_rules_no_points():
    result = score(events=[page(1, "/")], rules=[], contact={"company": "Acme"})

    assert (result.total, result.contributions) == (0, [])


def test_a_rule_capped_at_zero_explains_no_points_at_all():
    rules = [behaviour(1, 10, event_type="page", max_points=0), fit(2, 5, "company", cap=0)]

    result = score(events=[page(1, "/")], rules=rules, contact={"company": "Acme"})

    assert (result.total, result.contributions) == (0, [])
