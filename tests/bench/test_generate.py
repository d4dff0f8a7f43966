"""The benchmark's generator makes a believable funnel whose identities link up (no timings)."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from bench import generate as generator
from bench.generate import django_conninfo, generate
from leadflow.people.models import Contact, Visitor
from leadflow.tracking.models import Event, WriteKey
from stages.models import Lead, LeadTransition

LEADS, EVENTS = 400, 8000


_KEYS = """
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid::regclass::text IN ('people_contact', 'stages_lead', 'stages_leadtransition',
        'people_visitor', 'tracking_event')
    UNION ALL
    SELECT tablename, indexname, indexdef FROM pg_indexes
    WHERE tablename IN ('people_contact', 'stages_lead', 'stages_leadtransition',
        'people_visitor', 'tracking_event')
    ORDER BY 1, 2, 3
"""


def _canonical(definition: str) -> str:
    """A key's definition without its casts, parentheses and spaces: PostgreSQL prints a
    predicate built again from its own printout with other (equivalent) casts, e.g.
    `stage::text = ANY ((ARRAY['mql'::character varying])::text[])` becomes
    `stage::text = ANY (ARRAY[('mql'::character varying)::text])`."""
    return re.sub(r"[()\s]", "", re.sub(r"::[\w ]+(\[\])?", "", definition))


def _keys() -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(_KEYS)
        return [(table, name, _canonical(definition)) for table, name, definition in cursor]


# Small sizes keep every key while they write; large ones (here forced) load without them and
# build them again at the end, in two parallel lines of work: the same data either way.
@pytest.fixture(params=["keys kept", "bulk"])
def generated(request, transactional_db, make_user, monkeypatch):
    # The generator writes through its own connections: the rows must be committed for it, and
    # a transactional test flushes them afterwards.
    if request.param == "bulk":
        monkeypatch.setattr(generator, "BIG_LEADS", 1)
        monkeypatch.setattr(generator, "BIG_EVENTS", 1)
    keys = _keys()
    source = WriteKey.objects.create(name="Benchmark")
    sdr, ae = make_user("sdr", "sdr"), make_user("ae", "ae")
    result = generate(
        django_conninfo(),
        leads=LEADS,
        events=EVENTS,
        source_id=source.pk,
        sdr_ids=[sdr.pk],
        ae_ids=[ae.pk],
        seed=0.1,
    )
    assert _keys() == keys
    return result


def _one(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_the_generator_makes_the_sizes_it_was_asked_for(generated):
    assert Lead.objects.count() == LEADS == generated.leads
    assert Contact.objects.count() == LEADS
    assert abs(Event.objects.count() - EVENTS) < EVENTS * 0.1
    assert Event.objects.count() == generated.events


def test_most_visitors_never_identify(generated):
    anonymous = Visitor.objects.filter(contact__isnull=True).count()
    assert anonymous > 0.6 * Visitor.objects.count()
    assert Event.objects.filter(lead__isnull=True).exists()


def test_a_few_percent_become_customers_weeks_after_they_came(generated):
    by_stage = {stage: Lead.objects.filter(stage=stage).count() for stage in
                ("lead", "mql", "sql", "customer", "disqualified")}  # fmt: skip
    assert by_stage["lead"] > 0.6 * LEADS
    assert 0 < by_stage["customer"] < 0.08 * LEADS
    assert by_stage["mql"] + by_stage["sql"] + by_stage["customer"] < 0.3 * LEADS
    for lead in Lead.objects.filter(stage="customer"):
        assert (lead.became_customer_at - lead.became_lead_at).days >= 1
        assert lead.owner_id is not None and lead.deal_value


def test_every_stage_a_lead_entered_has_its_transition(generated):
    assert LeadTransition.objects.filter(name="identify").count() == LEADS
    customers = Lead.objects.filter(stage="customer").count()
    assert LeadTransition.objects.filter(name="win", target="customer").count() == customers
    assert (
        _one(
            "SELECT count(*) FROM stages_lead l WHERE l.became_mql_at IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM stages_leadtransition t WHERE t.lead_id = l.id AND t.name = 'qualify')"
        )
        == 0
    )


def test_each_lead_identifies_once_from_its_own_browser(generated):
    assert Event.objects.filter(type="identify").count() == LEADS
    # The identify call's browser is the contact's visitor, its traits the contact's email,
    # and the lead owns it.
    assert (
        _one(
            """
        SELECT count(*) FROM tracking_event e
        JOIN stages_lead l ON l.id = e.lead_id
        JOIN people_contact c ON c.id = l.contact_id
        JOIN people_visitor v ON v.anonymous_id = e.anonymous_id AND v.contact_id = c.id
        WHERE e.type = 'identify' AND e.extra -> 'traits' ->> 'email' = c.email
            AND e.user_id = c.user_id
        """
        )
        == LEADS
    )


def test_alias_calls_link_the_browser_to_the_user_id(generated):
    aliases = Event.objects.filter(type="alias")
    assert aliases.exists()
    assert (
        _one(
            """
        SELECT count(*) FROM tracking_event e
        JOIN stages_lead l ON l.id = e.lead_id
        JOIN people_contact c ON c.id = l.contact_id
        JOIN people_visitor v ON v.contact_id = c.id
        WHERE e.type = 'alias' AND e.extra ->> 'previousId' = v.anonymous_id
            AND e.user_id = c.user_id AND c.user_id <> ''
        """
        )
        == aliases.count()
    )


def test_a_leads_history_before_it_identified_is_anonymous_but_attached(generated):
    # Visits before the identify carry no user id and belong to the lead all the same.
    assert (
        _one(
            """
        SELECT count(*) FROM tracking_event e JOIN stages_lead l ON l.id = e.lead_id
        WHERE e.occurred_at < l.became_lead_at - interval '1 hour' AND e.user_id = ''
        """
        )
        > 0
    )


def test_events_are_stored_in_about_the_order_they_happened(generated):
    # Ids follow time within a slice of sessions: the correlation is strong.
    assert _one("SELECT corr(id, extract(epoch FROM occurred_at)) > 0.9 FROM tracking_event")


def test_browsers_are_first_and_last_seen_at_their_first_and_last_visit(generated):
    # A browser is seen from the start of its first visit to the start of its last (its
    # events follow within the visit); a lead's last event is the last one it received.
    assert (
        _one(
            """
        SELECT count(*) FROM people_visitor v
        JOIN (SELECT anonymous_id, min(occurred_at) AS first, max(occurred_at) AS last
              FROM tracking_event GROUP BY anonymous_id) e USING (anonymous_id)
        WHERE e.first >= v.first_seen_at AND e.first < v.first_seen_at + interval '1 minute'
            AND e.last >= v.last_seen_at AND e.last < v.last_seen_at + interval '2 hours'
        """
        )
        == Visitor.objects.count()
    )
    assert (
        _one(
            """
        SELECT count(*) FROM stages_lead l
        JOIN (SELECT lead_id, max(received_at) AS last FROM tracking_event GROUP BY lead_id) e
            ON e.lead_id = l.id
        WHERE l.last_event_at = e.last
        """
        )
        == LEADS
    )


def test_message_ids_are_analytics_js_ones_stamped_with_the_event_time(generated):
    # `ajs-next-<epoch ms>-<unique part>`, as analytics.js makes them: the ids sort by time.
    assert (
        _one(
            """
        SELECT count(*) FROM tracking_event
        WHERE split_part(message_id, '-', 3)::bigint
            = floor(extract(epoch FROM occurred_at) * 1000)::bigint
        """
        )
        == Event.objects.count()
    )


def test_without_events_everything_else_is_written(transactional_db, monkeypatch):
    # The lead side timed apart (`python -m bench.generate --no-events`), loaded in bulk.
    monkeypatch.setattr(generator, "BIG_LEADS", 1)
    keys = _keys()
    source = WriteKey.objects.create(name="Benchmark")
    result = generate(
        django_conninfo(),
        leads=LEADS,
        events=EVENTS,
        source_id=source.pk,
        sdr_ids=[],
        ae_ids=[],
        write_events=False,
    )
    assert _keys() == keys
    assert "events" not in result.steps
    assert not Event.objects.exists()
    assert Lead.objects.count() == Contact.objects.count() == LEADS
    assert Visitor.objects.count() == result.visitors
    assert LeadTransition.objects.filter(name="identify").count() == LEADS
    assert not Lead.objects.filter(last_event_at__isnull=True).exists()
