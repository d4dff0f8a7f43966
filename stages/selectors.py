"""Reads: one function per role queue, each a keyset page over a partial index."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db.models import BooleanField, Case, Count, DateTimeField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from .models import Lead, LeadTransition, OwnerChange, Stage, StageRules, Status

PAGE_SIZE = 50
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class Page:
    items: list[Lead]
    next_cursor: str | None


def _leads() -> QuerySet[Lead]:
    return Lead.objects.select_related("contact", "owner")


def _encode(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return str((value - EPOCH) // dt.timedelta(microseconds=1))
    return str(value)


def _decode(text: str, *, stamp: bool) -> Any:
    if not text.lstrip("-").isdigit() or len(text) > 20:
        return None
    return EPOCH + dt.timedelta(microseconds=int(text)) if stamp else int(text)


def _keyset(
    qs: QuerySet[Lead],
    *,
    order: str,
    cursor: str | None,
    size: int = PAGE_SIZE,
    descending: bool = True,
) -> Page:
    """Page on (`order`, id) without OFFSET: the cursor is the last row's pair (a time as
    microseconds since the epoch, or an integer, then the id), so it is URL-safe and time-zone
    free. A malformed cursor reads as the first page. The order column must not be null."""
    if cursor:
        value, _, pk = cursor.partition("_")
        after = _decode(value, stamp=isinstance(Lead._meta.get_field(order), DateTimeField))
        if after is not None and pk.isdigit():
            # A row comparison: the index on (order, id) seeks straight to the cursor, where
            # "a < x OR (a = x AND id < y)" would read every later row and sort them.
            table, column = Lead._meta.db_table, Lead._meta.get_field(order).column
            op = "<" if descending else ">"
            qs = qs.filter(
                RawSQL(  # noqa: S611 - names from the model's own metadata, values as parameters
                    f'("{table}"."{column}", "{table}"."id") {op} (%s, %s)',
                    [after, int(pk)],
                    output_field=BooleanField(),
                )
            )
    sign = "-" if descending else ""
    items = list(qs.order_by(f"{sign}{order}", f"{sign}id")[: size + 1])
    next_cursor = None
    if len(items) > size:
        items = items[:size]
        last = items[-1]
        next_cursor = f"{_encode(getattr(last, order))}_{last.pk}"
    return Page(items, next_cursor)


# The MQL queue's orders: (column, newest or highest first). Each has a partial index.
MQL_SORTS = {
    "newest": ("became_mql_at", True),
    "oldest": ("became_mql_at", False),
    "score": ("score", True),
}


def mql_queue(
    *,
    cursor: str | None = None,
    status: str | None = None,
    owner_id: int | None = None,
    unassigned: bool = False,
    source: str | None = None,
    campaign: str | None = None,
    score_min: int | None = None,
    score_max: int | None = None,
    mql_from: dt.datetime | None = None,
    mql_before: dt.datetime | None = None,
    sort: str = "newest",
) -> Page:
    """The marketer's review queue: MQLs, filtered, in one of `MQL_SORTS`."""
    qs = _leads().filter(stage=Stage.MQL, became_mql_at__isnull=False)
    if status in Status.values:
        qs = qs.filter(status=status)
    if unassigned:
        qs = qs.filter(owner__isnull=True)
    elif owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    if source:
        qs = qs.filter(first_touch_source=source)
    if campaign:
        qs = qs.filter(first_touch_campaign=campaign)
    if score_min is not None:
        qs = qs.filter(score__gte=score_min)
    if score_max is not None:
        qs = qs.filter(score__lte=score_max)
    if mql_from is not None:
        qs = qs.filter(became_mql_at__gte=mql_from)
    if mql_before is not None:
        qs = qs.filter(became_mql_at__lt=mql_before)
    order, descending = MQL_SORTS.get(sort, MQL_SORTS["newest"])
    return _keyset(qs, order=order, cursor=cursor, descending=descending)


@dataclass
class Summary:
    leads_this_week: int
    leads_last_week: int
    mqls_this_week: int
    mqls_last_week: int
    # Of the leads that became MQL in the last `window_days` days, the share that became SQL.
    mql_to_sql: float | None
    window_days: int
    # MQLs waiting for an owner (every SDR away or full), counted up to UNASSIGNED_SHOWN + 1.
    unassigned: int = 0


UNASSIGNED_SHOWN = 999


def mql_summary(*, now: dt.datetime | None = None, window_days: int = 90) -> Summary:
    """The queue's summary strip: new leads and MQLs this week (since Monday) against the whole
    of last week, and the MQL → SQL rate of recent MQLs. Range counts over indexed stamps: no
    count over the whole table."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    monday = dt.datetime.combine(
        today - dt.timedelta(days=today.weekday()), dt.time.min, timezone.get_current_timezone()
    )
    last_monday = monday - dt.timedelta(days=7)
    since = now - dt.timedelta(days=window_days)
    counts = Lead.objects.filter(became_lead_at__gte=last_monday).aggregate(
        leads_this_week=Count("pk", filter=Q(became_lead_at__gte=monday)),
        leads_last_week=Count(
            "pk", filter=Q(became_lead_at__gte=last_monday, became_lead_at__lt=monday)
        ),
    )
    mqls = Lead.objects.filter(became_mql_at__gte=min(last_monday, since)).aggregate(
        this_week=Count("pk", filter=Q(became_mql_at__gte=monday)),
        last_week=Count("pk", filter=Q(became_mql_at__lt=monday, became_mql_at__gte=last_monday)),
        recent=Count("pk", filter=Q(became_mql_at__gte=since)),
        converted=Count("pk", filter=Q(became_mql_at__gte=since, became_sql_at__isnull=False)),
    )
    return Summary(
        leads_this_week=counts["leads_this_week"],
        leads_last_week=counts["leads_last_week"],
        mqls_this_week=mqls["this_week"],
        mqls_last_week=mqls["last_week"],
        mql_to_sql=mqls["converted"] / mqls["recent"] if mqls["recent"] else None,
        window_days=window_days,
        unassigned=Lead.objects.filter(stage=Stage.MQL, owner__isnull=True)[
            : UNASSIGNED_SHOWN + 1
        ].count(),
    )


def sdr_work(*, user: AbstractUser, today: dt.date | None = None) -> dict[str, list[Lead]]:
    """An SDR's lists: open MQLs, contact attempts, nurtures due, SQLs still in attempt."""
    today = today or timezone.localdate()
    mine = _leads().filter(owner=user, stage__in=[Stage.MQL, Stage.SQL])
    by_priority = ("-score", "became_mql_at", "id")
    # Open MQLs: those past their first-touch SLA first, then the highest scores.
    sla = dt.timedelta(hours=StageRules.current().mql_sla_hours)
    late = Case(When(became_mql_at__lte=timezone.now() - sla, then=Value(0)), default=Value(1))
    return {
        "open": list(
            mine.filter(stage=Stage.MQL, status=Status.OPEN).order_by(late, *by_priority)[
                :PAGE_SIZE
            ]
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


def lead_timeline(
    *, lead: Lead, limit: int = 200, points: dict[int, float] | None = None
) -> list[dict[str, Any]]:
    """Everything that happened to one lead, newest first, as one list: events (with the points
    each gave the score now, from `points` by event id), transitions, attempts, notes and owner
    changes. Each kind is read newest first up to `limit`, so the list never grows past it."""
    points = points or {}
    entries: list[dict[str, Any]] = []
    for event in lead.events.order_by("-occurred_at")[:limit]:
        entries.append(
            {
                "kind": "event",
                "at": event.occurred_at,
                "item": event,
                "points": points.get(event.pk),
            }
        )
    sources = [
        ("transition", LeadTransition.objects.filter(lead=lead)),
        ("attempt", lead.attempts.all()),
        ("note", lead.notes.all()),
    ]
    for kind, rows in sources:
        for item in rows.select_related("by").order_by("-created_at")[:limit]:
            entries.append({"kind": kind, "at": item.created_at, "item": item})
    entries.sort(key=lambda entry: entry["at"], reverse=True)
    return entries[:limit]


def lead_owners(*, lead: Lead, limit: int = 50) -> list[OwnerChange]:
    """The lead's owners over time, newest first."""
    return list(
        lead.owner_changes.select_related("previous", "owner", "by").order_by("-created_at", "-id")[
            :limit
        ]
    )
