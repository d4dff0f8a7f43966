"""The score maths on plain values: no database, every point explained."""

from __future__ import annotations

import datetime as dt

import pytest

from scoring.engine import (
    EventFacts,
    Rule,
    ScoreState,
    contact_matches,
    event_matches,
    round_points,
    score,
    url_path,
)

T0 = dt.datetime(2030, 1, 7, 12, tzinfo=dt.UTC)  # a Monday
DAY = dt.timedelta(days=1)


def page(pk: int, url: str, at: dt.datetime = T0, **properties) -> EventFacts:
    return EventFacts(pk, "page", "", url, at, properties)


def track(pk: int, name: str, at: dt.datetime = T0, **properties) -> EventFacts:
    return EventFacts(pk, "track", name, "", at, properties)


def behaviour(pk: int, points: int, **options) -> Rule:
    return Rule(id=pk, name=f"rule {pk}", kind="behaviour", points=points, **options)


def fit(pk: int, points: int, field: str, operator: str = "known", **options) -> Rule:
    return Rule(
        id=pk,
        name=f"fit {pk}",
        kind="fit",
        points=points,
        field=field,
        operator=operator,
        **options,
    )


def counted(result, rule_id: int | None = None) -> list[float]:
    return [c.counted for c in result.contributions if rule_id in (None, c.rule_id)]


# -- matching events --


def test_a_rule_matches_events_by_type():
    rule = behaviour(1, 1, event_type="page")

    assert event_matches(rule, page(1, "https://x.test/"))
    assert not event_matches(rule, track(2, "Signed Up"))


def test_a_rule_matches_event_names_whatever_their_ascii_case():
    rule = behaviour(1, 1, event_type="track", event_name="Demo Requested")

    assert event_matches(rule, track(1, "DEMO requested"))
    assert not event_matches(rule, track(2, "Demo Requested Twice"))
    assert not event_matches(rule, page(3, "https://x.test/demo-requested"))


def test_case_folds_ascii_letters_only_as_the_database_does():
    rule = behaviour(1, 1, event_name="Démo")

    assert event_matches(rule, track(1, "dÉmo".replace("É", "é")))
    assert not event_matches(rule, track(2, "DÉMO"))


def test_url_contains_matches_a_piece_of_the_url_anywhere():
    rule = behaviour(1, 10, url_match="contains", url="/Pricing")

    assert event_matches(rule, page(1, "https://x.test/pricing?plan=pro"))
    assert event_matches(rule, page(2, "https://x.test/demo-site/pricing/"))
    assert not event_matches(rule, page(3, "https://x.test/price"))


def test_url_exact_compares_the_path_without_query_fragment_or_trailing_slash():
    rule = behaviour(1, 10, url_match="exact", url="/pricing")

    for url in ["https://x.test/pricing", "HTTPS://X.TEST/Pricing/", "/pricing?a=1", "/pricing#b"]:
        assert event_matches(rule, page(1, url)), url
    for url in ["https://x.test/pricing/pro", "https://x.test/demo/pricing", "https://x.test/", ""]:
        assert not event_matches(rule, page(1, url)), url


def test_url_exact_slash_is_the_home_page_of_any_site():
    rule = behaviour(1, 1, url_match="exact", url="/")

    assert event_matches(rule, page(1, "https://x.test"))
    assert event_matches(rule, page(2, "https://x.test/?utm_source=ads"))
    assert not event_matches(rule, page(3, "https://x.test/blog"))
    assert not event_matches(rule, track(4, "No URL"))


def test_url_prefix_reads_the_path_or_a_whole_url():
    blog = behaviour(1, 2, url_match="prefix", url="/blog/")
    docs = behaviour(2, 2, url_match="prefix", url="https://docs.x.test/api")

    assert event_matches(blog, page(1, "https://x.test/blog/post-1?ref=x"))
    assert not event_matches(blog, page(2, "https://x.test/en/blog/post-1"))
    assert not event_matches(blog, page(3, "https://x.test/?next=/blog/"))
    assert event_matches(docs, page(4, "https://DOCS.x.test/api/v2"))
    assert not event_matches(docs, page(5, "https://x.test/api"))


def test_url_pattern_is_a_regular_expression_searched_without_case():
    rule = behaviour(1, 2, url_match="regex", url=r"/blog/post-[0-9]+$")

    assert event_matches(rule, page(1, "https://x.test/BLOG/post-12"))
    assert not event_matches(rule, page(2, "https://x.test/blog/post-12/comments"))


def test_the_path_of_a_url_drops_origin_query_and_fragment():
    assert url_path("HTTPS://X.test:8443/A/b?c=/d#e") == "/a/b"
    assert url_path("/relative/path?x") == "/relative/path"
    assert url_path("https://x.test") == ""


def test_a_rule_matches_an_event_property_equal_containing_or_set():
    plan_is = behaviour(1, 5, event_type="track", property_key="plan", property_match="equals",
                        property_value="Enterprise")  # fmt: skip
    nested = behaviour(
        2, 5, property_key="form.id", property_match="contains", property_value="demo"
    )
    has_value = behaviour(3, 5, property_key="value", property_match="exists")

    assert event_matches(plan_is, track(1, "Signed Up", plan="enterprise"))
    assert not event_matches(plan_is, track(2, "Signed Up", plan="enterprise-trial"))
    assert not event_matches(plan_is, track(3, "Signed Up"))
    assert event_matches(nested, track(4, "Form", form={"id": "Book-a-DEMO"}))
    assert event_matches(has_value, track(5, "Paid", value=0))
    assert event_matches(has_value, track(6, "Paid", value=False))
    assert not event_matches(has_value, track(7, "Paid", value=None))


def test_a_number_or_a_boolean_property_compares_as_its_json_text():
    rule = behaviour(1, 5, property_key="seats", property_match="equals", property_value="10")
    trial = behaviour(2, 5, property_key="trial", property_match="equals", property_value="TRUE")

    assert event_matches(rule, track(1, "Signed Up", seats=10))
    assert event_matches(trial, track(2, "Signed Up", trial=True))


def test_a_rule_without_any_criterion_matches_nothing():
    rule = behaviour(1, 5)

    assert not event_matches(rule, page(1, "https://x.test/"))
    assert not event_matches(rule, track(2, "Anything"))


# -- matching contacts --


def test_a_fit_rule_is_known_or_missing_and_blank_is_missing():
    known, missing = fit(1, 5, "company"), fit(2, -5, "company", "missing")

    assert contact_matches(known, {"company": "Acme"})
    for contact in ({"company": "   "}, {"company": ""}, {}):
        assert not contact_matches(known, contact)
        assert contact_matches(missing, contact)


def test_job_title_contains_any_of_a_list_without_case():
    rule = fit(1, 10, "job_title", "contains", values=["head", "VP", "director"])

    assert contact_matches(rule, {"job_title": "Head of Sales"})
    assert contact_matches(rule, {"job_title": "vp marketing"})
    assert contact_matches(rule, {"job_title": "Forehead inspector"})
    assert not contact_matches(rule, {"job_title": "Analyst"})


def test_seniority_industry_and_country_in_a_list():
    rule = fit(1, 5, "country", "in", values=["FR", " de "])

    assert contact_matches(rule, {"country": "fr"})
    assert contact_matches(rule, {"country": "DE "})
    assert not contact_matches(rule, {"country": "France"})
    assert contact_matches(
        fit(2, 8, "seniority", "in", values=["vp", "c_level"]), {"seniority": "vp"}
    )


def test_company_size_between_bounds_inclusive_and_open_ended():
    mid = fit(1, 10, "company_size", "between", min_value=50, max_value=500)
    large = fit(2, 15, "company_size", "between", min_value=1000)

    assert [contact_matches(mid, {"company_size": n}) for n in (49, 50, 500, 501, None)] == [
        False,
        True,
        True,
        False,
        False,
    ]
    assert contact_matches(large, {"company_size": 5000})
    assert contact_matches(fit(3, -5, "company_size", "missing"), {"company_size": None})


def test_free_mail_and_competitor_domains_read_the_email():
    free = fit(1, -10, "", "free_mail")
    rival = fit(2, -50, "", "competitor", values=["rival.io"])

    assert contact_matches(free, {"email": "Ada@GMail.com"})
    assert not contact_matches(free, {"email": "ada@engines.co.uk"})
    assert contact_matches(rival, {"email": "spy@rival.io"})
    assert contact_matches(rival, {"email": "spy@eu.rival.io"})
    assert not contact_matches(rival, {"email": "fan@notrival.io"})
    assert not contact_matches(rival, {"email": ""})


# -- points, caps and decay --


def test_each_matching_event_gives_the_rule_points_and_names_them():
    rules = [behaviour(7, 10, event_type="page", url_match="contains", url="/pricing")]
    events = [page(1, "https://x.test/pricing"), page(2, "https://x.test/"), page(3, "/pricing")]

    result = score(events=events, rules=rules, contact={})

    assert (result.behaviour, result.fit, result.total) == (20, 0, 20)
    assert [
        (c.rule_id, c.event_id, c.points, c.decayed, c.counted) for c in result.contributions
    ] == [
        (7, 1, 10, 10, 10),
        (7, 3, 10, 10, 10),
    ]


def test_a_cap_keeps_the_newest_points_and_explains_the_older_ones_as_over_it():
    rules = [behaviour(1, 10, event_type="page", max_points=25)]
    events = [page(n, "/", T0 + n * dt.timedelta(minutes=1)) for n in range(1, 6)]

    result = score(events=events, rules=rules, contact={})

    assert result.behaviour == 25
    assert [(c.event_id, c.counted) for c in result.contributions] == [
        (1, 0),
        (2, 0),
        (3, 5),
        (4, 10),
        (5, 10),
    ]


def test_negative_points_stop_at_the_rules_cap_below_zero():
    rules = [behaviour(1, -30, event_type="track", event_name="Unsubscribed", max_points=50)]
    events = [track(n, "Unsubscribed", T0 + n * DAY) for n in range(1, 4)]

    result = score(events=events, rules=rules, contact={})

    assert result.behaviour == -50
    assert counted(result) == [0, -20, -30]


def test_an_uncapped_negative_rule_keeps_taking_points():
    rules = [behaviour(1, -30, event_type="track", event_name="Unsubscribed")]

    result = score(events=[track(n, "Unsubscribed") for n in range(4)], rules=rules, contact={})

    assert result.total == -120


def test_caps_count_per_rule_not_per_event():
    rules = [
        behaviour(1, 10, event_type="page", url_match="contains", url="/pricing", max_points=30),
        behaviour(2, 1, event_type="page", url_match="contains", url="/", max_points=5),
    ]
    events = [page(n, "https://x.test/pricing") for n in range(10)]

    result = score(events=events, rules=rules, contact={})

    assert result.behaviour == 35
    assert sum(counted(result, 1)) == 30
    assert sum(counted(result, 2)) == 5


def test_a_group_caps_its_rules_together_after_their_own_caps():
    rules = [
        behaviour(1, 10, url_match="contains", url="/pricing", max_points=30, group_id=9,
                  group_max_points=35),
        behaviour(2, 5, url_match="contains", url="/docs", group_id=9, group_max_points=35),
        behaviour(3, 1, url_match="contains", url="/"),
    ]  # fmt: skip
    events = [
        *(page(n, "/pricing", T0 + n * DAY) for n in range(5)),
        *(page(10 + n, "/docs", T0 + n * DAY) for n in range(3)),
    ]

    result = score(events=events, rules=rules, contact={})

    assert result.behaviour == 35 + 8
    assert sum(counted(result, 1)) + sum(counted(result, 2)) == 35
    assert sum(c.counted for c in result.contributions) == result.behaviour_exact == 43


def test_once_per_lead_counts_the_first_matching_event_only():
    rules = [behaviour(1, 40, event_name="Demo Requested", frequency="once")]
    events = [track(n, "Demo Requested", T0 + n * DAY) for n in (3, 1, 2)]

    result = score(events=events, rules=rules, contact={})

    assert result.behaviour == 40
    assert [c.event_id for c in result.contributions] == [1]


def test_once_per_period_counts_the_first_event_of_each_n_day_window_from_mondays():
    rules = [behaviour(1, 5, event_name="Login", frequency="period", period_days=7)]
    monday, sunday_night = T0.replace(hour=0), T0 + 6 * DAY + dt.timedelta(hours=11)
    events = [
        track(1, "Login", monday),
        track(2, "Login", sunday_night),  # same week
        track(3, "Login", sunday_night + dt.timedelta(hours=1)),  # next Monday 00:00
        track(4, "Login", T0 + 20 * DAY),
    ]

    result = score(events=events, rules=rules, contact={})

    assert result.behaviour == 15
    assert [c.event_id for c in result.contributions] == [1, 3, 4]


def test_points_halve_every_half_life():
    rules = [behaviour(1, 40, event_name="Demo Requested", half_life_days=30)]
    events = [track(1, "Demo Requested", T0)]

    ages = {
        days: score(events=events, rules=rules, contact={}, now=T0 + days * DAY)
        for days in (0, 30, 60, 15)
    }

    assert {days: r.behaviour_exact for days, r in ages.items()} == pytest.approx(
        {0: 40, 30: 20, 60: 10, 15: 40 * 0.5**0.5}
    )
    assert ages[15].behaviour == 28  # 28.28 rounds half up
    assert ages[60].contributions[0].decayed == 10


def test_an_event_dated_after_the_scoring_time_does_not_grow():
    rules = [behaviour(1, 10, event_type="page", half_life_days=7)]

    result = score(events=[page(1, "/", T0 + DAY)], rules=rules, contact={}, now=T0)

    assert result.behaviour_exact == 10


def test_a_cap_bounds_the_decayed_sum_so_new_interest_counts_again():
    rules = [
        behaviour(1, 10, url_match="contains", url="/pricing", max_points=30, half_life_days=30)
    ]
    old = [page(n, "/pricing", T0) for n in range(1, 4)]
    new = [page(9, "/pricing", T0 + 90 * DAY)]

    result = score(events=old + new, rules=rules, contact={}, now=T0 + 90 * DAY)

    # Three old views decayed to 1.25 each, plus a fresh one: 13.75, under the cap.
    assert result.behaviour_exact == pytest.approx(13.75)
    assert result.behaviour == 14


def test_decaying_rules_need_the_time_of_scoring():
    rules = [behaviour(1, 10, event_type="page", half_life_days=7)]

    with pytest.raises(ValueError, match="decays"):
        score(events=[page(1, "/")], rules=rules, contact={})


def test_rounding_is_half_up_also_below_zero():
    assert [round_points(x) for x in (0.5, 1.5, 2.5, -0.5, -1.5, 2.49)] == [1, 2, 3, 0, -1, 2]


# -- fit and totals --


def test_fit_points_come_once_per_rule_and_name_the_field():
    rules = [
        fit(1, 5, "company"),
        fit(2, 5, "job_title"),
        fit(3, 10, "job_title", "contains", values=["head"]),
        fit(4, 20, "phone"),
        fit(5, 50, "country", max_points=15),
        fit(6, -10, "", "free_mail"),
    ]
    contact = {"company": "Acme", "job_title": "Head of IT", "phone": "", "country": "FR",
               "email": "it@gmail.com"}  # fmt: skip

    result = score(events=[], rules=rules, contact=contact)

    assert (result.behaviour, result.fit) == (0, 25)
    assert [(c.rule_id, c.counted, c.field, c.event_id) for c in result.contributions] == [
        (1, 5, "company", None),
        (2, 5, "job_title", None),
        (3, 10, "job_title", None),
        (5, 15, "country", None),
        (6, -10, "email", None),
    ]


def test_fit_groups_cap_overlapping_title_rules():
    rules = [
        fit(1, 15, "job_title", "contains", values=["vp"], group_id=4, group_max_points=15),
        fit(2, 10, "job_title", "contains", values=["marketing"], group_id=4, group_max_points=15),
    ]

    assert score(events=[], rules=rules, contact={"job_title": "VP Marketing"}).fit == 15


def test_fit_rules_ignore_events_and_behaviour_rules_ignore_the_contact():
    rules = [behaviour(1, 10, event_type="page"), fit(2, 5, "company")]

    only_events = score(events=[page(1, "/")], rules=rules, contact={})
    only_contact = score(events=[], rules=rules, contact={"company": "Acme"})

    assert (only_events.behaviour, only_events.fit) == (10, 0)
    assert (only_contact.behaviour, only_contact.fit) == (0, 5)


def test_the_contributions_add_up_to_the_total():
    rules = [
        behaviour(1, 25, event_type="track", event_name="Whitepaper Downloaded", max_points=50),
        behaviour(2, 10, event_type="page", url_match="contains", url="/pricing", max_points=30),
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
    assert sum(c.counted for c in result.contributions) == result.total
    assert sum(c.counted for c in result.contributions if c.event_id) == result.behaviour
    assert sum(c.counted for c in result.contributions if c.field) == result.fit


def test_no_rules_no_points():
    result = score(events=[page(1, "/")], rules=[], contact={"company": "Acme"})

    assert (result.total, result.contributions) == (0, [])


def test_a_rule_capped_at_zero_counts_nothing():
    rules = [behaviour(1, 10, event_type="page", max_points=0), fit(2, 5, "company", max_points=0)]

    result = score(events=[page(1, "/")], rules=rules, contact={"company": "Acme"})

    assert result.total == 0
    assert [c.counted for c in result.contributions] == [0, 0]


# -- the incremental state --


def test_the_state_takes_events_in_any_order_and_decays_at_read():
    rules = [
        behaviour(1, 10, url_match="contains", url="/pricing", half_life_days=10, max_points=25),
        behaviour(2, 40, event_name="Demo Requested", frequency="once", half_life_days=20),
        behaviour(3, 3, event_type="page", frequency="period", period_days=1),
        fit(4, 5, "company"),
    ]
    events = [
        page(1, "/pricing", T0 + 3 * DAY),
        track(2, "Demo Requested", T0 + 5 * DAY),
        page(3, "/pricing", T0),
        track(4, "Demo Requested", T0 + DAY),  # earlier: it becomes the one counted
        page(5, "/pricing", T0 + 40 * DAY),  # in the future at the first reads
    ]
    state = ScoreState(rules)

    for n, now in enumerate(
        [T0 + 6 * DAY, T0 + 6 * DAY, T0 + 10 * DAY, T0 + 41 * DAY, T0 + 99 * DAY]
    ):
        state.add(events[n])
        full = score(events=events[: n + 1], rules=rules, contact={"company": "A"}, now=now)
        assert state.behaviour_exact(now) == pytest.approx(full.behaviour_exact, rel=1e-12)
        assert state.read(now=now, contact={"company": "A"}) == (full.behaviour, full.fit)


def test_the_state_is_never_read_back_in_time():
    state = ScoreState([behaviour(1, 10, event_type="page", half_life_days=10)])
    state.behaviour_exact(T0)

    with pytest.raises(ValueError, match="never go back"):
        state.behaviour_exact(T0 - DAY)
