"""Small presentation helpers for the workspace templates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

from leadflow.workspaces import humanize
from leadflow.workspaces.forms import ProfileForm
from stages.models import DisqualifyReason, Stage, Status
from stages.services import LABELS, OWNER_ROLE, PROFILE_FIELDS, reps_by_load

register = template.Library()


@register.filter
def age(value: dt.datetime | None) -> str:
    """How long ago, compactly: 5m, 3h, 9d, 6w, 4mo, 2y."""
    return humanize.age(value)


@register.filter
def relative(value: dt.datetime | dt.date | None) -> str:
    """'in 2d', '3h ago', 'today' (for dates)."""
    return humanize.relative(value)


@register.filter
def is_past(value: dt.datetime | dt.date | None) -> bool:
    return humanize.is_past(value)


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
    return humanize.initials(user.get_full_name(), user.get_username())


def _pk(lead: Any) -> int:
    """A lead's id, from a model instance or from a row of `leadflow.workspaces.rows`."""
    return lead["pk"] if isinstance(lead, dict) else lead.pk


@register.simple_tag(takes_context=True)
def action_state(context: template.Context, lead: Any, name: str) -> dict[str, Any]:
    """The bound form of an action that just failed on this lead, to show it open with errors."""
    failed = context.get("failed")
    if failed and failed["lead"] == _pk(lead) and failed["name"] == name:
        return {"open": True, "form": failed["form"]}
    return {"open": False, "form": None}


@register.simple_tag
def field_id(lead: Any, name: str, field: str) -> str:
    return f"l{_pk(lead)}-{name}-{field}"


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
def profile_form(lead: Any, failed: Any = None) -> Any:
    """The profile form of a lead: the one that failed, with its errors, or the current values."""
    if failed is not None:
        return failed
    return ProfileForm(initial={name: getattr(lead.contact, name) for name in PROFILE_FIELDS})
