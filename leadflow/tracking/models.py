from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Value


def _new_key() -> str:
    # Never one that starts with "-": on a command line (`manage.py writekey rotate KEY`) it
    # would read as an option.
    while (key := secrets.token_urlsafe(24)).startswith("-"):
        pass
    return key


class WriteKeyQuerySet(models.QuerySet):
    def active(self) -> WriteKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


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
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = WriteKeyQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        # A rotated or revoked key must stop working in this process at once.
        from .keys import write_keys_forget

        write_keys_forget()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class RetiredKey(models.Model):
    """A key value a source used before a rotation: it answers "revoked", never "unknown".

    Rotation changes the key of the same source rather than making a new one, so its events, its
    name and its deduplication by message id carry on across the rotation.
    """

    source = models.ForeignKey(WriteKey, on_delete=models.CASCADE, related_name="retired_keys")
    key = models.CharField(max_length=64, unique=True)
    retired_at = models.DateTimeField()
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.source} (retired {self.retired_at:%Y-%m-%d})"


class Event(models.Model):
    """A raw tracked event, as received. Deduplicated by message id per source."""

    class Type(models.TextChoices):
        IDENTIFY = "identify", "Identify"
        TRACK = "track", "Track"
        PAGE = "page", "Page"
        SCREEN = "screen", "Screen"
        GROUP = "group", "Group"
        ALIAS = "alias", "Alias"

    id = models.BigAutoField(primary_key=True)
    # The two keys are enforced by Django (PROTECT, SET_NULL), not by the database: a foreign key
    # constraint makes every insert lock its lead's row and its write key's row (FOR KEY SHARE)
    # until commit, and every request of a source then shares one locked row. Their own indexes
    # would duplicate the unique constraint and event_lead_time, which start with them.
    source = models.ForeignKey(
        WriteKey,
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    message_id = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=Type)
    name = models.CharField(max_length=200, blank=True, default="")
    url = models.TextField(blank=True, default="")
    properties = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    anonymous_id = models.CharField(max_length=200, blank=True, default="")
    user_id = models.CharField(max_length=200, blank=True, default="")
    # Every top-level field of the message that no column above holds (traits, integrations,
    # groupId, previousId, the client's own times...): kept as sent, never rejected. The database
    # default lets bulk loaders (COPY) leave it out.
    extra = models.JSONField(default=dict, blank=True, db_default=Value({}, models.JSONField()))
    lead = models.ForeignKey(
        "stages.Lead",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_index=False,
        db_constraint=False,
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
            # ...and an alias (or a user id seen before its contact) attaches those of a user id.
            models.Index(
                fields=["user_id"],
                condition=models.Q(lead__isnull=True) & ~models.Q(user_id=""),
                name="event_unattached_user",
            ),
        ]

    def __str__(self) -> str:
        label = self.name or self.url
        if not label and self.type in (self.Type.GROUP, self.Type.ALIAS):
            extra = self.extra if isinstance(self.extra, dict) else {}
            traits = extra.get("traits") if isinstance(extra.get("traits"), dict) else {}
            label = traits.get("name") or extra.get("groupId") or extra.get("previousId") or ""
        return f"{self.type} {label}".strip()


class LeadActivity(models.Model):
    """What one ingest learnt about one lead, until the scoring worker folds it into the lead.

    The ingest appends these rows and never writes the lead itself: concurrent requests about
    the same people then never wait for each other's row locks, nor for the worker's. The worker
    folds a lead's rows (newest event time, earliest first touch, latest last touch) in the
    statement that locks it before scoring it (`activity.activity_fold`), and deletes them; the
    sweep of stale scores finds the leads whose rows a lost task left behind.
    """

    id = models.BigAutoField(primary_key=True)
    # Enforced by Django (a deleted lead takes its rows along), not by the database: a
    # constraint would lock the lead's row (FOR KEY SHARE) from every ingest.
    lead = models.ForeignKey(
        "stages.Lead",
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    # When the ingest stored events of the lead; None: it only gave the lead earlier history.
    # A touch missing from the call is NULL in all its columns, as the statement's outer join
    # leaves it (these rows live for seconds, never shown).
    received_at = models.DateTimeField(null=True)
    first_source = models.TextField(null=True)  # noqa: DJ001
    first_medium = models.TextField(null=True)  # noqa: DJ001
    first_campaign = models.TextField(null=True)  # noqa: DJ001
    first_at = models.DateTimeField(null=True)
    last_source = models.TextField(null=True)  # noqa: DJ001
    last_medium = models.TextField(null=True)  # noqa: DJ001
    last_campaign = models.TextField(null=True)  # noqa: DJ001
    last_at = models.DateTimeField(null=True)
    last_direct = models.BooleanField(null=True)

    class Meta:
        verbose_name_plural = "lead activity"

    def __str__(self) -> str:
        return f"activity of lead {self.lead_id}"
