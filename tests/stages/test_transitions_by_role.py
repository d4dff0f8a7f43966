"""Every transition of the state machine, tried by every role: who may, and what it leaves behind.

Each case is a lead at the transition's source, owned as it would be in real work (an MQL by its
SDR, an active SQL by its AE), and every role tries the transition on it. Allowed ones change the
lead and record exactly one `LeadTransition`; forbidden ones raise `TransitionError` with the
reason and change nothing, in memory or in the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from stages.models import Lead, LeadTransition, Stage, StageRules, Status
from stages.services import TransitionError, lead_transition
from tests.factories import lead_at

ROLES = ("marketer", "sdr", "ae", "admin", "outsider", "system")
SYSTEM = "import"  # a system actor: the name of a process, not a person
ALLOWED = "allowed"
NOT_YOUR_ROLE = "your role may not do this"
NOT_YOUR_LEAD = "this lead belongs to another rep"
MEETING = dt.datetime(2030, 1, 15, 10, 30, tzinfo=dt.UTC)
FOLLOW_UP = dt.date(2030, 2, 1)


@dataclass(frozen=True)
class Case:
    name: str
    start: str  # words for the test id
    make: Callable[[dict[str, Any]], Lead]
    kwargs: Callable[[dict[str, Any]], dict[str, Any]]
    after: tuple[str, str, str | None]  # stage, status, owner persona
    data: Callable[[dict[str, Any]], dict[str, Any]]
    allowed: frozenset[str]
    not_own: frozenset[str] = field(default_factory=frozenset)

    def outcome(self, role: str) -> str:
        if role in self.allowed:
            return ALLOWED
        return NOT_YOUR_LEAD if role in self.not_own else NOT_YOUR_ROLE


def _qualifiable(p: dict[str, Any]) -> Lead:
    lead = lead_at(Stage.LEAD)
    Lead.objects.filter(pk=lead.pk).update(score=StageRules.current().mql_threshold)
    lead.refresh_from_db()
    return lead


def _no_kwargs(p: dict[str, Any]) -> dict[str, Any]:
    return {}


REPS_ON_UNOWNED = frozenset({"marketer", "sdr", "ae", "admin", "system"})
ON_SDR_LEAD = frozenset({"marketer", "sdr", "admin", "system"})
ON_AE_LEAD = frozenset({"marketer", "ae", "admin", "system"})
SDR_WORK = frozenset({"sdr", "admin", "system"})

CASES = [
    Case(
        "identify",
        "visitor",
        lambda p: lead_at(Stage.VISITOR),
        _no_kwargs,
        (Stage.LEAD, Status.NONE, None),
        lambda p: {"status": ""},
        allowed=frozenset({"system"}),
    ),
    Case(
        "qualify",
        "lead",
        _qualifiable,
        lambda p: {"owner": p["sdr"]},
        (Stage.MQL, Status.OPEN, "sdr"),
        lambda p: {
            "owner": p["sdr"].pk,
            "status": "open",
            "score": StageRules.current().mql_threshold,
            "behaviour_score": 0,
            "fit_score": 0,
        },
        allowed=frozenset({"marketer", "admin", "system"}),
    ),
    Case(
        "convert",
        "open mql",
        lambda p: lead_at(Stage.MQL, owner=p["sdr"]),
        lambda p: {"meeting_at": MEETING, "ae": p["ae"]},
        (Stage.SQL, Status.ACTIVE, "ae"),
        lambda p: {"meeting_at": MEETING.isoformat(), "ae": p["ae"].pk, "status": "active"},
        allowed=SDR_WORK,
    ),
    Case(
        "source_direct",
        "visitor",
        lambda p: lead_at(Stage.VISITOR),
        lambda p: {"owner": p["sdr"]},
        (Stage.SQL, Status.CONTACT_ATTEMPT, "sdr"),
        lambda p: {"owner": p["sdr"].pk, "status": "contact_attempt"},
        allowed=frozenset({"sdr", "ae", "admin", "system"}),
    ),
    Case(
        "source_direct",
        "lead",
        lambda p: lead_at(Stage.LEAD),
        lambda p: {"owner": p["ae"], "active": True, "meeting_at": MEETING},
        (Stage.SQL, Status.ACTIVE, "ae"),
        lambda p: {
            "owner": p["ae"].pk,
            "active": True,
            "meeting_at": MEETING.isoformat(),
            "status": "active",
        },
        allowed=frozenset({"sdr", "ae", "admin", "system"}),
    ),
    Case(
        "win",
        "active sql",
        lambda p: lead_at(Stage.SQL, Status.ACTIVE, owner=p["sdr"], ae=p["ae"]),
        lambda p: {"deal_value": Decimal("1200.00")},
        (Stage.CUSTOMER, Status.NONE, "ae"),
        lambda p: {"deal_value": "1200.00", "status": ""},
        allowed=frozenset({"ae", "admin", "system"}),
    ),
    Case(
        "disqualify",
        "unowned lead",
        lambda p: lead_at(Stage.LEAD),
        lambda p: {"reason": "no_budget"},
        (Stage.DISQUALIFIED, Status.NONE, None),
        lambda p: {"status": ""},
        allowed=REPS_ON_UNOWNED,
    ),
    Case(
        "disqualify",
        "mql of the sdr",
        lambda p: lead_at(Stage.MQL, Status.CONTACT_ATTEMPT, owner=p["sdr"]),
        lambda p: {"reason": "no_budget"},
        (Stage.DISQUALIFIED, Status.NONE, "sdr"),
        lambda p: {"status": ""},
        allowed=ON_SDR_LEAD,
        not_own=frozenset({"ae"}),
    ),
    Case(
        "disqualify",
        "sql of the ae",
        lambda p: lead_at(Stage.SQL, Status.ACTIVE, owner=p["sdr"], ae=p["ae"]),
        lambda p: {"reason": "no_budget"},
        (Stage.DISQUALIFIED, Status.NONE, "ae"),
        lambda p: {"status": ""},
        allowed=ON_AE_LEAD,
        not_own=frozenset({"sdr"}),
    ),
    Case(
        "recycle",
        "mql of the sdr",
        lambda p: lead_at(Stage.MQL, Status.NURTURING, owner=p["sdr"]),
        lambda p: {"reason": "wrong person"},
        (Stage.LEAD, Status.NONE, None),
        lambda p: {"status": ""},
        allowed=ON_SDR_LEAD,
        not_own=frozenset({"ae"}),
    ),
    Case(
        "recycle",
        "sql of the ae",
        lambda p: lead_at(Stage.SQL, Status.ACTIVE, owner=p["sdr"], ae=p["ae"]),
        lambda p: {"reason": "budget next year"},
        (Stage.LEAD, Status.NONE, None),
        lambda p: {"status": ""},
        allowed=ON_AE_LEAD,
        not_own=frozenset({"sdr"}),
    ),
    Case(
        "recycle",
        "disqualified lead of the sdr",
        lambda p: lead_at(Stage.DISQUALIFIED, owner=p["sdr"]),
        lambda p: {"reason": "new job, new budget"},
        (Stage.LEAD, Status.NONE, None),
        lambda p: {"status": ""},
        allowed=ON_SDR_LEAD,
        not_own=frozenset({"ae"}),
    ),
    Case(
        "start_attempt",
        "open mql",
        lambda p: lead_at(Stage.MQL, owner=p["sdr"]),
        _no_kwargs,
        (Stage.MQL, Status.CONTACT_ATTEMPT, "sdr"),
        lambda p: {},
        allowed=SDR_WORK,
    ),
    Case(
        "nurture",
        "open mql",
        lambda p: lead_at(Stage.MQL, owner=p["sdr"]),
        lambda p: {"follow_up_on": FOLLOW_UP},
        (Stage.MQL, Status.NURTURING, "sdr"),
        lambda p: {"follow_up_on": FOLLOW_UP.isoformat()},
        allowed=SDR_WORK,
    ),
    Case(
        "nurture",
        "mql in contact attempt",
        lambda p: lead_at(Stage.MQL, Status.CONTACT_ATTEMPT, owner=p["sdr"]),
        lambda p: {"follow_up_on": FOLLOW_UP},
        (Stage.MQL, Status.NURTURING, "sdr"),
        lambda p: {"follow_up_on": FOLLOW_UP.isoformat()},
        allowed=SDR_WORK,
    ),
    Case(
        "reopen",
        "nurtured mql",
        lambda p: lead_at(Stage.MQL, Status.NURTURING, owner=p["sdr"]),
        _no_kwargs,
        (Stage.MQL, Status.OPEN, "sdr"),
        lambda p: {},
        allowed=SDR_WORK,
    ),
    Case(
        "book_meeting",
        "sql in contact attempt",
        lambda p: lead_at(Stage.SQL, Status.CONTACT_ATTEMPT, owner=p["sdr"]),
        lambda p: {"meeting_at": MEETING, "ae": p["ae"]},
        (Stage.SQL, Status.ACTIVE, "ae"),
        lambda p: {"meeting_at": MEETING.isoformat(), "ae": p["ae"].pk},
        allowed=SDR_WORK,
    ),
    Case(
        "hand_back",
        "active sql",
        lambda p: lead_at(Stage.SQL, Status.ACTIVE, owner=p["sdr"], ae=p["ae"]),
        lambda p: {"reason": "no show, try again"},
        (Stage.SQL, Status.CONTACT_ATTEMPT, "sdr"),
        lambda p: {},
        allowed=frozenset({"ae", "admin", "system"}),
    ),
]

MATRIX = [
    pytest.param(case, role, id=f"{case.name} {case.start} by {role}: {case.outcome(role)}")
    for case in CASES
    for role in ROLES
]


@pytest.fixture
def people(personas: dict[str, Any]) -> dict[str, Any]:
    return {**personas, "system": SYSTEM}


def _snapshot(lead: Lead) -> tuple[Any, ...]:
    return (lead.stage, lead.status, lead.owner_id, lead.sdr_id, lead.meeting_at, lead.score)


@pytest.mark.parametrize(("case", "role"), MATRIX)
def test_each_role_may_make_exactly_the_transitions_of_the_table(
    db, people: dict[str, Any], case: Case, role: str
) -> None:
    lead = case.make(people)
    lead = Lead.objects.select_related("contact").get(pk=lead.pk)
    before = _snapshot(lead)
    history = LeadTransition.objects.filter(lead=lead).count()
    actor = people[role]
    kwargs = case.kwargs(people)
    reason = kwargs.pop("reason", "made in a test")

    if case.outcome(role) != ALLOWED:
        with pytest.raises(TransitionError) as caught:
            lead_transition(lead=lead, name=case.name, by=actor, reason=reason, **kwargs)
        assert caught.value.problems == [case.outcome(role)]
        assert case.outcome(role) in str(caught.value)
        assert _snapshot(lead) == before
        assert _snapshot(Lead.objects.get(pk=lead.pk)) == before
        assert LeadTransition.objects.filter(lead=lead).count() == history
        return

    source = getattr(lead, _field_of(case.name))
    moved = lead_transition(lead=lead, name=case.name, by=actor, reason=reason, **kwargs)

    stage, status, owner = case.after
    expected_owner = people[owner].pk if owner else None
    assert (moved.stage, moved.status, moved.owner_id) == (stage, status, expected_owner)
    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.stage, stored.status, stored.owner_id) == (stage, status, expected_owner)
    assert stored.score == before[-1]
    records = LeadTransition.objects.filter(lead=lead).order_by("pk")[history:]
    assert len(records) == 1
    record = records[0]
    field = _field_of(case.name)
    assert (record.name, record.field, record.source, record.target) == (
        case.name,
        field,
        source,
        stage if field == "stage" else status,
    )
    if role == "system":
        assert (record.by_id, record.actor, record.actor_label) == (None, SYSTEM, SYSTEM)
    else:
        assert (record.by_id, record.actor) == (actor.pk, "")
        assert record.actor_label == actor.username
    assert record.reason == reason
    assert record.data == case.data(people)


def _field_of(name: str) -> str:
    return getattr(Lead, name)._django_fsm.field.name


def test_the_matrix_covers_every_transition_of_the_model() -> None:
    declared = {
        spec.name
        for field in ("stage", "status")
        for spec in getattr(Lead(), f"get_all_{field}_transitions")()
    }
    assert declared == {case.name for case in CASES}


@pytest.mark.parametrize("role", ["marketer", "sdr", "ae", "admin", "outsider"])
def test_no_person_may_identify_a_visitor_even_with_an_email(
    db, people: dict[str, Any], role: str
) -> None:
    lead = lead_at(Stage.VISITOR)
    assert lead.contact.email

    with pytest.raises(TransitionError, match="your role may not do this"):
        lead_transition(lead=lead, name="identify", by=people[role])

    assert Lead.objects.get(pk=lead.pk).stage == Stage.VISITOR
    assert not LeadTransition.objects.filter(lead=lead).exists()
