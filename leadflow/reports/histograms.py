"""Durations kept as counts in fixed buckets, so that medians and percentiles are sums.

A bucket holds the durations `lower < d <= upper` (seconds):

- bucket 0: no time at all (d <= 0);
- buckets 1 to 41: under an hour, log-spaced, four a doubling (each about 19% wide), the
  smallest being everything up to 3.5 seconds;
- buckets 42 to 208: one a whole hour, from (1 h, 2 h] to (167 h, 168 h]: a first-touch SLA
  of whole hours up to a week is a bucket bound, so SLA breaches are exact counts;
- buckets 209 and up: beyond a week, log-spaced, eight a doubling (each about 9% wide).

The same function exists in SQL (`reports_duration_bucket`, created by migration 0003): the
rollups are written with it, the oracle of the tests uses this one. Both take the logarithm
as ln(x) / ln(2) in double precision, so that they agree on the bounds.
"""

from __future__ import annotations

import math

HOUR = 3600
WEEK = 168 * HOUR
SUB_HOUR = 41  # buckets 1..41
HOURLY_LAST = 40 + 168  # bucket of (167 h, 168 h]
SMALLEST = HOUR / 2**10  # the top of bucket 1: 3.515625 s

# The SQL twin; kept here so that the migration that creates it and this module cannot drift
# (a test compares them on both sides of every kind of bound).
SQL_FUNCTION = f"""
CREATE OR REPLACE FUNCTION reports_duration_bucket(s numeric) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE
        WHEN s <= 0 THEN 0
        WHEN s <= {SMALLEST} THEN 1
        WHEN s <= {HOUR} THEN
            {SUB_HOUR} - least(40, floor(-4 * ln(s::float8 / {HOUR}) / ln(2::float8)))::int
        WHEN s <= {WEEK} THEN 40 + ceil(s / {HOUR})::int
        ELSE {HOURLY_LAST} + ceil(8 * ln(s::float8 / {WEEK}) / ln(2::float8))::int
    END
$$
"""


def bucket(seconds: float) -> int:
    """The bucket of a duration (see the module's docstring)."""
    if seconds <= 0:
        return 0
    if seconds <= SMALLEST:
        return 1
    if seconds <= HOUR:
        return SUB_HOUR - min(40, math.floor(-4 * math.log(seconds / HOUR) / math.log(2)))
    if seconds <= WEEK:
        return 40 + math.ceil(seconds / HOUR)
    return HOURLY_LAST + math.ceil(8 * math.log(seconds / WEEK) / math.log(2))


def bounds(b: int) -> tuple[float, float]:
    """The durations of bucket `b`: lower (excluded) and upper (included), in seconds."""
    if b <= 0:
        return (-math.inf, 0.0)
    if b <= SUB_HOUR:
        j = SUB_HOUR - b
        lower = 0.0 if j == 40 else HOUR * 2 ** (-(j + 1) / 4)
        return (lower, HOUR * 2 ** (-j / 4))
    if b <= HOURLY_LAST:
        return (float((b - 41) * HOUR), float((b - 40) * HOUR))
    k = b - HOURLY_LAST
    return (WEEK * 2 ** ((k - 1) / 8), WEEK * 2 ** (k / 8))


def value(b: int) -> float:
    """The figure shown for a bucket: its middle (geometric for the log-spaced ones)."""
    lower, upper = bounds(b)
    if b <= 0:
        return 0.0
    if b == 1:
        return upper / 2
    if b <= SUB_HOUR or b > HOURLY_LAST:
        return math.sqrt(lower * upper)
    return (lower + upper) / 2


def sla_bucket(hours: int) -> int | None:
    """The last bucket within an SLA of `hours` (a breach is any later bucket), or None when
    the SLA is not a bucket bound (more than a week)."""
    if hours == 0:
        return 0
    if hours * HOUR <= WEEK:
        return bucket(hours * HOUR)
    return None


def rank(total: int, fraction: float) -> int:
    """The nearest rank (1-based) of a percentile among `total` values."""
    return max(1, math.ceil(fraction * total - 1e-9))
