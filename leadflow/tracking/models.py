from __future__ import annotations

import secrets

from django.db import models


def _new_key() -> str:
    return secrets.token_urlsafe(24)


class WriteKey(models.Model):
    """A source of events (a website, a backend, an import): its key is the Basic-auth user."""

    class Kind(models.TextChoices):
        WEBSITE = "website", "Website"
        BACKEND = "backend", "Backend"
        IMPORT = "import", "Import"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.WEBSITE)
    # Write keys are not secrets in Segment's model (they ship in browser snippets), so they are
    # stored as they are and looked up by an index.
    key = models.CharField(max_length=64, unique=True, default=_new_key, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Event(models.Model):
    """A raw tracked event, as received. Deduplicated by message id per source."""

    class Type(models.TextChoices):
        IDENTIFY = "identify", "Identify"
        TRACK = "track", "Track"
        PAGE = "page", "Page"

    id = models.BigAutoField(primary_key=True)
    source = models.ForeignKey(WriteKey, on_delete=models.PROTECT, related_name="events")
    message_id = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=Type)
    name = models.CharField(max_length=200, blank=True, default="")
    url = models.TextField(blank=True, default="")
    properties = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    anonymous_id = models.CharField(max_length=200, blank=True, default="")
    user_id = models.CharField(max_length=200, blank=True, default="")
    lead = models.ForeignKey(
        "stages.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "message_id"], name="event_message_id_unique_per_source"
            )
        ]
        indexes = [
            models.Index(fields=["lead", "occurred_at"], name="event_lead_time"),
            # Identify attaches an anonymous history to its lead: only unattached rows matter.
            models.Index(
                fields=["anonymous_id"],
                condition=models.Q(lead__isnull=True),
                name="event_unattached_anon",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.name or self.url}".strip()
