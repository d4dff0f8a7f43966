"""Every report figure equals the same figure recomputed in Python from the raw records.

The history is generated through the real services (transitions, attempts, merges, each at its
own time); the oracle reads only `LeadTransition`, `Attempt`, `Lead` and `Visitor` rows.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from leadflow.people.models import Visitor
from leadflow.people.services import contacts_merge
from leadflow.reports import histograms, queries
from leadflow.reports.models import JourneyDay, JourneyDuration, LeadJourney, VisitorDay
from leadflow.reports.queries import DIMENSIONS, Period
from leadflow.reports.services import (
    COHORT_TIMES,
    DAY_COLUMNS,
    STEPS,
    journey_days_rebuild,
    journeys_refresh,
    visitor_days_refresh,
)
from stages.models import LeadTransition, StageRules
from tests.factories import lead_at

from . import oracle
from .history import NOW, START, history_build

PERIODS = [
    Period(START.date(), NOW.date()),  # everything
    Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)),  # a month
    Period(NOW.date() - dt.timedelta(days=89), NOW.date()),  # last 90 days
    Period(dt.date(2026, 4, 15), dt.date(2026, 4, 15)),  # one day
    Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31)),  # before anything happened
]


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def in_bucket(got: float | None, exact: float | None) -> bool:
    """A percentile read from the histogram is the middle of the bucket that holds the exact
    (nearest-rank) percentile of the raw durations: the exact value is within its bounds."""
    if got is None or exact is None:
        return got is None and exact is None
    lower, upper = histograms.bounds(histograms.bucket(got))
    return lower < exact <= upper and close(got, histograms.value(histograms.bucket(exact)))


def check_all(period: Period) -> None:
    js = oracle.journeys()
    assert queries.funnel(period) == oracle.funnel(js, period)

    for dimension in DIMENSIONS:
        got = {row.pop("value"): row for row in queries.breakdown(period, dimension)}
        assert got == oracle.breakdown(js, period, dimension), dimension

    expected = oracle.cohorts(js, period)
    got = queries.cohorts(period)
    assert [r["month"] for r in got] == [r["month"] for r in expected]
    for g, e in zip(got, expected, strict=True):
        for key in e:
            if "days" in key:
                assert in_bucket(g[key] and g[key] * 86400, e[key] and e[key] * 86400), key
            else:
                assert g[key] == e[key], key

    expected_velocity = oracle.velocity(js, period)
    for row in queries.velocity(period):
        n, p50, p90 = expected_velocity[row["step"]]
        assert (row["n"], in_bucket(row["p50"], p50), in_bucket(row["p90"], p90)) == (n, True, True)

    trend = oracle.velocity_trend(js, period)
    weeks = queries.velocity_trend(period)
    assert weeks[0]["week"] <= period.start < weeks[0]["week"] + dt.timedelta(days=7)
    for row in weeks:
        for step in list(oracle.STEP_RULES)[:4]:
            n, p50 = trend.get((step, row["week"]), (0, None))
            assert row[f"{step}_n"] == n
            assert in_bucket(row[f"{step}_p50"], p50)

    sla = dt.timedelta(hours=StageRules.current().mql_sla_hours)
    expected_sdr = oracle.sdr_performance(js, period, sla, timezone.now())
    got_sdr = {row["sdr_id"]: row for row in queries.sdr_performance(period)}
    assert set(got_sdr) == set(expected_sdr)
    for sdr_id, e in expected_sdr.items():
        for key, value in e.items():
            same = in_bucket if key.startswith("touch_p") else close
            assert same(got_sdr[sdr_id][key], value), (sdr_id, key)
        (one,) = queries.sdr_performance(period, sdr_id=sdr_id) if sdr_id else [got_sdr[None]]
        assert one == got_sdr[sdr_id]

    expected_ae = oracle.ae_performance(js, period)
    got_ae = {
        row["ae_id"]: {k: row[k] for k in ("sqls", "sqls_won", "won", "won_value")}
        for row in queries.ae_performance(period)
    }
    assert got_ae == expected_ae
    for ae_id in expected_ae:
        if ae_id is not None:
            (one,) = queries.ae_performance(period, ae_id=ae_id)
            assert one["ae_id"] == ae_id

    got_reasons = {(r["outcome"], r["reason"]): r["n"] for r in queries.quality_reasons(period)}
    assert got_reasons == oracle.quality_reasons(js, period)
    got_sources = {
        r["source"]: (r["sqls"], r["won"]) for r in queries.sql_to_customer_by_source(period)
    }
    assert got_sources == oracle.sql_to_customer_by_source(js, period)


@pytest.mark.parametrize("seed", [1, 2])
def test_every_figure_matches_a_recomputation_from_the_raw_history(db, team, seed):
    history_build(seed=seed, leads=140, people=team)
    # The story has what the definitions are about: recycles, requalified MQLs, direct SQLs.
    js = oracle.journeys()
    assert sum(1 for j in js.values() if j.recycled_at) >= 3
    assert sum(1 for j in js.values() if j.mql_entries > 1) >= 1
    assert sum(1 for j in js.values() if j.direct and j.customer_at) >= 1
    assert sum(1 for j in js.values() if j.disqualified_at) >= 3

    for period in PERIODS:
        check_all(period)


def _days() -> list[tuple]:
    columns = ["dimension", "day", "value", *DAY_COLUMNS]
    rows = JourneyDay.objects.order_by("dimension", "day", "value").values_list(*columns)
    return [row for row in rows if any(row[3:])]  # differences may leave rows of zeros


def _durations() -> list[tuple]:
    columns = ["kind", "span", "day", "key", "bucket", "n", "attempts", "sqls"]
    rows = JourneyDuration.objects.exclude(n=0).order_by(*columns).values_list(*columns)
    return list(rows)


def test_the_maintained_rollups_equal_a_full_recomputation(db, team):
    history_build(seed=3, leads=80, people=team)
    fields = [f.attname for f in LeadJourney._meta.concrete_fields if f.name != "refreshed_at"]
    kept = list(LeadJourney.objects.order_by("lead_id").values_list(*fields))
    kept_days = _days()
    kept_durations = _durations()
    assert kept  # every lead that moved has its journey, kept up by the receivers
    assert kept_days
    assert {kind for kind, *_ in kept_durations} == {
        *(key for key, *_ in STEPS),
        *(kind for kind, *_ in COHORT_TIMES),
        "touch",
    }
    assert not JourneyDuration.objects.filter(n__lt=0).exists()

    LeadJourney.objects.all().delete()
    JourneyDay.objects.all().delete()
    JourneyDuration.objects.all().delete()
    journeys_refresh()  # a first build: the journeys, then the rollups from them
    assert list(LeadJourney.objects.order_by("lead_id").values_list(*fields)) == kept
    assert _days() == kept_days
    assert _durations() == kept_durations
    journeys_refresh()  # the nightly pass: every journey again, the rollups by differences
    assert list(LeadJourney.objects.order_by("lead_id").values_list(*fields)) == kept
    assert _days() == kept_days
    assert _durations() == kept_durations
    journey_days_rebuild()
    assert _days() == kept_days
    assert _durations() == kept_durations


def test_visitors_of_past_days_come_from_the_rollup_and_today_is_live(db, team):
    history_build(seed=4, leads=20, people=team, merges=0)
    period = Period(START.date(), timezone.localdate())
    before = queries.visitors(period)

    visitor_days_refresh()
    assert VisitorDay.objects.exists()
    assert queries.visitors(period) == before == oracle.funnel({}, period)["visitors"]
    Visitor.objects.create(
        anonymous_id="new-today", first_seen_at=timezone.now(), last_seen_at=timezone.now()
    )
    assert queries.visitors(period) == before + 1


def test_a_merged_lead_counts_once_with_the_earliest_entry_of_each_stage(db, team):
    early = NOW - dt.timedelta(days=40)
    with time_machine.travel(early, tick=False):
        older = lead_at("mql", owner=team["sdr"])  # lead and MQL 40 days ago
    with time_machine.travel(NOW - dt.timedelta(days=5), tick=False):
        newer = lead_at("sql", owner=team["sdr"], ae=team["ae"])  # all of it 5 days ago
    with time_machine.travel(NOW, tick=False):
        contacts_merge(
            survivor_id=older.contact_id, duplicate_id=newer.contact_id, by=team["marketer"]
        )

    (journey,) = LeadJourney.objects.all()
    assert journey.lead_id == newer.pk  # the more advanced lead is kept
    assert journey.lead_at == journey.mql_at == early  # the earliest over both histories
    assert journey.sql_at == NOW - dt.timedelta(days=5)
    assert LeadTransition.objects.filter(lead_id=newer.pk).count() == 5  # 2 + 3
    period = Period(early.date(), NOW.date())
    funnel = queries.funnel(period)
    assert (funnel["leads"], funnel["mqls"], funnel["sqls"]) == (1, 1, 1)
    check_all(period)


@pytest.mark.parametrize("seed", [5])
def test_any_period_matches_the_recomputation(db, team, seed):
    """Random periods (hypothesis) over one generated history; reads only, so one history."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    history_build(seed=seed, leads=60, people=team, merges=3)
    days = (NOW.date() - START.date()).days

    @settings(
        max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(st.integers(-10, days + 10), st.integers(0, 120))
    def check(offset: int, length: int) -> None:
        start = START.date() + dt.timedelta(days=offset)
        check_all(Period(start, start + dt.timedelta(days=length)))

    check()


@pytest.mark.parametrize("sla_hours", [1, 24, 100, 200])
def test_sla_breaches_are_exact_for_any_sla_and_any_moment(db, team, sla_hours):
    """Untouched MQLs breach when their SLA runs out, on the day it does: the rollup counts
    whole days, the journeys the day of the moment."""
    history_build(seed=8, leads=90, people=team, merges=2)
    rules = StageRules.current()
    rules.mql_sla_hours = sla_hours
    rules.save()
    sla = dt.timedelta(hours=sla_hours)
    breaches = 0
    for now in (NOW, NOW - dt.timedelta(days=9, hours=7)):
        cutoff_day = (now - sla).astimezone(Period(NOW.date(), NOW.date()).since.tzinfo).date()
        periods = [
            Period(START.date(), NOW.date()),
            Period(cutoff_day, cutoff_day),
            Period(cutoff_day - dt.timedelta(days=10), cutoff_day + dt.timedelta(days=3)),
        ]
        with time_machine.travel(now, tick=False):
            js = oracle.journeys()
            for period in periods:
                expected = oracle.sdr_performance(js, period, sla, timezone.now())
                got = {row["sdr_id"]: row for row in queries.sdr_performance(period)}
                assert {k: got[k]["sla_breaches"] for k in got} == {
                    k: e["sla_breaches"] for k, e in expected.items()
                }, period
                breaches += sum(e["sla_breaches"] for e in expected.values())
    assert breaches  # the story has late and missing touches
