"""Concurrent transitions on one lead: exactly one wins, the others fail, one record is kept.

Real PostgreSQL transactions in real threads: each thread reads the same MQL, waits at a barrier,
then tries its transition at the same moment as all the others.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from stages.models import Lead, LeadTransition, Stage, Status
from stages.services import TransitionError, lead_transition
from tests.factories import lead_at

THREADS = 8
MEETING = dt.datetime(2030, 1, 15, 10, 30, tzinfo=dt.UTC)


def _race(attempts: list[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
    """Run the attempts in threads released together; return the successes and the errors."""
    barrier = threading.Barrier(len(attempts))
    successes: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(attempt: Callable[[], Any]) -> None:
        try:
            prepared = attempt()  # read the lead before the others write it
            barrier.wait(timeout=30)
            result = prepared()
            with lock:
                successes.append(result)
        except BaseException as exc:  # every outcome, even a crash, is asserted below
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return successes, errors


def _attempt(lead_id: int, name: str, by: Any, **kwargs: Any) -> Callable[[], Any]:
    def prepare() -> Callable[[], Any]:
        lead = Lead.objects.select_related("contact").get(pk=lead_id)
        return lambda: (name, lead_transition(lead=lead, name=name, by=by, **kwargs))

    return prepare


def _assert_one_winner(lead: Lead, successes, errors, history: int) -> str:
    assert len(successes) == 1, errors
    assert len(errors) == THREADS - 1
    assert all(isinstance(error, TransitionError) for error in errors), [
        (type(error), str(error)) for error in errors
    ]
    assert LeadTransition.objects.filter(lead=lead).count() == history + 1
    [(name, _)] = successes
    assert LeadTransition.objects.filter(lead=lead).order_by("pk").last().name == name
    return name


@pytest.mark.parametrize("name", ["disqualify", "recycle", "convert", "start_attempt"])
def test_the_same_transition_from_eight_threads_succeeds_once(transactional_db, sdr, ae, name):
    lead = lead_at(Stage.MQL, owner=sdr)
    history = lead.transitions.count()
    kwargs = {
        "disqualify": {"reason": "duplicate"},
        "recycle": {"reason": "later"},
        "convert": {"meeting_at": MEETING, "ae": ae},
        "start_attempt": {},
    }[name]

    successes, errors = _race([_attempt(lead.pk, name, sdr, **kwargs) for _ in range(THREADS)])

    _assert_one_winner(lead, successes, errors, history)
    assert all("someone else changed this lead" in str(error) for error in errors)


def test_disqualify_convert_recycle_and_nurture_race_and_only_one_wins(
    transactional_db, sdr, ae, marketer
):
    lead = lead_at(Stage.MQL, owner=sdr)
    history = lead.transitions.count()
    contenders = [
        _attempt(lead.pk, "disqualify", marketer, reason="spam"),
        _attempt(lead.pk, "convert", sdr, meeting_at=MEETING, ae=ae),
        _attempt(lead.pk, "recycle", sdr, reason="wrong person"),
        _attempt(lead.pk, "start_attempt", sdr),
        _attempt(lead.pk, "nurture", sdr, follow_up_on=dt.date(2030, 3, 1)),
        _attempt(lead.pk, "disqualify", sdr, reason="no_budget"),
        _attempt(lead.pk, "convert", "import", meeting_at=MEETING, ae=ae),
        _attempt(lead.pk, "recycle", marketer, reason="bad data"),
    ]

    successes, errors = _race(contenders)

    name = _assert_one_winner(lead, successes, errors, history)
    stored = Lead.objects.get(pk=lead.pk)
    expected = {
        "disqualify": (Stage.DISQUALIFIED, Status.NONE),
        "convert": (Stage.SQL, Status.ACTIVE),
        "recycle": (Stage.LEAD, Status.NONE),
        "start_attempt": (Stage.MQL, Status.CONTACT_ATTEMPT),
        "nurture": (Stage.MQL, Status.NURTURING),
    }[name]
    assert (stored.stage, stored.status) == expected


def test_threads_that_read_the_lead_inside_their_transaction_still_succeed_once(
    transactional_db, sdr, ae
):
    lead = lead_at(Stage.MQL, owner=sdr)
    history = lead.transitions.count()

    def by_id(name: str, **kwargs: Any) -> Callable[[], Any]:
        return lambda: lambda: (name, lead_transition(lead=lead.pk, name=name, by=sdr, **kwargs))

    contenders = [
        by_id("disqualify", reason="duplicate")
        if n % 2
        else by_id("convert", meeting_at=MEETING, ae=ae)
        for n in range(THREADS)
    ]

    successes, errors = _race(contenders)

    _assert_one_winner(lead, successes, errors, history)


def test_leads_reload_in_many_threads_at_once_without_tripping_the_protection(
    transactional_db, sdr
):
    # django-fsm's own reload lifts the protection of the field for every thread at once.
    lead = lead_at(Stage.MQL, owner=sdr)

    def reload_often() -> Callable[[], Any]:
        mine = Lead.objects.get(pk=lead.pk)

        def run() -> tuple[str, str]:
            for _ in range(50):
                mine.refresh_from_db()
            return (mine.stage, mine.status)

        return run

    successes, errors = _race([reload_often for _ in range(THREADS)])

    assert errors == []
    assert successes == [(Stage.MQL, Status.OPEN)] * THREADS
    with pytest.raises(AttributeError):
        lead.stage = Stage.SQL


def test_the_loser_of_a_race_is_reloaded_and_can_move_on(db, sdr):
    lead = lead_at(Stage.MQL, owner=sdr)
    stale = Lead.objects.select_related("contact").get(pk=lead.pk)
    lead_transition(lead=lead, name="start_attempt", by=sdr)

    with pytest.raises(TransitionError, match="someone else changed this lead"):
        lead_transition(lead=stale, name="start_attempt", by=sdr)

    assert (stale.stage, stale.status) == (Stage.MQL, Status.CONTACT_ATTEMPT)
    assert LeadTransition.objects.filter(lead=lead, name="start_attempt").count() == 1
    lead_transition(lead=stale, name="nurture", by=sdr, follow_up_on=dt.date(2030, 3, 1))
    assert Lead.objects.get(pk=lead.pk).status == Status.NURTURING
