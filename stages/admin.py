from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Attempt, Lead, LeadTransition, StageRules
from .services import TransitionError, lead_qualify, lead_transition


@admin.register(StageRules)
class StageRulesAdmin(admin.ModelAdmin):
    fields = [
        "mql_threshold",
        "mql_min_behaviour",
        "mql_min_fit",
        "mql_required_fields",
        "sql_required_fields",
        "auto_qualify",
        "mql_sla_hours",
        "updated_at",
    ]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not StageRules.objects.exists()

    def save_model(self, request: HttpRequest, obj: StageRules, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Who meets the MQL rule, and which MQLs are cooling, follow the new thresholds.
        from scoring.models import RescoreRun  # scoring builds on stages
        from scoring.services import rescore_start

        rescore_start(reason=RescoreRun.Reason.RULES, by=request.user)

    def has_delete_permission(self, request: HttpRequest, obj: StageRules | None = None) -> bool:
        return False


class TransitionInline(admin.TabularInline):
    model = LeadTransition
    fields = ["created_at", "name", "field", "source", "target", "by", "actor", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Lead | None = None) -> bool:
        return False


def _transition_action(name: str, label: str, **kwargs):
    def action(modeladmin: LeadAdmin, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        done = 0
        for lead in queryset.select_related("contact"):
            try:
                if name == "qualify":
                    lead_qualify(lead=lead, by=request.user)
                else:
                    lead_transition(lead=lead, name=name, by=request.user, **kwargs)
                done += 1
            except TransitionError as exc:
                modeladmin.message_user(request, f"{lead}: {exc}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{label}: {done} lead(s).", messages.SUCCESS)

    action.__name__ = f"action_{name}"
    return admin.action(description=label)(action)


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    """Read-only: stages change only by transitions, which the actions below make."""

    list_display = ["contact", "stage", "status", "score", "owner", "source", "stage_changed_at"]
    list_filter = ["stage", "status", "source"]
    search_fields = ["contact__email", "contact__last_name", "contact__company"]
    list_select_related = ["contact", "owner"]
    inlines = [TransitionInline]
    actions = [
        _transition_action("qualify", "Qualify as MQL"),
        _transition_action("disqualify", "Disqualify (not a fit)", reason="not_a_fit"),
        _transition_action("recycle", "Recycle to Lead", reason="recycled in the admin"),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Lead | None = None) -> list[str]:
        return [field.name for field in Lead._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Lead | None = None) -> bool:
        return False


@admin.register(LeadTransition)
class LeadTransitionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "lead", "name", "source", "target", "by", "actor", "reason"]
    list_filter = ["name", "target"]
    list_select_related = ["lead__contact", "by"]
    readonly_fields = [f.name for f in LeadTransition._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: LeadTransition | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: LeadTransition | None = None
    ) -> bool:
        return False


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    list_display = ["created_at", "lead", "by", "channel", "outcome"]
    list_select_related = ["lead__contact", "by"]
