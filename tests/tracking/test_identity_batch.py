"""Identify and alias calls are resolved for a whole batch at once, with the same outcome as one
call at a time: same contacts, leads, visitors, attached history and transitions."""

from __future__ import annotations

import datetime as dt
import json
from unittest import mock

from django.apps import apps
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.people.models import Contact, ContactMerge, Visitor
from leadflow.tracking.models import Event
from leadflow.tracking.services import events_ingest
from stages.models import Lead, LeadTransition, Stage
from stages.services import lead_transition

from . import legacy_identity
from .messages import alias, identify, message_id, page, typed


def _queries(send, body: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = send("/v1/batch", body)
    assert response.status_code == 200, response.content
    return len(queries)


def _identifies(n: int, start: int = 0, **extra) -> list[dict]:
    return [
        typed(
            "identify",
            {
                **identify(
                    f"person{i}@example.com", f"browser-{i}", firstName=f"P{i}", title="CTO"
                ),
                "userId": f"user-{i}",
                **extra,
            },
        )
        for i in range(start, start + n)
    ]


# Savepoint, visitors, the people the calls name (one query), new contacts, their leads, one
# statement for links, identify transitions and attached history, the store (contacts by user
# id, leads, insert, the leads' update), release. The write key is cached in the process. The
# journeys of the identified leads are refreshed by a worker after commit (`reports.queue`).
NEW_PEOPLE_QUERIES = 8


def _warm(send) -> None:
    """The first call of a process reads its write key: pinned counts start after it."""
    assert send("/v1/page", page("warm-up")).status_code == 200


def test_a_batch_of_new_people_costs_the_same_queries_whatever_its_size(db, send):
    _warm(send)
    assert _queries(send, {"batch": _identifies(3)}) == NEW_PEOPLE_QUERIES
    assert _queries(send, {"batch": _identifies(100, start=10)}) == NEW_PEOPLE_QUERIES

    assert Contact.objects.count() == Lead.objects.count() == 103
    assert Lead.objects.filter(stage=Stage.LEAD).count() == 103
    assert LeadTransition.objects.filter(name="identify", actor="tracking").count() == 103
    assert Visitor.objects.filter(contact__isnull=False).count() == 103


def test_a_batch_of_known_people_updating_their_traits_costs_the_same_queries(db, send):
    send("/v1/batch", {"batch": _identifies(100)})
    small = [typed("identify", {**m, "messageId": message_id()}) for m in _identifies(3)]
    for message in small:
        message["traits"]["company"] = "Acme"
    large = [typed("identify", {**m, "messageId": message_id()}) for m in _identifies(100)]
    for message in large:
        message["traits"]["company"] = "Initech"

    # Savepoint, visitors, the people, their update, the store, release: no contact or lead to
    # create, no link to make.
    assert _queries(send, {"batch": small}) == 6
    assert _queries(send, {"batch": large}) == 6

    assert set(Contact.objects.values_list("company", flat=True)) == {"Initech"}


def test_a_batch_of_aliases_costs_the_same_queries_whatever_its_size(db, send):
    def aliases(n: int, start: int) -> list[dict]:
        pages = [typed("page", page(f"anon-{i}")) for i in range(start, start + n)]
        return [
            *pages,
            *(typed("alias", alias(f"user-{i}", f"anon-{i}")) for i in range(start, start + n)),
        ]

    send("/v1/batch", {"batch": aliases(2, 0)})  # warm: the first call of a test costs more
    assert _queries(send, {"batch": aliases(3, 10)}) == _queries(send, {"batch": aliases(100, 100)})
    assert not Event.objects.filter(lead__isnull=True).exists()
    assert Contact.objects.filter(user_id__startswith="user-").count() == 105


def test_the_batch_identify_is_the_state_machines_identify(
    db, send, django_capture_on_commit_callbacks
):
    send("/v1/identify", {"messageId": "m1", "userId": "u-1", "traits": {}})
    send("/v1/identify", {"messageId": "m2", "userId": "u-2", "traits": {}})
    by_hand = Lead.objects.get(contact__user_id="u-1")
    Contact.objects.filter(pk=by_hand.contact_id).update(email="one@example.com")
    by_hand.refresh_from_db()
    lead_transition(lead=by_hand, name="identify", by="tracking", reason="identify m3")

    with django_capture_on_commit_callbacks(execute=True):
        send("/v1/identify", {"messageId": "m3", "userId": "u-2", "traits": {"email": "t@x.com"}})

    fields = [
        "stage",
        "status",
        "is_cooling",
        "follow_up_on",
        "became_mql_at",
        "disqualified_at",
    ]
    by_hand, by_batch = (Lead.objects.get(contact__user_id=user) for user in ("u-1", "u-2"))
    assert [getattr(by_batch, f) for f in fields] == [getattr(by_hand, f) for f in fields]
    assert by_batch.became_lead_at is not None
    assert by_batch.stage_changed_at == by_batch.became_lead_at
    records = [
        LeadTransition.objects.values(
            "name", "field", "source", "target", "by", "actor", "reason", "data"
        ).get(lead=lead)
        for lead in (by_hand, by_batch)
    ]
    assert records[0] == records[1]
    if apps.is_installed("leadflow.reports"):
        # The reports' receiver of the transition ran for the batch too (a worker's task, once
        # the batch committed).
        from leadflow.reports.models import LeadJourney

        journeys = {j.lead_id: j for j in LeadJourney.objects.all()}
        for lead in (by_hand, by_batch):
            assert abs(journeys[lead.pk].lead_at - lead.became_lead_at) < dt.timedelta(seconds=1)


def test_an_old_email_in_a_batch_finds_the_survivor_of_a_merge(db, send):
    survivor = Contact.objects.create(email="ann@new.example")
    ContactMerge.objects.create(survivor=survivor, merged_contact_id=999, merged_email="ann@old.ex")

    send(
        "/v1/batch",
        {"batch": [typed("identify", identify("Ann@Old.ex", f"dev-{n}")) for n in range(3)]},
    )

    assert Contact.objects.count() == 1
    assert set(Visitor.objects.values_list("contact", flat=True)) == {survivor.pk}
    assert Lead.objects.get().contact == survivor


def test_a_user_id_handed_from_one_person_to_another_in_one_batch_lands_right(db, send):
    send("/v1/identify", {**identify("a@example.com", "dev-a"), "userId": "A"})
    send("/v1/identify", {**identify("b@example.com", "dev-b"), "userId": "B"})

    # B's person moves to C, then A's person takes B: one UPDATE could not order the two moves.
    response = send(
        "/v1/batch", {"batch": [typed("alias", alias("C", "B")), typed("alias", alias("B", "A"))]}
    )

    assert response.status_code == 200
    assert dict(Contact.objects.values_list("email", "user_id")) == {
        "a@example.com": "B",
        "b@example.com": "C",
    }


# -- the same outcome as one call at a time, over random batches --

EMAILS = ["ann@x.com", "ANN@x.com", "bob@x.com", "old@x.com", "keep@x.com", ""]
USER_IDS = ["", "u1", "u2", "u3"]
ANONYMOUS_IDS = ["", "a1", "a2", "a3"]


@st.composite
def calls(draw) -> dict:
    kind = draw(st.sampled_from(["identify", "identify", "alias", "page", "track"]))
    base = {"type": kind, "messageId": message_id()}
    anonymous_id, user_id = draw(st.sampled_from(ANONYMOUS_IDS)), draw(st.sampled_from(USER_IDS))
    if anonymous_id:
        base["anonymousId"] = anonymous_id
    if user_id:
        base["userId"] = user_id
    if kind == "identify":
        traits = {}
        if email := draw(st.sampled_from(EMAILS)):
            traits["email"] = email
        if name := draw(st.sampled_from(["", "Ann", "Bob"])):
            traits["firstName"] = name
        if draw(st.booleans()):
            traits["plan"] = draw(st.sampled_from(["free", "pro"]))
        return {**base, "traits": traits}
    if kind == "alias":
        previous = draw(st.sampled_from([*USER_IDS[1:], *ANONYMOUS_IDS[1:]]))
        return {**base, "userId": user_id or "u1", "previousId": previous}
    context = {"page": {"url": "https://x.test/", "referrer": "https://www.google.com/"}}
    if kind == "track":
        return {**base, "event": "Clicked", "context": context}
    return {**base, "properties": {"url": "https://x.test/p"}, "context": context}


def _snapshot() -> dict:
    def who(contact_id):
        if contact_id is None:
            return None
        contact = Contact.objects.get(pk=contact_id)
        return (contact.email, contact.user_id)

    leads = {lead.pk: who(lead.contact_id) for lead in Lead.objects.all()}
    return {
        "contacts": sorted(
            (c.email, c.user_id, c.first_name, json.dumps(c.traits, sort_keys=True))
            for c in Contact.objects.all()
        ),
        "leads": sorted(
            (
                leads[lead.pk],
                lead.stage,
                lead.created_at,
                lead.first_touch_source,
                lead.last_touch_source,
                lead.last_event_at is not None,
            )
            for lead in Lead.objects.all()
        ),
        "visitors": sorted((v.anonymous_id, who(v.contact_id)) for v in Visitor.objects.all()),
        "events": sorted((e.message_id, leads.get(e.lead_id)) for e in Event.objects.all()),
        "transitions": sorted(
            (leads[t.lead_id], t.name, t.source, t.target, t.actor, t.reason)
            for t in LeadTransition.objects.all()
        ),
    }


class _Rollback(Exception):
    pass


def _outcome(write_key, before: list[dict], batch: list[dict], now, *, one_by_one: bool) -> dict:
    try:
        with transaction.atomic():
            survivor = Contact.objects.create(email="keep@x.com")
            ContactMerge.objects.create(
                survivor=survivor, merged_contact_id=0, merged_email="old@x.com"
            )
            with mock.patch(
                "leadflow.tracking.services.identities_resolve",
                legacy_identity.identities_resolve_one_by_one,
            ):
                events_ingest(source=write_key, raws=before, received_at=now)
            if one_by_one:
                with mock.patch(
                    "leadflow.tracking.services.identities_resolve",
                    legacy_identity.identities_resolve_one_by_one,
                ):
                    events_ingest(source=write_key, raws=batch, received_at=now)
            else:
                events_ingest(source=write_key, raws=batch, received_at=now)
            snapshot = _snapshot()
            raise _Rollback
    except _Rollback:
        return snapshot


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(before=st.lists(calls(), max_size=6), batch=st.lists(calls(), min_size=1, max_size=12))
def test_a_batch_resolves_people_exactly_as_one_call_at_a_time(db, write_key, before, batch):
    now = timezone.now()
    expected = _outcome(write_key, before, batch, now, one_by_one=True)

    assert _outcome(write_key, before, batch, now, one_by_one=False) == expected


def test_the_batch_identify_follows_every_receiver_of_a_transition():
    # The batch identifies many leads in one statement, not through django-fsm's signal: what
    # each receiver does for a transition must be done there too
    # (stages.services.FOLLOWED_RECEIVERS).
    from django_fsm.signals import post_transition

    from stages.services import FOLLOWED_RECEIVERS

    sync, async_ = post_transition._live_receivers(Lead)
    names = {f"{r.__module__}.{r.__qualname__}" for r in [*sync, *async_]}

    assert names <= FOLLOWED_RECEIVERS
