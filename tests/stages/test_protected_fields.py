"""Nothing writes a stage or a status by hand: the fields refuse it."""

from __future__ import annotations

import pytest

from stages.models import Lead, Stage, Status
from tests.factories import lead_at


def test_assigning_a_stage_by_hand_raises(db):
    lead = lead_at(Stage.MQL)

    with pytest.raises(AttributeError, match="Direct stage modification is not allowed"):
        lead.stage = "sql"

    assert lead.stage == Stage.MQL
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL


def test_assigning_a_status_by_hand_raises(db):
    lead = lead_at(Stage.MQL)

    with pytest.raises(AttributeError, match="Direct status modification is not allowed"):
        lead.status = Status.ACTIVE

    assert Lead.objects.get(pk=lead.pk).status == Status.OPEN


def test_a_loaded_lead_refuses_a_stage_assignment_too(db):
    lead = Lead.objects.get(pk=lead_at(Stage.LEAD).pk)

    with pytest.raises(AttributeError):
        lead.stage = Stage.CUSTOMER


def test_refreshing_a_lead_from_the_database_is_still_allowed(db):
    lead = lead_at(Stage.LEAD)
    stale = Lead.objects.get(pk=lead.pk)
    Lead.objects.filter(pk=lead.pk).update(score=5)

    stale.refresh_from_db()

    assert (stale.stage, stale.score) == (Stage.LEAD, 5)
