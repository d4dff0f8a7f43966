"""Who the identify and alias calls of an ingest are: set-based, a few statements a batch.

The calls are resolved in Python, one after the other in the order they came, over what one
query loaded of the people they name; the outcome is then written with one statement for each
kind of change, however many calls the batch holds:

- a contact is found by email (any case), then by a merged-away email (the survivor), then by
  user id, then by the browser's visitor; else one is made (with an email or a user id only);
- a contact's lead is made when it has none, and a visitor lead with an email is identified;
- a browser that identifies becomes the contact's visitor, and its anonymous history the lead's;
  calls under a user id that nobody had join the contact that takes it;
- an alias links previousId (an anonymous id or a former user id) to userId's contact; two known
  contacts are never merged.

A concurrent request may create the same person between the load and the writes: the unique
indexes refuse the second one, and `IdentityRace` asks the caller to run the ingest again, which
then finds that person.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from leadflow.lib.prepared import prepared_cursor
from leadflow.people.models import Contact, ContactMerge, Visitor
from stages.models import Lead, LeadTransition, Source, Stage, Status
from stages.services import transitions_follow

from .messages import TRAIT_FIELDS, Message
from .models import Event

FIELDS = tuple(dict.fromkeys(TRAIT_FIELDS.values()))  # first_name, last_name, company, ...
# A stored event's attribution facts, as attaching history returns them:
# (lead id, type, url, occurred_at, context.page, context.campaign, properties.referrer).
HistoryRow = tuple[int, str, str, dt.datetime, Any, Any, Any]


class IdentityRace(Exception):
    """Another transaction created one of these people first: run the ingest again."""


@dataclass(eq=False)
class _Person:
    """A contact as the batch leaves it: what it was, and what changes."""

    pk: int | None
    email: str
    user_id: str
    fields: dict[str, str]
    lead_id: int | None = None
    stage: str | None = None  # of the lead; None: no lead yet
    lead_created_at: dt.datetime | None = None  # of a lead to make
    dirty: set[str] = field(default_factory=set)
    # A new contact's traits, or those to merge into an existing contact's.
    traits: dict[str, Any] = field(default_factory=dict)
    identify_reason: str = ""  # set when the batch identifies the lead

    @property
    def is_new(self) -> bool:
        return self.pk is None


@dataclass
class _Batch:
    """The people of the batch, indexed as the database would find them after each call."""

    by_email: dict[str, _Person] = field(default_factory=dict)
    merged: dict[str, _Person] = field(default_factory=dict)
    by_user: dict[str, _Person] = field(default_factory=dict)
    # Browsers of the messages themselves, as the ingest's visitor upsert returned them: a link
    # is made again only where this says another contact (the original code's check).
    known: dict[str, _Person | None] = field(default_factory=dict)
    # Every browser's contact as stored (with previousIds too): how an alias finds a visitor.
    stored: dict[str, _Person | None] = field(default_factory=dict)
    links: dict[str, _Person] = field(default_factory=dict)
    # Unattached history claimed for a lead, in the order of the calls: ("anonymous_id" or
    # "user_id", its value, person). For one event the first claim wins.
    claims: list[tuple[str, str, _Person]] = field(default_factory=list)
    new: list[_Person] = field(default_factory=list)
    touched: dict[_Person, None] = field(default_factory=dict)  # an ordered set
    freed_user_ids: set[str] = field(default_factory=set)

    def person_new(self, message: Message, *, email: str, user_id: str) -> _Person:
        person = _Person(
            pk=None,
            email=email,
            user_id=user_id,
            fields=dict(message.contact_fields),
            traits=dict(message.traits),
        )
        self.new.append(person)
        if email:
            self.by_email[email] = person
        if user_id:
            self.by_user[user_id] = person
        return person

    def lead_of(self, person: _Person, message: Message) -> None:
        if person.stage is None:
            person.stage = Stage.VISITOR
            person.lead_created_at = message.occurred_at
        self.touched[person] = None

    def link(self, anonymous_id: str, person: _Person) -> None:
        """Make the browser the contact's; its anonymous history becomes the lead's."""
        if self.known.get(anonymous_id) is person:
            return
        self.known[anonymous_id] = self.stored[anonymous_id] = person
        self.links.pop(anonymous_id, None)  # the last link is the one that stays
        self.links[anonymous_id] = person
        self.claims.append(("anonymous_id", anonymous_id, person))


def identities_resolve(
    messages: list[Message], visitors: dict[str, int | None], received_at: dt.datetime
) -> list[HistoryRow]:
    """Attach the people of the identify and alias calls among `messages`.

    `visitors` (anonymous id → contact id, from the ingest's visitor upsert) is brought up to
    date with the links made. Returns the history given to leads, for attribution and scoring.
    """
    calls = [m for m in messages if m.type in ("identify", "alias")]
    history: list[HistoryRow] = []
    while calls:
        calls = _segment_resolve(calls, visitors, history, received_at)
    return history


def _segment_resolve(
    calls: list[Message],
    visitors: dict[str, int | None],
    history: list[HistoryRow],
    received_at: dt.datetime,
) -> list[Message]:
    """Resolve and write as many calls as one set of statements can; return those left.

    Only a batch that hands a user id from one known contact to another and back (an alias
    chain) is cut in two: one UPDATE could not order those moves around the unique index.
    """
    batch = _load(calls, visitors)
    done = 0
    for message in calls:
        if message.user_id in batch.freed_user_ids:
            break  # never on the first call: nothing is freed yet
        if message.type == "identify":
            _identify(batch, message)
        else:
            _alias(batch, message)
        done += 1
    _write(batch, received_at, history)
    for anonymous_id, person in batch.links.items():
        visitors[anonymous_id] = person.pk
    return calls[done:]


def _load(calls: list[Message], visitors: dict[str, int | None]) -> _Batch:
    """One query: the contacts (and leads) that the calls may name, by every way they name one."""
    emails = sorted({m.email for m in calls if m.email})
    user_ids = sorted(
        {m.user_id for m in calls if m.user_id} | {m.previous_id for m in calls if m.previous_id}
    )
    previous_ids = sorted({m.previous_id for m in calls if m.previous_id})
    anonymous_ids = {m.anonymous_id for m in calls if m.anonymous_id}
    contact_ids = sorted({visitors[a] for a in anonymous_ids if visitors.get(a)})
    people: dict[int, _Person] = {}
    batch = _Batch()
    if emails or user_ids or contact_ids:
        columns = ", ".join(f"c.{name}" for name in FIELDS)
        with prepared_cursor() as cursor:
            cursor.execute(
                f"""
                WITH merged AS (
                    SELECT DISTINCT ON (merged_email) merged_email, survivor_id
                    FROM {ContactMerge._meta.db_table}
                    WHERE merged_email = ANY(%(emails)s)
                    ORDER BY merged_email, id DESC
                ), seen AS (
                    SELECT anonymous_id, contact_id FROM {Visitor._meta.db_table}
                    WHERE anonymous_id = ANY(%(previous_ids)s) AND contact_id IS NOT NULL
                )
                SELECT c.id, lower(c.email), c.user_id, {columns}, l.id, l.stage,
                       ARRAY(SELECT merged_email FROM merged WHERE survivor_id = c.id),
                       ARRAY(SELECT anonymous_id FROM seen WHERE contact_id = c.id)
                FROM {Contact._meta.db_table} c
                LEFT JOIN {Lead._meta.db_table} l ON l.contact_id = c.id
                WHERE c.id IN (
                    SELECT id FROM {Contact._meta.db_table}
                    WHERE lower(email) = ANY(%(emails)s) AND email <> ''
                    UNION ALL
                    SELECT id FROM {Contact._meta.db_table}
                    WHERE user_id = ANY(%(user_ids)s) AND user_id <> ''
                    UNION ALL SELECT unnest(%(contact_ids)s::bigint[])
                    UNION ALL SELECT survivor_id FROM merged
                    UNION ALL SELECT contact_id FROM seen
                )
                """,
                {
                    "emails": emails,
                    "user_ids": user_ids,
                    "contact_ids": contact_ids,
                    "previous_ids": previous_ids,
                },
            )
            rows = cursor.fetchall()
        for pk, email, user_id, *values, lead_id, stage, merged, seen in rows:
            person = _Person(
                pk=pk,
                email=email,
                user_id=user_id,
                fields=dict(zip(FIELDS, values[: len(FIELDS)], strict=True)),
                lead_id=lead_id,
                stage=stage,
            )
            people[pk] = person
            if email:
                batch.by_email[email] = person
            if user_id:
                batch.by_user[user_id] = person
            for merged_email in merged:
                batch.merged[merged_email] = person
            for anonymous_id in seen:
                batch.stored[anonymous_id] = person
    for anonymous_id in anonymous_ids:
        contact_id = visitors.get(anonymous_id)
        batch.known[anonymous_id] = batch.stored[anonymous_id] = (
            people.get(contact_id) if contact_id else None
        )
    return batch


def _identify(batch: _Batch, message: Message) -> None:
    """Find or make the message's person, update it, and attach its browser and history."""
    person = None
    if message.email:
        person = batch.by_email.get(message.email) or batch.merged.get(message.email)
    if person is None and message.user_id:
        person = batch.by_user.get(message.user_id)
    if person is None and message.anonymous_id:
        person = batch.known.get(message.anonymous_id)
    created = False
    if person is None:
        if not (message.email or message.user_id):
            return  # traits of a still anonymous visitor: nothing to attach yet
        person = batch.person_new(message, email=message.email, user_id=message.user_id)
        created = True
    changed = False
    new_user_id = created and bool(person.user_id)
    if message.email and not person.email:
        person.email, changed = message.email, True
        person.dirty.add("email")
        batch.by_email[message.email] = person
    # A user id already held by another contact stays there: taking it would break its uniqueness.
    if message.user_id and not person.user_id and message.user_id not in batch.by_user:
        person.user_id, changed, new_user_id = message.user_id, True, True
        person.dirty.add("user_id")
        batch.by_user[message.user_id] = person
    for name, value in message.contact_fields.items():
        if person.fields.get(name) != value:
            person.fields[name] = value
            person.dirty.add(name)
            changed = True
    if changed and not created:
        person.traits.update(message.traits)
        person.dirty.add("traits")
    batch.lead_of(person, message)
    if person.stage == Stage.VISITOR and person.email:
        person.stage = Stage.LEAD
        person.identify_reason = f"identify {message.message_id}"
    if message.anonymous_id:
        batch.link(message.anonymous_id, person)
    if new_user_id:
        # Calls under this user id that came before anyone had it wait unattached: they join now.
        batch.claims.append(("user_id", person.user_id, person))


def _alias(batch: _Batch, message: Message) -> None:
    """Link previousId to userId's contact; its history joins that contact."""
    target = batch.by_user.get(message.user_id)
    previous = batch.by_user.get(message.previous_id) or batch.stored.get(message.previous_id)
    new_user_id = target is None
    if target is None and previous is not None and previous.user_id in ("", message.previous_id):
        # The person changes user id (or gets one): the contact follows the new id.
        if previous.user_id:
            del batch.by_user[previous.user_id]
            if not previous.is_new:
                batch.freed_user_ids.add(previous.user_id)
        previous.user_id = message.user_id
        previous.dirty.add("user_id")
        batch.by_user[message.user_id] = previous
        target = previous
    elif target is None:
        target = batch.person_new(message, email=message.email, user_id=message.user_id)
    batch.lead_of(target, message)
    if new_user_id:
        batch.claims.append(("user_id", message.user_id, target))
    if previous is None or previous is target:
        batch.link(message.previous_id, target)
        batch.claims.append(("user_id", message.previous_id, target))
    if message.anonymous_id and not batch.known.get(message.anonymous_id):
        batch.link(message.anonymous_id, target)


def _write(batch: _Batch, received_at: dt.datetime, history: list[HistoryRow]) -> None:
    _contacts_update([p for p in batch.touched if not p.is_new and p.dirty])
    _contacts_insert(batch.new)
    _leads_create([p for p in batch.touched if p.lead_id is None])
    history.extend(_links_write(batch, received_at))


def _contacts_update(people: list[_Person]) -> None:
    """Write the changed fields of existing contacts, all in one statement (NULL: unchanged)."""
    if not people:
        return
    names = ("email", "user_id", *FIELDS)
    columns = [[p.pk for p in people]]
    for name in names:
        columns.append(
            [
                (p.email if name == "email" else p.user_id if name == "user_id" else p.fields[name])
                if name in p.dirty
                else None
                for p in people
            ]
        )
    columns.append([json.dumps(p.traits) if "traits" in p.dirty else None for p in people])
    sets = ", ".join(f"{name} = COALESCE(v.{name}, c.{name})" for name in names)
    table = Contact._meta.db_table
    with prepared_cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} AS c SET {sets},
                traits = CASE WHEN v.traits IS NULL THEN c.traits ELSE c.traits || v.traits END,
                updated_at = now()
            FROM unnest(%s::bigint[], {", ".join(["%s::text[]"] * len(names))}, %s::jsonb[])
                AS v(id, {", ".join(names)}, traits)
            WHERE c.id = v.id
            """,
            columns,
        )


def _contacts_insert(people: list[_Person]) -> None:
    """Create the new contacts in one statement; a unique index that refuses one is a race."""
    if not people:
        return
    names = ("email", "user_id", *FIELDS)
    columns = [
        [p.email for p in people],
        [p.user_id for p in people],
        *([p.fields.get(name, "") for p in people] for name in FIELDS),
        [json.dumps(p.traits) for p in people],
    ]
    table = Contact._meta.db_table
    with prepared_cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} ({", ".join(names)}, traits, created_at, updated_at)
            SELECT *, now(), now()
            FROM unnest({", ".join(["%s::text[]"] * len(names))}, %s::jsonb[])
            ON CONFLICT DO NOTHING
            RETURNING id, email, user_id
            """,
            columns,
        )
        rows = cursor.fetchall()
    if len(rows) != len(people):
        raise IdentityRace("a contact of this batch was created by another request")
    # Each new person has an email or a user id, and no two of them share one.
    created = {email or f"\0{user_id}": pk for pk, email, user_id in rows}
    for person in people:
        person.pk = created[person.email or f"\0{person.user_id}"]


def _leads_create(people: list[_Person]) -> None:
    """Give their lead to the contacts that have none; a lead made meanwhile is a race."""
    if not people:
        return
    leads = Lead.objects.bulk_create(
        [
            Lead(contact_id=p.pk, source=Source.TRACKING, created_at=p.lead_created_at)
            for p in people
        ]
    )
    for person, lead in zip(people, leads, strict=True):
        person.lead_id = lead.pk


def _links_write(batch: _Batch, seen_at: dt.datetime) -> list[HistoryRow]:
    """One statement for the rest: link the browsers, identify the visitor leads with an email
    (the guard and the record of `Lead.identify` through `lead_transition`), and give the
    unattached history of the browsers and user ids to the leads; return that history."""
    links = sorted((a, p.pk) for a, p in batch.links.items())  # in the order rows are locked
    # In id order, as every statement that writes many leads locks them (see _events_store).
    identified = sorted((p.lead_id, p.identify_reason) for p in batch.touched if p.identify_reason)
    # The first claim of an id takes all its events: a later one would find none left. Numbered
    # in call order, so that an event claimed both by its browser and by its user id goes to the
    # first claim, as when each call attached its history in turn.
    first: dict[tuple[str, str], tuple[int, int | None]] = {}
    for kind, value, person in batch.claims:
        if value:
            first.setdefault((kind, value), (len(first), person.lead_id))
    claims_anonymous = [(v, lead, n) for (k, v), (n, lead) in first.items() if k == "anonymous_id"]
    claims_user = [(v, lead, n) for (k, v), (n, lead) in first.items() if k == "user_id"]
    if not (links or identified or first):
        return []
    events, leads = Event._meta.db_table, Lead._meta.db_table
    with prepared_cursor() as cursor:
        cursor.execute(
            f"""
            WITH linked AS (
                INSERT INTO {Visitor._meta.db_table}
                    (anonymous_id, contact_id, first_seen_at, last_seen_at)
                SELECT v.anonymous_id, v.contact_id, %(seen_at)s, %(seen_at)s
                FROM unnest(%(link_ids)s::text[], %(link_contacts)s::bigint[])
                    AS v(anonymous_id, contact_id)
                ON CONFLICT (anonymous_id) DO UPDATE SET contact_id = EXCLUDED.contact_id
            ), moved AS (
                -- Lead.identify: visitor to lead, as ConcurrentTransitionMixin guards it.
                UPDATE {leads} SET stage = %(lead)s, status = %(no_status)s,
                    stage_changed_at = %(now)s, became_lead_at = %(now)s,
                    is_cooling = false, follow_up_on = NULL
                WHERE id = ANY(%(identify_ids)s) AND stage = %(visitor)s
                RETURNING id
            ), recorded AS (
                INSERT INTO {LeadTransition._meta.db_table}
                    (lead_id, name, field, source, target, actor, reason, data, created_at)
                SELECT v.id, 'identify', 'stage', %(visitor)s, %(lead)s, 'tracking', v.reason,
                       %(data)s::jsonb, %(now)s
                FROM unnest(%(identify_ids)s::bigint[], %(reasons)s::text[]) AS v(id, reason)
                JOIN moved USING (id)
            ), attached AS (
                UPDATE {events} AS e SET lead_id = claim.lead_id
                FROM (
                    SELECT DISTINCT ON (id) id, lead_id FROM (
                        SELECT ev.id, c.lead_id, c.n
                        FROM unnest(%(anonymous)s::text[], %(anonymous_leads)s::bigint[],
                                    %(anonymous_n)s::int[]) AS c(value, lead_id, n)
                        JOIN {events} ev ON ev.anonymous_id = c.value AND ev.lead_id IS NULL
                        UNION ALL
                        SELECT ev.id, c.lead_id, c.n
                        FROM unnest(%(users)s::text[], %(user_leads)s::bigint[],
                                    %(user_n)s::int[]) AS c(value, lead_id, n)
                        JOIN {events} ev
                            ON ev.user_id = c.value AND ev.lead_id IS NULL AND ev.user_id <> ''
                    ) AS claims
                    ORDER BY id, n
                ) AS claim
                WHERE e.id = claim.id
                RETURNING e.lead_id, e.type, e.url, e.occurred_at, e.context -> 'page',
                          e.context -> 'campaign', e.properties -> 'referrer'
            )
            SELECT true, * FROM attached
            UNION ALL
            SELECT false, id, NULL, NULL, NULL, NULL, NULL, NULL FROM moved
            """,
            {
                "seen_at": seen_at,
                "now": seen_at,
                "link_ids": [a for a, _ in links],
                "link_contacts": [pk for _, pk in links],
                "lead": Stage.LEAD,
                "visitor": Stage.VISITOR,
                "no_status": Status.NONE,
                "identify_ids": [pk for pk, _ in identified],
                "reasons": [reason for _, reason in identified],
                "data": json.dumps({"status": Status.NONE.value}),
                "anonymous": [v for v, _, _ in claims_anonymous],
                "anonymous_leads": [lead for _, lead, _ in claims_anonymous],
                "anonymous_n": [n for _, _, n in claims_anonymous],
                "users": [v for v, _, _ in claims_user],
                "user_leads": [lead for _, lead, _ in claims_user],
                "user_n": [n for _, _, n in claims_user],
            },
        )
        rows = cursor.fetchall()
    moved = [row[1] for row in rows if not row[0]]
    if moved:
        # What the receivers of `Lead.identify` do besides the audit record (written above),
        # once for all the leads the batch identified.
        transitions_follow(lead_ids=moved, later=True)
    return [tuple(row[1:]) for row in rows if row[0]]
