"""Keep each lead's journey in step with its history, in the same transaction as the change.

Like the audit receiver, these are receivers so that no path (UI, API, task, import, shell)
can record a transition or an attempt without the rollup following: a change that rolls back
takes its refresh with it.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver
from django_fsm.signals import post_transition

from stages.models import Attempt, Lead

from .services import journeys_forget, journeys_refresh


@receiver(post_transition, sender=Lead)
def journey_on_transition(sender: type[Lead], instance: Lead, **kwargs: Any) -> None:
    journeys_refresh(lead_ids=[instance.pk])


@receiver(post_save, sender=Attempt)
def journey_on_attempt(sender: type[Attempt], instance: Attempt, created: bool, **kwargs) -> None:
    if created:
        journeys_refresh(lead_ids=[instance.lead_id])


@receiver(pre_delete, sender=Lead)
def journey_on_delete(sender: type[Lead], instance: Lead, **kwargs: Any) -> None:
    # A merged-away lead: its counts leave the day rollup with it (its history went to the
    # kept lead, whose journey the merge refreshes).
    journeys_forget(lead_ids=[instance.pk])
