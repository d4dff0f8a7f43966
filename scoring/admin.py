from django.contrib import admin

from .models import ScoringRule


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "points", "max_points", "event_type", "event_name",
                    "url_contains", "field", "field_contains", "is_active"]  # fmt: skip
    list_filter = ["kind", "is_active"]
    list_editable = ["is_active"]
