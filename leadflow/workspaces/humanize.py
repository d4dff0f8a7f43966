"""Times and names in the few words a busy list needs: "3h", "in 2d", "MC"."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from stages.notifications import SLA_NEAR_SHARE

_UNITS = [(365 * 86400, "y"), (30 * 86400, "mo"), (7 * 86400, "w"), (86400, "d"), (3600, "h")]


def compact(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 60:
        return "now"
    # Weeks only from two weeks on: "9d" reads better than "1w".
    for size, unit in _UNITS:
        if seconds >= size and not (unit == "w" and seconds < 14 * 86400):
            return f"{round(seconds / size)}{unit}"
    return f"{round(seconds / 60)}m"


def age(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """How long ago, compactly: 5m, 3h, 9d, 6w, 4mo, 2y."""
    if not value:
        return "—"
    return compact(((now or timezone.now()) - value).total_seconds())


def relative(
    value: dt.datetime | dt.date | None,
    now: dt.datetime | None = None,
    today: dt.date | None = None,
) -> str:
    """'in 2d', '3h ago', 'today' (for dates)."""
    if not value:
        return "—"
    if not isinstance(value, dt.datetime):
        days = (value - (today or timezone.localdate())).days
        if days == 0:
            return "today"
        if days == 1:
            return "tomorrow"
        if days == -1:
            return "yesterday"
        return f"in {days}d" if days > 0 else f"{-days}d ago"
    seconds = (value - (now or timezone.now())).total_seconds()
    text = compact(seconds)
    if text == "now":
        return "now"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def is_past(
    value: dt.datetime | dt.date | None,
    now: dt.datetime | None = None,
    today: dt.date | None = None,
) -> bool:
    if not value:
        return False
    if isinstance(value, dt.datetime):
        return value < (now or timezone.now())
    return value < (today or timezone.localdate())


def sla(became_mql_at: dt.datetime, hours: int, now: dt.datetime | None = None) -> dict[str, str]:
    """Where an open MQL stands against its first-touch SLA: overdue, due soon (the last
    quarter), or time left."""
    span = dt.timedelta(hours=hours)
    left = (became_mql_at + span - (now or timezone.now())).total_seconds()
    if left <= 0:
        return {"kind": "overdue", "text": f"Past SLA by {compact(left)}"}
    if left <= span.total_seconds() * SLA_NEAR_SHARE:
        # `short` fits the work list's badge; `text` is its title.
        return {
            "kind": "due",
            "text": f"First touch due in {compact(left)}",
            "short": f"Due in {compact(left)}",
        }
    return {"kind": "ok", "text": f"{compact(left)} left to first touch"}


def initials(full_name: str, username: str) -> str:
    name = (full_name or username).strip()
    parts = name.replace(".", " ").replace("_", " ").split()
    return "".join(part[0] for part in parts[:2]).upper() or "?"
