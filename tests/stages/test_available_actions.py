"""The actions a page offers a user: their role's transitions from here, with unmet conditions."""

from __future__ import annotations

from leadflow.people.models import Contact
from stages.models import Lead, Stage, Status
from stages.services import available_actions
from tests.factories import lead_at


def _names(actions: list[dict]) -> set[str]:
    return {action["name"] for action in actions}


def test_sdr_sees_the_work_of_an_open_mql(db, sdr):
    lead = lead_at(Stage.MQL, owner=sdr)

    actions = available_actions(lead, sdr)

    assert _names(actions) == {"convert", "disqualify", "recycle", "start_attempt", "nurture"}
    assert all(action["problems"] == [] for action in actions)
    assert {action["name"]: action["label"] for action in actions}["convert"] == "Book meeting"


def test_marketer_sees_qualify_with_the_reasons_it_cannot_be_done_yet(db, marketer):
    lead = lead_at(Stage.LEAD)
    Contact.objects.filter(pk=lead.contact_id).update(job_title="")
    lead = Lead.objects.select_related("contact").get(pk=lead.pk)

    actions = {action["name"]: action for action in available_actions(lead, marketer)}

    assert set(actions) == {"qualify", "disqualify"}
    assert actions["qualify"]["problems"] == [
        "score 0 is below the MQL threshold 60",
        "job title missing",
    ]
    assert actions["disqualify"]["problems"] == []


def test_nobody_is_offered_identify(db, personas):
    lead = lead_at(Stage.VISITOR)

    for person in personas.values():
        assert "identify" not in _names(available_actions(lead, person))
    assert _names(available_actions(lead, personas["admin"])) == {"source_direct"}


def test_an_outsider_is_offered_nothing(db, outsider, sdr):
    for lead in (lead_at(Stage.LEAD), lead_at(Stage.MQL, owner=sdr)):
        assert available_actions(lead, outsider) == []


def test_another_sdrs_lead_offers_nothing_to_work(db, sdr, other_sdr):
    lead = lead_at(Stage.MQL, owner=sdr)

    assert available_actions(lead, other_sdr) == []


def test_ae_sees_win_and_hand_back_on_their_active_sql(db, sdr, ae):
    lead = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae)

    assert _names(available_actions(lead, ae)) == {"win", "disqualify", "recycle", "hand_back"}
    assert available_actions(lead, sdr) == []


def test_a_customer_offers_no_action_to_anyone(db, personas, sdr, ae):
    lead = lead_at(Stage.CUSTOMER, owner=sdr, ae=ae)

    for person in personas.values():
        assert available_actions(lead, person) == []
