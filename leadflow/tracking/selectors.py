"""Reads of tracked data for the pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from stages.models import Lead

from .attribution import Touch, touch_of
from .models import Event


@dataclass(frozen=True)
class LeadTouch:
    """A lead's first or last touch as the lead page shows it."""

    label: str
    source: str
    medium: str
    campaign: str
    at: dt.datetime
    landing_page: str = ""
    referrer: str = ""


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def lead_attribution(*, lead: Lead) -> list[LeadTouch]:
    """The lead's first and last touch, each with the landing page and the referrer of the event
    that gave it (the lead keeps source, medium and campaign; the rest is read from that event,
    one query through the index on (lead, occurred_at))."""
    touches = [
        (
            "First touch",
            Touch(lead.first_touch_source, lead.first_touch_medium, lead.first_touch_campaign),
            lead.first_touch_at,
        ),
        (
            "Last touch",
            Touch(lead.last_touch_source, lead.last_touch_medium, lead.last_touch_campaign),
            lead.last_touch_at,
        ),
    ]
    touches = [(label, touch, at) for label, touch, at in touches if at is not None]
    if not touches:
        return []
    events = list(
        Event.objects.filter(lead=lead, occurred_at__in={at for _, _, at in touches})
        .order_by("occurred_at", "id")
        .values_list("occurred_at", "type", "url", "context", "properties")
    )
    shown = []
    for label, touch, at in touches:
        candidates = [row for row in events if row[0] == at]
        # Several events at the same instant: the one that says this touch gave it.
        found = next(
            (
                row
                for row in candidates
                if touch_of(_dict(row[3]), _dict(row[4]), row[2], is_page=row[1] == "page") == touch
            ),
            candidates[0] if candidates else None,
        )
        landing = referrer = ""
        if found is not None:
            _, type_, url, context, properties = found
            page = _dict(_dict(context).get("page"))
            landing = _text(page.get("url")) or _text(url)
            referrer = _text(page.get("referrer"))
            if not referrer and type_ == "page":
                referrer = _text(_dict(properties).get("referrer"))
        shown.append(
            LeadTouch(
                label=label,
                source=touch.source,
                medium=touch.medium,
                campaign=touch.campaign,
                at=at,
                landing_page=landing,
                referrer=referrer,
            )
        )
    return shown


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
