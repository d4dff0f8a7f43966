from django.contrib import admin

from .models import Event, RetiredKey, WriteKey


class RetiredKeyInline(admin.TabularInline):
    model = RetiredKey
    fields = ["key", "retired_at", "retired_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WriteKey)
class WriteKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "key", "created_at", "rotated_at", "revoked_at"]
    list_filter = ["kind"]
    readonly_fields = ["key", "created_at", "created_by", "rotated_at", "revoked_by"]
    inlines = [RetiredKeyInline]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "type", "name", "url", "lead", "source"]
    list_filter = ["type", "source"]
    raw_id_fields = ["lead"]
    # Raw events are the record of what was received: shown, never edited.
    readonly_fields = [f.name for f in Event._meta.concrete_fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
