"""The demo rules keep their promise: interest makes an MQL, browsing alone never does."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.demo import DEMO_RULES
from scoring.engine import EventFacts, Rule, score
from scoring.models import ScoringRule
from stages.models import StageRules

THRESHOLD = StageRules._meta.get_field("mql_threshold").default
RULES = [Rule(id=n, **{"kind": "behaviour", **spec}) for n, spec in enumerate(DEMO_RULES, start=1)]
T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

urls = st.one_of(
    st.sampled_from(["https://www.example.com/", "https://www.example.com/pricing", ""]),
    st.text(max_size=40).map(lambda path: f"https://www.example.com/{path}"),
)
page_views = st.lists(
    st.builds(
        EventFacts,
        id=st.integers(1, 10**6),
        type=st.just("page"),
        name=st.text(max_size=20),
        url=urls,
    ),
    max_size=200,
)
contacts = st.fixed_dictionaries(
    {
        "company": st.sampled_from(["", "Acme"]),
        "job_title": st.sampled_from(["", "Analyst", "Head of Sales", "HEAD of IT"]),
        "email": st.just("someone@example.com"),
    }
)


@settings(max_examples=300, deadline=None)
@given(events=page_views, contact=contacts)
def test_page_views_alone_stay_below_the_mql_threshold_whatever_the_fit(events, contact):
    assert score(events=events, rules=RULES, contact=contact).total < THRESHOLD


def test_the_demo_journey_reaches_the_threshold_without_the_decision_maker_bonus():
    events = [
        EventFacts(1, "page", "Home", "https://www.example.com/", T0),
        EventFacts(2, "track", "Whitepaper Downloaded", "", T0),
        *(
            EventFacts(n, "page", "Pricing", "https://www.example.com/pricing", T0)
            for n in (3, 4, 5)
        ),
    ]

    result = score(events=events, rules=RULES, contact={"company": "Acme", "job_title": "Analyst"})

    assert result.total >= THRESHOLD


def test_installing_the_demo_rules_twice_keeps_one_of_each(db):
    from scoring.demo import rules_install

    rules_install()
    rules_install()

    assert ScoringRule.objects.count() == len(DEMO_RULES)
    for rule in ScoringRule.objects.all():
        rule.full_clean()
