from stages.models import Stage, Status
from tests.factories import lead_at


def test_a_lead_can_be_walked_to_every_stage(db, sdr, ae):
    assert lead_at(Stage.MQL, owner=sdr).stage == Stage.MQL
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)
    assert (lead.stage, lead.status, lead.owner, lead.sdr) == (Stage.SQL, Status.ACTIVE, ae, sdr)
    assert lead_at(Stage.CUSTOMER, owner=sdr, ae=ae).stage == Stage.CUSTOMER
    assert lead_at(Stage.SQL, Status.CONTACT_ATTEMPT, owner=sdr).status == Status.CONTACT_ATTEMPT
    assert lead_at(Stage.DISQUALIFIED).transitions.count() == 3
