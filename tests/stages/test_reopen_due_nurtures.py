"""The daily task that brings nurtured MQLs back to open on their follow-up date."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.utils import timezone

from stages.models import Lead, Stage, Status
from stages.services import lead_nurture
from stages.tasks import reopen_due_nurtures
from tests.factories import lead_at


def test_nurtured_mqls_reopen_on_their_follow_up_date_and_not_before(db, sdr):
    today = timezone.localdate()
    due = lead_at(Stage.MQL, owner=sdr)
    later = lead_at(Stage.MQL, owner=sdr)
    lead_nurture(lead=due, by=sdr, follow_up_on=today + dt.timedelta(days=3))
    lead_nurture(lead=later, by=sdr, follow_up_on=today + dt.timedelta(days=10))

    assert reopen_due_nurtures() == 0
    with time_machine.travel(timezone.now() + dt.timedelta(days=3, hours=1)):
        assert reopen_due_nurtures() == 1

    assert Lead.objects.get(pk=due.pk).status == Status.OPEN
    assert Lead.objects.get(pk=later.pk).status == Status.NURTURING
    record = Lead.objects.get(pk=due.pk).transitions.order_by("pk").last()
    assert (record.name, record.by, record.actor) == ("reopen", None, "schedule")
