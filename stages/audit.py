"""The audit receiver: every transition of a lead becomes a `LeadTransition` row.

It is a receiver, not a service step, so that no path (UI, API, task, admin, shell) can move a
lead without a record. The row is written in the caller's transaction: a transition that fails
to save (a concurrent one won) rolls its record back with it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import models
from django.dispatch import receiver
from django_fsm.signals import post_transition

from .models import Lead, LeadTransition


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


@receiver(post_transition, sender=Lead)
def transition_record(
    sender: type[Lead],
    instance: Lead,
    name: str,
    source: str,
    target: str,
    field: Any,
    method_kwargs: dict[str, Any],
    **kwargs: Any,
) -> None:
    by = method_kwargs.get("by")
    data = {
        key: _jsonable(value)
        for key, value in method_kwargs.items()
        if key not in ("by", "reason") and value is not None
    }
    if field.name == "stage":
        data["status"] = instance.status
    if name == "qualify":
        # The score that made the MQL, for reports by score band at qualification.
        data["score"] = instance.score
        data["behaviour_score"] = instance.behaviour_score
        data["fit_score"] = instance.fit_score
    LeadTransition.objects.create(
        lead=instance,
        name=name,
        field=field.name,
        source=source,
        target=target,
        by=by if isinstance(by, models.Model) else None,
        actor=by if isinstance(by, str) else "",
        reason=method_kwargs.get("reason", "") or "",
        data=data,
    )
