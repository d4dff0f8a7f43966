from __future__ import annotations

import re

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from leadflow.people.models import Seniority
from stages.models import FIELD_CHOICES

from . import engine


class RuleGroup(models.Model):
    """Rules whose points count together under one cap (e.g. all web activity: 40 at most)."""

    name = models.CharField(max_length=100, unique=True)
    max_points = models.PositiveIntegerField(
        "cap",
        null=True,
        blank=True,
        help_text="Most points the group's rules give or take together.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        cap = f" (cap {self.max_points})" if self.max_points is not None else ""
        return f"{self.name}{cap}"


class ScoringRule(models.Model):
    """Points for a behaviour (events) or a fit (contact fields). See `scoring.engine`."""

    class Kind(models.TextChoices):
        BEHAVIOUR = engine.BEHAVIOUR, "Behaviour"
        FIT = engine.FIT, "Fit"

    class EventType(models.TextChoices):
        ANY = "", "Any"
        TRACK = "track", "Track"
        PAGE = "page", "Page"
        SCREEN = "screen", "Screen"
        IDENTIFY = "identify", "Identify"

    class UrlMatch(models.TextChoices):
        ANY = "", "Any URL"
        CONTAINS = engine.URL_CONTAINS, "URL contains"
        EXACT = engine.URL_EXACT, "URL is (path, or the whole URL)"
        PREFIX = engine.URL_PREFIX, "URL starts with (path, or the whole URL)"
        REGEX = engine.URL_REGEX, "URL matches a pattern"

    class PropertyMatch(models.TextChoices):
        ANY = "", "Any properties"
        EQUALS = engine.PROPERTY_EQUALS, "Property is"
        CONTAINS = engine.PROPERTY_CONTAINS, "Property contains"
        EXISTS = engine.PROPERTY_EXISTS, "Property is set"

    class Frequency(models.TextChoices):
        EVERY = engine.EVERY, "Every time"
        ONCE = engine.ONCE, "Once per lead"
        PERIOD = engine.PERIOD, "Once per period"

    class Operator(models.TextChoices):
        KNOWN = engine.KNOWN, "Is known"
        MISSING = engine.MISSING, "Is missing"
        CONTAINS = engine.CONTAINS, "Contains any of"
        IN = engine.IN, "Is one of"
        BETWEEN = engine.BETWEEN, "Is between"
        FREE_MAIL = engine.FREE_MAIL, "Email at a free-mail provider"
        COMPETITOR = engine.COMPETITOR, "Email at a competitor's domain"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.BEHAVIOUR)
    points = models.IntegerField(help_text="Negative points lower the score.")
    max_points = models.PositiveIntegerField(
        "cap", null=True, blank=True, help_text="Most points this rule can give or take in all."
    )
    group = models.ForeignKey(
        RuleGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="rules"
    )

    # Behaviour: which events count, how often, and how they fade.
    event_type = models.CharField(max_length=10, choices=EventType, blank=True, default="")
    event_name = models.CharField(
        max_length=200, blank=True, default="", help_text="e.g. Demo Requested (any case)."
    )
    url_match = models.CharField(
        "URL match", max_length=10, choices=UrlMatch, blank=True, default=""
    )
    url = models.CharField(
        "URL",
        max_length=500,
        blank=True,
        default="",
        help_text="A path such as /pricing (any site), a whole URL, or a regular expression.",
    )
    property_key = models.CharField(
        max_length=200, blank=True, default="", help_text="An event property; dots go deeper."
    )
    property_match = models.CharField(max_length=10, choices=PropertyMatch, blank=True, default="")
    property_value = models.CharField(max_length=200, blank=True, default="")
    frequency = models.CharField(max_length=10, choices=Frequency, default=Frequency.EVERY)
    period_days = models.PositiveIntegerField(
        "period (days)", null=True, blank=True, validators=[MinValueValidator(1)]
    )
    half_life_days = models.PositiveIntegerField(
        "half-life (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Empty: no decay. Otherwise the points halve every this many days.",
    )

    # Fit: which contacts count.
    field = models.CharField(max_length=30, choices=FIELD_CHOICES, blank=True, default="")
    operator = models.CharField(max_length=12, choices=Operator, default=Operator.KNOWN)
    values = ArrayField(
        models.CharField(max_length=200),
        default=list,
        blank=True,
        help_text="For contains, is one of and competitor: the words, values or domains.",
    )
    min_value = models.IntegerField(null=True, blank=True)
    max_value = models.IntegerField(null=True, blank=True)

    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.points:+d})"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}

        def error(name: str, message: str) -> None:
            errors.setdefault(name, []).append(message)

        if self.points == 0:
            error("points", "A rule must give or take points.")
        if self.kind == self.Kind.BEHAVIOUR:
            self._clean_behaviour(error)
        else:
            self._clean_fit(error)
        if self.group_id is not None:
            other = self.group.rules.exclude(pk=self.pk).exclude(kind=self.kind).first()
            if other is not None:
                error("group", f"The group holds {other.kind} rules; keep kinds apart.")
        if errors:
            raise ValidationError(errors)

    def _clean_behaviour(self, error) -> None:
        if not (self.event_type or self.event_name or self.url_match or self.property_match):
            error(
                "__all__",
                "A behaviour rule needs an event type, an event name, a URL or a property.",
            )
        if self.url_match and not self.url.strip():
            error("url", "Give the URL to match.")
        if self.url and not self.url_match:
            error("url_match", "Say how to match the URL.")
        if self.url_match in (self.UrlMatch.EXACT, self.UrlMatch.PREFIX):
            if "?" in self.url or "#" in self.url:
                error("url", "Exact and prefix matches read the path: leave out ? and #.")
            elif not re.match(r"(/|[a-z][a-z0-9+.-]*://)", self.url, re.IGNORECASE):
                error("url", "Start with / for a path on any site, or with https:// for one.")
        if self.url_match == self.UrlMatch.REGEX and (problem := pattern_problem(self.url)):
            error("url", problem)
        if self.property_match and not self.property_key.strip():
            error("property_key", "Name the property.")
        compares = (self.PropertyMatch.EQUALS, self.PropertyMatch.CONTAINS)
        if self.property_match in compares and not self.property_value:
            error("property_value", "Give the value to compare with.")
        if self.frequency == self.Frequency.PERIOD and not self.period_days:
            error("period_days", "Give the length of the period in days.")
        if self.frequency != self.Frequency.PERIOD and self.period_days:
            error("period_days", "Only a rule counted once per period has a period.")

    def _clean_fit(self, error) -> None:
        if self.half_life_days:
            error("half_life_days", "Fit points do not decay.")
        if self.frequency != self.Frequency.EVERY or self.period_days:
            error("frequency", "Fit rules count once; leave the frequency at its default.")
        numeric = self.field in engine.NUMERIC_FIELDS
        if self.operator in engine.EMAIL_OPERATORS:
            if self.field not in ("", "email"):
                error("field", "Free-mail and competitor rules read the email.")
        elif not self.field:
            error("field", "A fit rule needs a contact field.")
        elif numeric and self.operator not in (engine.KNOWN, engine.MISSING, engine.BETWEEN):
            error("operator", f"{self.get_field_display()} is a number: use is between.")
        elif not numeric and self.operator == engine.BETWEEN:
            error("operator", "Only a number (company size) can be between two values.")
        if self.operator == engine.BETWEEN:
            if self.min_value is None and self.max_value is None:
                error("min_value", "Give a minimum, a maximum, or both.")
            elif None not in (self.min_value, self.max_value) and self.min_value > self.max_value:
                error("max_value", "The maximum is below the minimum.")
        if self.operator in (engine.CONTAINS, engine.IN, engine.COMPETITOR):
            self.values = [v.strip() for v in self.values if v.strip()]
            if not self.values:
                error("values", "Give at least one value.")
        if self.operator == engine.IN and self.field == "seniority":
            unknown = [v for v in self.values if v not in Seniority.values]
            if unknown:
                error("values", f"Not a seniority: {', '.join(unknown)}.")

    def as_rule(self) -> engine.Rule:
        group = self.group
        return engine.Rule(
            id=self.pk,
            name=self.name,
            kind=self.kind,
            points=self.points,
            event_type=self.event_type,
            event_name=self.event_name,
            url_match=self.url_match,
            url=self.url,
            property_key=self.property_key,
            property_match=self.property_match,
            property_value=self.property_value,
            frequency=self.frequency,
            period_days=self.period_days,
            half_life_days=self.half_life_days,
            field=self.field,
            operator=self.operator,
            values=tuple(self.values),
            min_value=self.min_value,
            max_value=self.max_value,
            max_points=self.max_points,
            group_id=group.pk if group else None,
            group_name=group.name if group else "",
            group_max_points=group.max_points if group else None,
        )


# Constructs whose meaning differs between Python's re and PostgreSQL's regular expressions.
_AMBIGUOUS = re.compile(r"\\[bB]|\(\?P|\(\?#|\(\?[aiLmsux-]+\)|\(\?[aiLmsux-]+:")


def pattern_problem(pattern: str) -> str | None:
    """Why this pattern cannot be a URL rule, in words; None if both engines read it alike.

    The pattern runs in Python (a lead's explanation) and in PostgreSQL (the set-based rescore),
    so it must mean the same to both.
    """
    if len(pattern) > 200:
        return "Keep the pattern under 200 characters."
    if _AMBIGUOUS.search(pattern):
        return (
            "Python and PostgreSQL read \\b, (?P…), (?#…) and inline flags differently: "
            "leave them out (matching ignores case already)."
        )
    try:
        re.compile(pattern, re.IGNORECASE | re.ASCII)
    except re.error as exc:
        return f"Not a valid pattern: {exc}."
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT '' COLLATE \"C\" ~* %s", [pattern])
    except DatabaseError as exc:
        return f"Not a valid pattern for PostgreSQL: {str(exc).strip().splitlines()[0]}."
    return None


class RescoreRun(models.Model):
    """One full rescore: every lead, in chunks of lead ids, at one point in time."""

    class Reason(models.TextChoices):
        RULES = "rules", "Rules changed"
        DECAY = "decay", "Decay"
        MANUAL = "manual", "Started by hand"

    reason = models.CharField(max_length=10, choices=Reason)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Every chunk scores as of this time, with these rules: one consistent picture.
    as_of = models.DateTimeField()
    rules = models.JSONField(default=list)
    # Lead id bounds [lo, hi) of each chunk, and the indexes of the chunks done.
    bounds = ArrayField(models.BigIntegerField(), default=list)
    done = ArrayField(models.PositiveIntegerField(), default=list)
    # The first pass, before the chunks: page bounds [lo, hi) of the events table for each
    # slice of it (the last one runs to the end of the table), and the indexes of those done.
    slices = ArrayField(models.BigIntegerField(), default=list)
    slices_done = ArrayField(models.PositiveIntegerField(), default=list)
    qualified = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # Every score write asks whether a rescore as of a later time exists.
        indexes = [models.Index(fields=["as_of"], name="rescorerun_as_of")]

    def __str__(self) -> str:
        return f"Rescore #{self.pk} ({self.get_reason_display()})"

    @property
    def chunks(self) -> int:
        return max(len(self.bounds) - 1, 0)

    @property
    def slice_count(self) -> int:
        return max(len(self.slices) - 1, 0)

    def rules_as_engine(self) -> list[engine.Rule]:
        return [engine.Rule(**spec) for spec in self.rules]


class RulesVersion(models.Model):
    """One published state of the scoring and stage rules: who published it, when, what changed.

    `snapshot` holds the whole rule set as published (see `scoring.drafts.snapshot_live`), so
    that any earlier version can be read back; `changes` says in words what it changed from the
    version before.
    """

    number = models.PositiveIntegerField(unique=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True, default="")
    snapshot = models.JSONField()
    changes = models.JSONField(default=list, blank=True)
    rescore_run = models.ForeignKey(
        RescoreRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"Version {self.number}"


class RulesDraft(models.Model):
    """The draft of the whole rule set that admins edit before publishing it. At most one row.

    `data` has the shape of a snapshot; `base` is the live rule set when the draft started, so
    the page can say when someone changed the live rules under it.
    """

    data = models.JSONField()
    base = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Draft of the scoring rules"
