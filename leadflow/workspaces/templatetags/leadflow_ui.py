"""Small presentation helpers for the workspace templates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

from leadflow.workspaces.forms import ProfileForm
from stages.models import DisqualifyReason, Stage, Status
from stages.notifications import SLA_NEAR_SHARE
from stages.services import LABELS, OWNER_ROLE, PROFILE_FIELDS, reps_by_load

register = template.Library()

_UNITS = [(365 * 86400, "y"), (30 * 86400, "mo"), (7 * 86400, "w"), (86400, "d"), (3600, "h")]


def _compact(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 60:
        return "now"
    # Weeks only from two weeks on: "9d" reads better than "1w".
    for size, unit in _UNITS:
        if seconds >= size and not (unit == "w" and seconds < 14 * 86400):
            return f"{round(seconds / size)}{unit}"
    return f"{round(seconds / 60)}m"


@register.filter
def age(value: dt.datetime | None) -> str:
    """How long ago, compactly: 5m, 3h, 9d, 6w, 4mo, 2y."""
    if not value:
        return "—"
    return _compact((timezone.now() - value).total_seconds())


@register.filter
def relative(value: dt.datetime | dt.date | None) -> str:
    """'in 2d', '3h ago', 'today' (for dates)."""
    if not value:
        return "—"
    if not isinstance(value, dt.datetime):
        days = (value - timezone.localdate()).days
        if days == 0:
            return "today"
        if days == 1:
            return "tomorrow"
        if days == -1:
            return "yesterday"
        return f"in {days}d" if days > 0 else f"{-days}d ago"
    seconds = (value - timezone.now()).total_seconds()
    text = _compact(seconds)
    if text == "now":
        return "now"
    return f"in {text}" if seconds > 0 else f"{text} ago"


@register.filter
def is_past(value: dt.datetime | dt.date | None) -> bool:
    if not value:
        return False
    if isinstance(value, dt.datetime):
        return value < timezone.now()
    return value < timezone.localdate()


@register.filter
def points(value: float | None) -> str:
    """Signed points: whole ones as they are, decayed ones to a tenth (+12, +8.4, -30)."""
    rounded = round(float(value or 0), 1)
    if rounded == int(rounded):
        return f"{int(rounded):+d}"
    return f"{rounded:+.1f}"


@register.filter
def transition_label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


_STATES = {**dict(Status.choices), **dict(Stage.choices), "": "none"}


@register.filter
def state_label(value: str) -> str:
    """A stage's or a status's words, as a transition record stores either."""
    return _STATES.get(value, value.replace("_", " "))


@register.filter
def transition_details(change: Any) -> str:
    """The facts a transition carried (a meeting, a deal value, a follow-up day), in words."""
    data = change.data or {}
    parts = []
    try:
        if meeting := data.get("meeting_at"):
            moment = timezone.localtime(dt.datetime.fromisoformat(meeting))
            parts.append(f"meeting {moment:%b %d, %H:%M}")
        if day := data.get("follow_up_on"):
            parts.append(f"follow up {dt.date.fromisoformat(day):%b %d}")
    except (TypeError, ValueError):
        pass  # a record written by hand or by an older version: show the rest
    if (value := data.get("deal_value")) is not None:
        parts.append(f"deal value {value}")
    return " · ".join(parts)


@register.filter
def reason_label(value: str) -> str:
    """A disqualify reason's words; any other reason as written."""
    return dict(DisqualifyReason.choices).get(value, value)


@register.filter
def initials(user: Any) -> str:
    name = (user.get_full_name() or user.get_username()).strip()
    parts = name.replace(".", " ").replace("_", " ").split()
    return "".join(part[0] for part in parts[:2]).upper() or "?"


@register.simple_tag(takes_context=True)
def action_state(context: template.Context, lead: Any, name: str) -> dict[str, Any]:
    """The bound form of an action that just failed on this lead, to show it open with errors."""
    failed = context.get("failed")
    if failed and failed["lead"] == lead.pk and failed["name"] == name:
        return {"open": True, "form": failed["form"]}
    return {"open": False, "form": None}


@register.simple_tag
def field_id(lead: Any, name: str, field: str) -> str:
    return f"l{lead.pk}-{name}-{field}"


@register.simple_tag
def lead_assignees(lead: Any) -> Any:
    """The reps who may own this lead in its present state, with their load and availability."""
    role = OWNER_ROLE.get((lead.stage, lead.status))
    return reps_by_load(role) if role else []


@register.filter
def rep_label(rep: Any) -> str:
    """'alice · 12 of 30 · away': a rep with their load, capacity and availability."""
    name = rep.get_full_name() or rep.get_username()
    load = f"{rep.load} of {rep.capacity}" if rep.capacity is not None else f"{rep.load} in work"
    return f"{name} · {load}" + (" · away" if rep.is_away else "")


@register.simple_tag
def delta(now: int, before: int) -> str:
    """' · ▲ 3' or ' · ▼ 2' against the previous period; nothing when equal."""
    if now == before:
        return ""
    arrow = "▲" if now > before else "▼"
    return f" · {arrow} {abs(now - before)}"


@register.simple_tag
def sla_state(lead: Any, hours: int) -> dict[str, str] | None:
    """Where an open MQL stands against its first-touch SLA: overdue, due soon (the last
    quarter), or time left; None once it was touched."""
    if lead.stage != Stage.MQL or lead.status != Status.OPEN or not lead.became_mql_at:
        return None
    sla = dt.timedelta(hours=hours)
    left = (lead.became_mql_at + sla - timezone.now()).total_seconds()
    if left <= 0:
        return {"kind": "overdue", "text": f"Past SLA by {_compact(left)}"}
    if left <= sla.total_seconds() * SLA_NEAR_SHARE:
        return {"kind": "due", "text": f"First touch due in {_compact(left)}"}
    return {"kind": "ok", "text": f"{_compact(left)} left to first touch"}


@register.simple_tag
def profile_form(lead: Any, failed: Any = None) -> Any:
    """The profile form of a lead: the one that failed, with its errors, or the current values."""
    if failed is not None:
        return failed
    return ProfileForm(initial={name: getattr(lead.contact, name) for name in PROFILE_FIELDS})
