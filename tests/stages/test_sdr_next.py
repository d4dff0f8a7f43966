"""Round-robin by load: a new MQL goes to the active SDR with the fewest leads to work."""

from __future__ import annotations

from stages.models import Lead, Stage, Status
from stages.services import lead_qualify, sdr_next
from tests.factories import lead_at


def _qualifiable() -> Lead:
    lead = lead_at(Stage.LEAD)
    Lead.objects.filter(pk=lead.pk).update(score=100)
    lead.refresh_from_db()
    return lead


def test_new_mqls_alternate_between_two_sdrs(db, sdr, other_sdr):
    owners = [lead_qualify(lead=_qualifiable(), by="scoring").owner for _ in range(6)]

    assert owners == [sdr, other_sdr, sdr, other_sdr, sdr, other_sdr]


def test_the_sdr_with_fewer_leads_to_work_gets_the_next_one(db, sdr, other_sdr):
    lead_at(Stage.MQL, owner=sdr)
    lead_at(Stage.MQL, Status.CONTACT_ATTEMPT, owner=sdr)

    assert sdr_next() == other_sdr


def test_nurtured_and_closed_leads_do_not_count_as_load(db, sdr, other_sdr, ae):
    lead_at(Stage.MQL, Status.NURTURING, owner=sdr)
    lead_at(Stage.DISQUALIFIED, owner=sdr)
    lead_at(Stage.CUSTOMER, owner=sdr, ae=ae)
    lead_at(Stage.MQL, owner=other_sdr)

    assert sdr_next() == sdr


def test_an_inactive_sdr_gets_no_leads(db, sdr, other_sdr):
    sdr.is_active = False
    sdr.save()

    assert sdr_next() == other_sdr


def test_without_sdrs_an_mql_waits_unowned(db, ae):
    lead = lead_qualify(lead=_qualifiable(), by="scoring")

    assert (lead.stage, lead.owner) == (Stage.MQL, None)
