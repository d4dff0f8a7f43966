"""Reads: one function per role queue, each a keyset page over a partial index."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Lead, LeadTransition, Stage, Status

PAGE_SIZE = 50
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class Page:
    items: list[Lead]
    next_cursor: str | None


def _leads() -> QuerySet[Lead]:
    return Lead.objects.select_related("contact", "owner")


def _keyset(qs: QuerySet[Lead], *, order: str, cursor: str | None, size: int = PAGE_SIZE) -> Page:
    """Page newest-first on (`order`, id) without OFFSET: the cursor is the last row's pair,
    as microseconds since the epoch and an id, so it is URL-safe and time-zone free."""
    if cursor:
        stamp, _, pk = cursor.partition("_")
        if stamp.lstrip("-").isdigit() and pk.isdigit():
            after = EPOCH + dt.timedelta(microseconds=int(stamp))
            qs = qs.filter(Q(**{f"{order}__lt": after}) | Q(**{order: after, "id__lt": int(pk)}))
    items = list(qs.order_by(f"-{order}", "-id")[: size + 1])
    next_cursor = None
    if len(items) > size:
        items = items[:size]
        last = items[-1]
        stamp = getattr(last, order)
        micros = (stamp - EPOCH) // dt.timedelta(microseconds=1)
        next_cursor = f"{micros}_{last.pk}"
    return Page(items, next_cursor)


def mql_queue(*, cursor: str | None = None, status: str | None = None) -> Page:
    """The marketer's review queue: MQLs, newest first."""
    qs = _leads().filter(stage=Stage.MQL)
    if status in Status.values:
        qs = qs.filter(status=status)
    return _keyset(qs, order="became_mql_at", cursor=cursor)


def sdr_work(*, user: AbstractUser, today: dt.date | None = None) -> dict[str, list[Lead]]:
    """An SDR's lists: open MQLs, contact attempts, nurtures due, SQLs still in attempt."""
    today = today or timezone.localdate()
    mine = _leads().filter(owner=user, stage__in=[Stage.MQL, Stage.SQL])
    by_priority = ("-score", "became_mql_at", "id")
    return {
        "open": list(
            mine.filter(stage=Stage.MQL, status=Status.OPEN).order_by(*by_priority)[:PAGE_SIZE]
        ),
        "attempting": list(
            mine.filter(stage=Stage.MQL, status=Status.CONTACT_ATTEMPT).order_by(*by_priority)[
                :PAGE_SIZE
            ]
        ),
        "nurture_due": list(
            mine.filter(stage=Stage.MQL, status=Status.NURTURING, follow_up_on__lte=today).order_by(
                "follow_up_on", "id"
            )[:PAGE_SIZE]
        ),
        "sql_attempting": list(
            mine.filter(stage=Stage.SQL, status=Status.CONTACT_ATTEMPT).order_by(
                "-became_sql_at", "id"
            )[:PAGE_SIZE]
        ),
    }


def ae_deals(*, user: AbstractUser) -> list[Lead]:
    """An AE's active SQLs, next meeting first."""
    return list(
        _leads()
        .select_related("sdr")
        .filter(owner=user, stage=Stage.SQL, status=Status.ACTIVE)
        .order_by("meeting_at", "id")[:PAGE_SIZE]
    )


def lead_timeline(*, lead: Lead, limit: int = 200) -> list[dict[str, Any]]:
    """Events, transitions and attempts of one lead, newest first, as one list."""
    entries: list[dict[str, Any]] = []
    for event in lead.events.order_by("-occurred_at")[:limit]:
        entries.append({"kind": "event", "at": event.occurred_at, "item": event})
    for change in (
        LeadTransition.objects.filter(lead=lead)
        .select_related("by")
        .order_by("-created_at")[:limit]
    ):
        entries.append({"kind": "transition", "at": change.created_at, "item": change})
    for attempt in lead.attempts.select_related("by").order_by("-created_at")[:limit]:
        entries.append({"kind": "attempt", "at": attempt.created_at, "item": attempt})
    entries.sort(key=lambda entry: entry["at"], reverse=True)
    return entries[:limit]
