from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .models import Lead, Stage, Status
from .notifications import sla_notify
from .services import TransitionError, lead_transition


@shared_task
def reopen_due_nurtures() -> int:
    """Bring nurtured MQLs back to open on their follow-up date."""
    due = Lead.objects.filter(
        stage=Stage.MQL, status=Status.NURTURING, follow_up_on__lte=timezone.localdate()
    ).values_list("pk", flat=True)
    reopened = 0
    for pk in due.iterator():
        try:
            lead_transition(lead=pk, name="reopen", by="schedule", reason="follow-up date reached")
            reopened += 1
        except TransitionError:
            continue  # moved by someone in the meantime: nothing left to reopen
    return reopened


@shared_task
def notify_sla() -> int:
    """Remind owners of open MQLs whose first touch is due soon or overdue."""
    return sla_notify()
