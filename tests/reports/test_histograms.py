"""The duration buckets: bounds that hold, and the same bucket in Python and in SQL."""

from __future__ import annotations

import random

import pytest
from django.db import connection

from leadflow.reports import histograms
from leadflow.reports.histograms import HOUR, WEEK, bounds, bucket, sla_bucket, value

BUCKETS = range(0, bucket(3 * 365 * 86400) + 1)


@pytest.mark.parametrize("b", BUCKETS)
def test_each_bucket_holds_its_bounds_and_its_figure(b):
    lower, upper = bounds(b)
    assert lower < value(b) <= upper
    assert bucket(value(b)) == b
    if histograms.SUB_HOUR < b <= histograms.HOURLY_LAST:
        # Whole hours, exactly: SLA breaches are counted on these bounds.
        assert bucket(upper) == b
        assert bucket(upper + 1e-6) == b + 1
    elif b > 0:
        # A log-spaced bound is exact to far less than the microsecond of a duration.
        assert bucket(upper * (1 - 1e-10)) == b
        assert bucket(upper * (1 + 1e-10) + 1e-9) == b + 1
    if b > 1:
        assert bounds(b - 1)[1] == pytest.approx(lower, rel=1e-12)


def test_buckets_are_narrow_enough_to_read_as_the_reports_do():
    # Within 10% under an hour and beyond a week, within an hour in between.
    for b in BUCKETS[2:]:
        lower, upper = bounds(b)
        if histograms.SUB_HOUR < b <= histograms.HOURLY_LAST:
            assert upper - lower == HOUR
        else:
            assert upper / lower < 1.2 if b <= histograms.SUB_HOUR else upper / lower < 1.1


@pytest.mark.parametrize("hours", [0, 1, 2, 24, 72, 168])
def test_a_whole_hour_sla_up_to_a_week_is_a_bucket_bound(hours):
    last = sla_bucket(hours)
    seconds = hours * HOUR
    assert bucket(seconds) == last
    assert bucket(seconds + 1e-6) == last + 1


def test_a_longer_sla_is_not_a_bucket_bound():
    assert sla_bucket(169) is None


def _values() -> list[float]:
    rng = random.Random(1)
    edges = [0.0, -5.0, 1e-6, 3.5, HOUR, WEEK, 86400 * 400]
    edges += [bounds(b)[1] for b in BUCKETS[1:]]
    edges += [upper + d for upper in edges[:] for d in (-1e-6, 1e-6)]
    hours = [float(h * HOUR) for h in range(1, 169)]
    randoms = [rng.uniform(0, 10) ** rng.uniform(0, 8) for _ in range(2000)]
    return [round(v, 6) for v in edges + hours + randoms]


def test_python_and_postgresql_put_a_duration_in_the_same_bucket(db):
    values = _values()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reports_duration_bucket(v) FROM unnest(%s::numeric[]) WITH ORDINALITY AS"
            " x(v, i) ORDER BY i",
            [[str(v) for v in values]],
        )
        got = [b for (b,) in cursor.fetchall()]
    assert got == [bucket(v) for v in values]


def test_the_refresh_function_runs_the_current_statement(db):
    """A change of the refresh statement needs a migration that creates the function again."""
    from leadflow.reports.services import refresh_function_sql

    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'reports_journeys_refresh'")
        (installed,) = cursor.fetchone()
    assert installed in refresh_function_sql()
    assert installed.strip().startswith("BEGIN")
