from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from stages.models import FIELD_CHOICES

from . import engine


class ScoringRule(models.Model):
    """Points for a behaviour (an event) or a fit (a contact field)."""

    class Kind(models.TextChoices):
        BEHAVIOUR = "behaviour", "Behaviour"
        FIT = "fit", "Fit"

    class EventType(models.TextChoices):
        ANY = "", "Any"
        TRACK = "track", "Track"
        PAGE = "page", "Page"
        IDENTIFY = "identify", "Identify"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.BEHAVIOUR)
    event_type = models.CharField(max_length=10, choices=EventType, blank=True, default="")
    event_name = models.CharField(
        max_length=200, blank=True, default="", help_text="A track event name, e.g. Demo Requested."
    )
    url_contains = models.CharField(
        "URL contains", max_length=500, blank=True, default="", help_text="e.g. /pricing"
    )
    field = models.CharField(max_length=30, choices=FIELD_CHOICES, blank=True, default="")
    field_contains = models.CharField(
        max_length=200, blank=True, default="", help_text="Empty: the field only has to be known."
    )
    points = models.IntegerField(help_text="Negative points lower the score.")
    max_points = models.PositiveIntegerField(
        "cap", null=True, blank=True, help_text="Most points this rule can give a lead in all."
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.points:+d})"

    def clean(self) -> None:
        if self.kind == self.Kind.BEHAVIOUR and not (
            self.event_type or self.event_name or self.url_contains
        ):
            raise ValidationError("A behaviour rule needs an event type, an event name or a URL.")
        if self.kind == self.Kind.FIT and not self.field:
            raise ValidationError({"field": "A fit rule needs a contact field."})
        if self.points == 0:
            raise ValidationError({"points": "A rule must give or take points."})

    def as_rule(self) -> engine.Rule:
        return engine.Rule(
            id=self.pk,
            name=self.name,
            kind=self.kind,
            points=self.points,
            event_type=self.event_type,
            event_name=self.event_name,
            url_contains=self.url_contains,
            field=self.field,
            field_contains=self.field_contains,
            max_points=self.max_points,
        )
