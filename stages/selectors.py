"""Reads: one function per role queue, each a keyset page over a partial index."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import FieldDoesNotExist
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    DateTimeField,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone

from .models import Lead, LeadTransition, OwnerChange, Stage, StageRules, Status

PAGE_SIZE = 50
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class Page:
    # Rows as `QuerySet.values()` gives them (see `ROW_FIELDS`): a page shows a few columns of
    # 50 to 200 leads, and a model instance per lead, contact and owner costs more than the SQL.
    items: list[dict[str, Any]]
    next_cursor: str | None


# What every queue row shows of its lead and contact.
ROW_FIELDS = (
    "id",
    "stage",
    "status",
    "source",
    "score",
    "behaviour_score",
    "fit_score",
    "contact__first_name",
    "contact__last_name",
    "contact__email",
    "contact__company",
    "contact__job_title",
)
MQL_FIELDS = (
    *ROW_FIELDS,
    "is_cooling",
    "became_mql_at",
    "first_touch_source",
    "first_touch_medium",
    "first_touch_campaign",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)
WORK_FIELDS = (*ROW_FIELDS, "became_mql_at", "became_sql_at", "follow_up_on")
DEAL_FIELDS = (
    *ROW_FIELDS,
    "meeting_at",
    "next_step",
    "stage_changed_at",
    "sdr_id",
    "sdr__username",
    "sdr__first_name",
    "sdr__last_name",
)


def _encode(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return str((value - EPOCH) // dt.timedelta(microseconds=1))
    if isinstance(value, dt.date):
        return str(value.toordinal())
    return str(value)


def _decode(text: str, *, kind: type = int) -> Any:
    if not text.lstrip("-").isdigit() or len(text) > 20:
        return None
    if kind is dt.datetime:
        return EPOCH + dt.timedelta(microseconds=int(text))
    if kind is dt.date:
        return dt.date.fromordinal(int(text)) if 0 < int(text) <= dt.date.max.toordinal() else None
    return int(text)


def _kind(name: str) -> type:
    """The Python type of a lead column (or of an annotation: an integer)."""
    try:
        field = Lead._meta.get_field(name)
    except FieldDoesNotExist:
        return int
    if isinstance(field, DateTimeField):
        return dt.datetime
    return dt.date if isinstance(field, DateField) else int


def _keyset(
    qs: QuerySet[Lead],
    *,
    order: str,
    cursor: str | None,
    size: int = PAGE_SIZE,
    descending: bool = True,
    fields: tuple[str, ...] = MQL_FIELDS,
) -> Page:
    """Page on (`order`, id) without OFFSET: the cursor is the last row's pair (a time as
    microseconds since the epoch, or an integer, then the id), so it is URL-safe and time-zone
    free. A malformed cursor reads as the first page. The order column must not be null."""
    if cursor:
        value, _, pk = cursor.partition("_")
        after = _decode(value, kind=_kind(order))
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
    items = list(qs.order_by(f"{sign}{order}", f"{sign}id").values(*fields)[: size + 1])
    next_cursor = None
    if len(items) > size:
        items = items[:size]
        next_cursor = f"{_encode(items[-1][order])}_{items[-1]['id']}"
    return Page(items, next_cursor)


def _seek(
    qs: QuerySet[Lead],
    *,
    order: tuple[tuple[str, bool], ...],
    cursor: str | None,
    size: int = PAGE_SIZE,
    fields: tuple[str, ...],
) -> Page:
    """Page in an order of several columns, each ascending or descending (`(name, descending)`,
    the last one unique): the cursor holds the last row's values, and the next page is what
    sorts after them. For the short per-rep lists, which the owner index already narrows to a
    few thousand rows; a malformed cursor reads as the first page."""
    if cursor:
        parts = cursor.split("_")
        values = [None]
        if len(parts) == len(order):
            values = [_decode(t, kind=_kind(n)) for t, (n, _) in zip(parts, order, strict=True)]
        if None not in values:
            after = Q()
            for n, (name, descending) in enumerate(order):
                same = {prev: value for (prev, _), value in zip(order[:n], values, strict=False)}
                after |= Q(**same, **{f"{name}__{'lt' if descending else 'gt'}": values[n]})
            qs = qs.filter(after)
    ordering = [f"-{name}" if descending else name for name, descending in order]
    columns = dict.fromkeys([*fields, *(name for name, _ in order)])
    # The page's leads first, sorted on their own columns, and only then joined to their
    # contacts and people: a rep with a thousand leads would otherwise join all of them.
    page = qs.order_by(*ordering).values("pk")[: size + 1]
    items = list(qs.filter(pk__in=page).order_by(*ordering).values(*columns))
    next_cursor = None
    if len(items) > size:
        items = items[:size]
        last = [items[-1][name] for name, _ in order]
        # A null sorts outside any range: the rows after it cannot be sought (none are expected).
        next_cursor = None if None in last else "_".join(map(_encode, last))
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
    qs = Lead.objects.filter(stage=Stage.MQL, became_mql_at__isnull=False)
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


# The SDR's lists, each in its order: `(column, descending)`, the last one unique.
WORK_SECTIONS: dict[str, tuple[tuple[str, bool], ...]] = {
    # Open MQLs: those past their first-touch SLA first (`late` 0), then the highest scores.
    "open": (("late", False), ("score", True), ("became_mql_at", False), ("id", False)),
    "attempting": (("score", True), ("became_mql_at", False), ("id", False)),
    "nurture_due": (("follow_up_on", False), ("id", False)),
    "sql_attempting": (("became_sql_at", True), ("id", False)),
}


def sdr_work(
    *,
    user: AbstractUser,
    today: dt.date | None = None,
    cursors: dict[str, str | None] | None = None,
    sections: Iterable[str] = WORK_SECTIONS,
    lead_id: int | None = None,
    sla_hours: int | None = None,
    size: int = PAGE_SIZE,
) -> dict[str, Page]:
    """An SDR's lists, a page of each of `sections`: open MQLs, contact attempts, nurtures due,
    SQLs still in attempt. `cursors` pages a list on (a section's `next_cursor`); `lead_id`
    finds the list one lead is in."""
    today = today or timezone.localdate()
    cursors = cursors or {}
    mine = Lead.objects.filter(owner=user, stage__in=[Stage.MQL, Stage.SQL])
    if lead_id is not None:
        mine = mine.filter(pk=lead_id)
    if sla_hours is None:
        sla_hours = StageRules.current().mql_sla_hours
    sla = dt.timedelta(hours=sla_hours)
    late = Case(
        When(became_mql_at__lte=timezone.now() - sla, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    lists = {
        "open": mine.filter(stage=Stage.MQL, status=Status.OPEN).annotate(late=late),
        "attempting": mine.filter(stage=Stage.MQL, status=Status.CONTACT_ATTEMPT),
        "nurture_due": mine.filter(
            stage=Stage.MQL, status=Status.NURTURING, follow_up_on__lte=today
        ),
        "sql_attempting": mine.filter(stage=Stage.SQL, status=Status.CONTACT_ATTEMPT),
    }
    return {
        key: _seek(
            lists[key],
            order=WORK_SECTIONS[key],
            cursor=cursors.get(key),
            size=size,
            fields=WORK_FIELDS,
        )
        for key in sections
    }


def ae_deals(
    *,
    user: AbstractUser,
    cursor: str | None = None,
    lead_id: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """An AE's active SQLs, next meeting first (`lead_id`: that one, if it is one of them)."""
    deals = Lead.objects.filter(owner=user, stage=Stage.SQL, status=Status.ACTIVE)
    return _seek(
        deals if lead_id is None else deals.filter(pk=lead_id),
        order=(("meeting_at", False), ("id", False)),
        cursor=cursor,
        size=size,
        fields=DEAL_FIELDS,
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
