"""In-app notifications: a lead assigned to you, a first touch due soon or overdue.

The unread count shows on every page: one count over a partial index of the unread ones,
stopped at UNREAD_SHOWN + 1 rows.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .models import Lead, Notification, Stage, StageRules, Status

UNREAD_SHOWN = 99  # the badge says 99+ beyond this; the count never scans more rows
# An SLA reminder goes out when this share of the SLA is left.
SLA_NEAR_SHARE = 0.25


def notify(*, user_id: int, lead: Lead, kind: str, text: str) -> Notification:
    return Notification.objects.create(user_id=user_id, lead=lead, kind=kind, text=text[:300])


def unread_count(user: AbstractBaseUser) -> int:
    """How many unread notifications this person has, up to UNREAD_SHOWN + 1."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    return unread[: UNREAD_SHOWN + 1].count()


def notifications_read(user: AbstractBaseUser, *, lead_id: int | None = None) -> int:
    """Mark this person's notifications read (only those about one lead, if given)."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if lead_id is not None:
        unread = unread.filter(lead_id=lead_id)
    return unread.update(read_at=timezone.now())


def sla_notify(*, now: dt.datetime | None = None) -> int:
    """Tell owners of open MQLs not yet touched when their first-touch SLA is near or past.

    Each reminder goes out once per lead and person (a unique constraint), so the task may run
    as often as it likes.
    """
    now = now or timezone.now()
    sla = dt.timedelta(hours=StageRules.current().mql_sla_hours)
    near = now - sla * (1 - SLA_NEAR_SHARE)
    untouched = Lead.objects.filter(
        stage=Stage.MQL, status=Status.OPEN, owner__isnull=False, became_mql_at__lte=near
    ).exclude(  # done with: the last reminder went out already
        Exists(
            Notification.objects.filter(
                lead=OuterRef("pk"), user=OuterRef("owner"), kind=Notification.Kind.SLA_BREACHED
            )
        )
    )
    untouched = untouched.select_related("contact")
    notes = []
    for lead in untouched.iterator(chunk_size=500):
        due = lead.became_mql_at + sla
        if due <= now:
            kind, text = Notification.Kind.SLA_BREACHED, f"First touch of {lead} is overdue"
        else:
            minutes = int((due - now).total_seconds() // 60)
            left = (
                f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
            )
            kind, text = Notification.Kind.SLA_NEAR, f"First touch of {lead} is due in {left}"
        notes.append(Notification(user_id=lead.owner_id, lead=lead, kind=kind, text=text[:300]))
    sent = set(
        Notification.objects.filter(
            lead_id__in=[note.lead_id for note in notes],
            kind__in=[Notification.Kind.SLA_NEAR, Notification.Kind.SLA_BREACHED],
        ).values_list("user_id", "lead_id", "kind")
    )
    notes = [note for note in notes if (note.user_id, note.lead_id, note.kind) not in sent]
    # A reminder sent by a concurrent run in the meantime is skipped by the constraint.
    Notification.objects.bulk_create(notes, ignore_conflicts=True)
    return len(notes)
