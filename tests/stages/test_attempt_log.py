"""Logging contact attempts: the first one on an open MQL starts the contact-attempt status."""

from __future__ import annotations

import pytest

from stages.models import Lead, Stage, Status
from stages.services import TransitionError, attempt_log
from tests.factories import lead_at


def test_the_first_attempt_on_an_open_mql_starts_contact_attempts(db, sdr):
    lead = lead_at(Stage.MQL, owner=sdr)

    attempt = attempt_log(lead=lead.pk, by=sdr, channel="call", outcome="no_answer", note="vm")

    assert (attempt.lead_id, attempt.by, attempt.note) == (lead.pk, sdr, "vm")
    stored = Lead.objects.get(pk=lead.pk)
    assert stored.status == Status.CONTACT_ATTEMPT
    record = stored.transitions.order_by("pk").last()
    assert (record.name, record.by, record.reason) == ("start_attempt", sdr, "first attempt logged")


def test_later_attempts_add_no_transition(db, sdr):
    lead = lead_at(Stage.MQL, owner=sdr)
    attempt_log(lead=lead, by=sdr, channel="call", outcome="no_answer")
    transitions = lead.transitions.count()

    attempt_log(lead=lead, by=sdr, channel="email", outcome="left_message")

    assert lead.attempts.count() == 2
    assert lead.transitions.count() == transitions


def test_an_attempt_on_a_nurtured_mql_keeps_it_nurtured(db, sdr):
    lead = lead_at(Stage.MQL, Status.NURTURING, owner=sdr)

    attempt_log(lead=lead, by=sdr, channel="social", outcome="bad_timing")

    assert Lead.objects.get(pk=lead.pk).status == Status.NURTURING


def test_attempts_are_logged_on_mqls_and_sqls_only(db, sdr):
    lead = lead_at(Stage.LEAD)

    with pytest.raises(TransitionError, match="attempts are logged on MQLs and SQLs"):
        attempt_log(lead=lead, by=sdr, channel="call", outcome="connected")

    assert lead.attempts.count() == 0


def test_a_marketer_cannot_log_attempts(db, marketer, sdr):
    lead = lead_at(Stage.MQL, owner=sdr)

    with pytest.raises(TransitionError, match="your role may not log attempts"):
        attempt_log(lead=lead, by=marketer, channel="call", outcome="connected")


@pytest.mark.parametrize(("channel", "outcome"), [("fax", "connected"), ("call", "maybe")])
def test_channel_and_outcome_come_from_the_list(db, sdr, channel, outcome):
    lead = lead_at(Stage.MQL, owner=sdr)

    with pytest.raises(TransitionError, match="choose a channel and an outcome from the list"):
        attempt_log(lead=lead, by=sdr, channel=channel, outcome=outcome)

    assert lead.attempts.count() == 0
    assert Lead.objects.get(pk=lead.pk).status == Status.OPEN
