"""The funnel rollup: one row per lead, computed from its transition history only."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from stages.models import Lead


class LeadJourney(models.Model):
    """A lead's way through the funnel, as its `LeadTransition` and `Attempt` rows tell it.

    Never written field by field: `journeys_refresh` recomputes whole rows from the history
    (after each transition, attempt and merge, and nightly for everyone), so the row is always
    what the raw records say. The same statement moves the rollups the reports read (`JourneyDay`,
    `JourneyDuration`) by the difference between the old and the new row.
    """

    # No database constraint: bulk deletes of leads (imports, benchmarks) must not fail on it;
    # the ORM still deletes the row with its lead, and a full refresh drops any orphan.
    lead = models.OneToOneField(
        Lead,
        on_delete=models.CASCADE,
        primary_key=True,
        db_constraint=False,
        related_name="journey",
    )
    # First entry into each stage.
    lead_at = models.DateTimeField(null=True)
    mql_at = models.DateTimeField(null=True)
    sql_at = models.DateTimeField(null=True)
    customer_at = models.DateTimeField(null=True)
    # The first entry into SQL was sales-sourced (`source_direct`), not a converted MQL.
    direct_sql = models.BooleanField(default=False)
    mql_entries = models.PositiveSmallIntegerField(default=0)
    # The score that qualified it the first time, as the audit receiver recorded it.
    mql_score = models.IntegerField(null=True)
    mql_behaviour = models.IntegerField(null=True)
    mql_fit = models.IntegerField(null=True)
    # The SDR credited with the MQL: its owner at qualification, else whoever touched it first.
    sdr = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    # The AE the SQL was handed to first (meeting booked, or sales-sourced as active).
    ae = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    first_touch_at = models.DateTimeField(null=True)
    attempts = models.PositiveIntegerField(default=0)
    disqualified_at = models.DateTimeField(null=True)
    disqualify_reason = models.CharField(max_length=20, blank=True, default="")
    disqualified_from = models.CharField(max_length=20, blank=True, default="")
    recycled_at = models.DateTimeField(null=True)
    recycle_reason = models.TextField(blank=True, default="")
    recycled_from = models.CharField(max_length=20, blank=True, default="")
    won_value = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    # Copies of the lead's own columns, as they were at the last refresh.
    origin = models.CharField(max_length=20, blank=True, default="")
    first_touch_source = models.CharField(max_length=200, blank=True, default="")
    first_touch_medium = models.CharField(max_length=200, blank=True, default="")
    first_touch_campaign = models.CharField(max_length=200, blank=True, default="")
    last_touch_source = models.CharField(max_length=200, blank=True, default="")
    last_touch_medium = models.CharField(max_length=200, blank=True, default="")
    last_touch_campaign = models.CharField(max_length=200, blank=True, default="")
    refreshed_at = models.DateTimeField()

    class Meta:
        # The reports read the rollups below; the journeys themselves only for the MQLs of one
        # day (untouched MQLs whose SLA runs out today), and to check an SLA longer than a week.
        indexes = [
            models.Index(
                fields=["mql_at"],
                include=["lead_at", "sdr_id", "first_touch_at", "attempts", "sql_at", "direct_sql"],
                name="journey_mql_at",
            ),
        ]

    def __str__(self) -> str:
        return f"journey of lead {self.lead_id}"


class JourneyDay(models.Model):
    """The funnel counts of one local day, for one value of one breakdown dimension.

    Each count is counted on the day of one stamp of the journey (leads on the day they became
    leads, MQLs on the day they became MQLs, ...). Moved by differences in the same statement
    that rewrites a journey, so it always equals the sum over the journeys; a period's funnel
    is then a sum over its days, whatever the number of leads. Dimension "all" (value "") is the
    whole funnel.
    """

    day = models.DateField()
    dimension = models.CharField(max_length=30)
    value = models.CharField(max_length=200, blank=True)
    leads = models.IntegerField(default=0)
    leads_to_mql = models.IntegerField(default=0)
    leads_to_sql = models.IntegerField(default=0)
    leads_to_customer = models.IntegerField(default=0)
    mqls = models.IntegerField(default=0)
    mqls_to_sql = models.IntegerField(default=0)
    mqls_disqualified = models.IntegerField(default=0)
    mqls_recycled = models.IntegerField(default=0)
    mqls_requalified = models.IntegerField(default=0)
    sqls = models.IntegerField(default=0)
    sqls_to_customer = models.IntegerField(default=0)
    customers = models.IntegerField(default=0)
    direct_sqls = models.IntegerField(default=0)
    direct_sqls_to_customer = models.IntegerField(default=0)
    direct_customers = models.IntegerField(default=0)
    recycled = models.IntegerField(default=0)
    won_value = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        constraints = [
            # Also the index of every report: one dimension, a range of days.
            models.UniqueConstraint(
                fields=["dimension", "day", "value"], name="journeyday_dimension_day_value"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.value!r}"


class JourneyDuration(models.Model):
    """How many journeys took a duration in one bucket, for one kind of duration, on one local
    day, week (from Monday) or month, for one key.

    The kinds are the velocity steps (on the day each was completed), the cohort times (on the
    day the lead became a lead) and the time from MQL to first touch (on the MQL's day, keyed by
    the SDR; bucket -1: not touched yet). Moved by differences in the same statement as the
    day rollup, so that a percentile over any period is a sum over a few hundred rows: the
    buckets are in `histograms.py`.
    """

    class Span(models.TextChoices):
        DAY = "d", "day"
        WEEK = "w", "week"
        MONTH = "m", "month"

    kind = models.CharField(max_length=20)
    span = models.CharField(max_length=1, choices=Span.choices)
    # The first day of the span.
    day = models.DateField()
    key = models.CharField(max_length=20, blank=True)
    bucket = models.SmallIntegerField()
    n = models.IntegerField(default=0)
    # For the first touch only: the attempts since the MQL and the conversions to SQL of these
    # MQLs, so that the SDR table is one read of this rollup.
    attempts = models.IntegerField(default=0)
    sqls = models.IntegerField(default=0)

    class Meta:
        constraints = [
            # Also the index of every read: one kind, one span, a range of days; the sums are
            # included, so that a read is an index-only scan.
            models.UniqueConstraint(
                fields=["kind", "span", "day", "key", "bucket"],
                include=["n", "attempts", "sqls"],
                name="journeyduration_covering",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.span}{self.day} {self.key!r} b{self.bucket}: {self.n}"


class VisitorDay(models.Model):
    """Anonymous visitors first seen on each local day, up to the day before the last roll-up.

    Filled by the nightly task (`visitor_days_refresh`); the reports add a live count of the
    visitors first seen since, so the figure is always complete.
    """

    day = models.DateField(primary_key=True)
    visitors = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.day}: {self.visitors}"
