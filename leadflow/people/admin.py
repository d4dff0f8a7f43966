from django.contrib import admin

from .models import Contact, Visitor


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "company", "job_title", "country"]
    search_fields = ["email", "last_name", "company"]
    readonly_fields = ["user_id", "traits", "created_at", "updated_at"]


@admin.register(Visitor)
class VisitorAdmin(admin.ModelAdmin):
    list_display = ["anonymous_id", "contact", "first_seen_at", "last_seen_at"]
    search_fields = ["anonymous_id"]
    raw_id_fields = ["contact"]
