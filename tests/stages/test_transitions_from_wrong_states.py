"""A transition from a place the table does not list fails, in words, and moves nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from stages.models import Lead, LeadTransition, Stage, Status
from stages.services import TransitionError, lead_transition
from tests.factories import lead_at

MEETING = dt.datetime(2030, 1, 15, 10, 30, tzinfo=dt.UTC)

# Every place a lead can be, as the factory walks it there.
PLACES = [
    (Stage.VISITOR, Status.NONE),
    (Stage.LEAD, Status.NONE),
    (Stage.MQL, Status.OPEN),
    (Stage.MQL, Status.CONTACT_ATTEMPT),
    (Stage.MQL, Status.NURTURING),
    (Stage.SQL, Status.CONTACT_ATTEMPT),
    (Stage.SQL, Status.ACTIVE),
    (Stage.CUSTOMER, Status.NONE),
    (Stage.DISQUALIFIED, Status.NONE),
]

# What the table allows: transition → the (stage, status) places it may start from.
ALLOWED_FROM = {
    "identify": {(Stage.VISITOR, Status.NONE)},
    "qualify": {(Stage.LEAD, Status.NONE)},
    "convert": {
        (Stage.MQL, Status.OPEN),
        (Stage.MQL, Status.CONTACT_ATTEMPT),
        (Stage.MQL, Status.NURTURING),
    },
    "source_direct": {(Stage.VISITOR, Status.NONE), (Stage.LEAD, Status.NONE)},
    "win": {(Stage.SQL, Status.CONTACT_ATTEMPT), (Stage.SQL, Status.ACTIVE)},
    "disqualify": {
        (Stage.LEAD, Status.NONE),
        (Stage.MQL, Status.OPEN),
        (Stage.MQL, Status.CONTACT_ATTEMPT),
        (Stage.MQL, Status.NURTURING),
        (Stage.SQL, Status.CONTACT_ATTEMPT),
        (Stage.SQL, Status.ACTIVE),
    },
    "recycle": {
        (Stage.MQL, Status.OPEN),
        (Stage.MQL, Status.CONTACT_ATTEMPT),
        (Stage.MQL, Status.NURTURING),
        (Stage.SQL, Status.CONTACT_ATTEMPT),
        (Stage.SQL, Status.ACTIVE),
        (Stage.DISQUALIFIED, Status.NONE),
    },
    "start_attempt": {(Stage.MQL, Status.OPEN)},
    "nurture": {(Stage.MQL, Status.OPEN), (Stage.MQL, Status.CONTACT_ATTEMPT)},
    "reopen": {(Stage.MQL, Status.NURTURING)},
    "book_meeting": {(Stage.SQL, Status.CONTACT_ATTEMPT)},
    "hand_back": {(Stage.SQL, Status.ACTIVE)},
}

KWARGS = {
    "identify": {},
    "qualify": {},
    "convert": {"meeting_at": MEETING},  # the AE is added in the test
    "source_direct": {},  # the owner is added in the test
    "win": {"deal_value": None},
    "disqualify": {"reason": "not_a_fit"},
    "recycle": {"reason": "try again later"},
    "start_attempt": {},
    "nurture": {"follow_up_on": dt.date(2030, 3, 1)},
    "reopen": {},
    "book_meeting": {"meeting_at": MEETING},
    "hand_back": {"reason": "no show"},
}

FORBIDDEN = [
    pytest.param(name, stage, status, id=f"{name} from {stage} {status or 'no status'}")
    for name, allowed in ALLOWED_FROM.items()
    for stage, status in PLACES
    if (stage, status) not in allowed
]


def _kwargs(name: str, sdr, ae) -> dict:
    kwargs = dict(KWARGS[name])
    if name in ("convert", "book_meeting"):
        kwargs["ae"] = ae
    if name == "source_direct":
        kwargs["owner"] = sdr
    return kwargs


@pytest.mark.parametrize(("name", "stage", "status"), FORBIDDEN)
def test_no_transition_starts_from_a_place_the_table_does_not_list(
    db, sdr, ae, name, stage, status
):
    lead = lead_at(stage, status, owner=sdr, ae=ae)
    lead = Lead.objects.select_related("contact").get(pk=lead.pk)
    assert (lead.stage, lead.status) == (stage, status)
    history = LeadTransition.objects.filter(lead=lead).count()

    # The system actor passes every permission: only the table can refuse it.
    with pytest.raises(TransitionError) as caught:
        lead_transition(lead=lead, name=name, by="import", **_kwargs(name, sdr, ae))

    [problem] = caught.value.problems
    field = getattr(Lead, name)._django_fsm.field.name
    if field == "stage":
        assert problem == f"not possible from stage {Stage(stage).label}"
    elif getattr(Lead, name)._django_fsm.has_transition(status):
        # The status exists in both MQL and SQL: the condition names the stage that owns it.
        owner = "an MQL" if name in ("start_attempt", "nurture", "reopen") else "an SQL"
        assert problem == f"only {owner} has this status"
    else:
        assert problem == f"not possible from status {Status(status).label}"
    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.stage, stored.status, stored.owner_id) == (stage, status, lead.owner_id)
    assert LeadTransition.objects.filter(lead=lead).count() == history


@pytest.mark.parametrize(
    ("name", "stage", "label"),
    [
        ("win", Stage.MQL, "MQL"),
        ("convert", Stage.LEAD, "Lead"),
        ("qualify", Stage.SQL, "SQL"),
        ("recycle", Stage.CUSTOMER, "Customer"),
        ("disqualify", Stage.VISITOR, "Visitor"),
        ("identify", Stage.LEAD, "Lead"),
        ("source_direct", Stage.MQL, "MQL"),
    ],
)
def test_the_error_says_the_stage_it_is_not_possible_from(
    db, admin_user, sdr, ae, name, stage, label
):
    lead = lead_at(stage, owner=sdr, ae=ae)

    with pytest.raises(TransitionError) as caught:
        lead_transition(lead=lead, name=name, by=admin_user, **_kwargs(name, sdr, admin_user))

    assert f"not possible from stage {label}" in str(caught.value)


def test_the_table_of_this_file_matches_the_model():
    for name, places in ALLOWED_FROM.items():
        meta = getattr(Lead, name)._django_fsm
        sources = {status if meta.field.name == "status" else stage for stage, status in places}
        assert sources == set(meta.transitions), name
