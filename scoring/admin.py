from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import RescoreRun, RuleGroup, ScoringRule
from .services import rescore_start


class RescoreOnChange(admin.ModelAdmin):
    """Every saved change to the rules rescores all leads (after commit, in the workers)."""

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        rescore_start(reason=RescoreRun.Reason.RULES, by=request.user)

    def delete_model(self, request: HttpRequest, obj) -> None:
        super().delete_model(request, obj)
        rescore_start(reason=RescoreRun.Reason.RULES, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        super().delete_queryset(request, queryset)
        rescore_start(reason=RescoreRun.Reason.RULES, by=request.user)


@admin.register(ScoringRule)
class ScoringRuleAdmin(RescoreOnChange):
    list_display = ["name", "kind", "points", "max_points", "group", "frequency",
                    "half_life_days", "event_type", "event_name", "url_match", "url",
                    "field", "operator", "is_active"]  # fmt: skip
    list_filter = ["kind", "is_active", "group"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "points", "max_points", "group", "is_active"]}),
        (
            "Behaviour",
            {
                "fields": [
                    "event_type",
                    "event_name",
                    ("url_match", "url"),
                    ("property_key", "property_match", "property_value"),
                    ("frequency", "period_days"),
                    "half_life_days",
                ]
            },
        ),
        ("Fit", {"fields": ["field", "operator", "values", ("min_value", "max_value")]}),
    ]


@admin.register(RuleGroup)
class RuleGroupAdmin(RescoreOnChange):
    list_display = ["name", "max_points"]


@admin.register(RescoreRun)
class RescoreRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "reason", "started_by", "as_of", "created_at", "finished_at", "qualified"]
    readonly_fields = [f.name for f in RescoreRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
