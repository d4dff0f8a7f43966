"""Load a demo plan: the website's history in bulk, then the lifecycle played in time order.

The tracked history (visitors, contacts, leads, events) is written in a few bulk statements from
the plan's Segment messages: identify calls are read by the tracking API's own parser, the other
rows are built as it builds them (a test holds the two together). Everything that moves a lead
then happens through the services, at its moment, with the clock set there by time-machine: the
identify transition when a visitor gives an email, the scoring worker's pass after the visit that
makes a lead an MQL, the reps' actions, the nightly reopening of nurtured MQLs. Every stage change
is therefore a real, audited transition, and every timestamp the services write agrees with the
story. Recording each identify through the live ingest path instead would cost a dozen queries a
lead and a scoring pass per batch; the few visits of sales-sourced contacts still go through it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractUser, Group
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from leadflow.people.models import Contact, Visitor
from leadflow.people.roles import Role, roles_ensure
from leadflow.tracking.activity import activity_fold, activity_pending
from leadflow.tracking.messages import Message, message_parse
from leadflow.tracking.models import Event, WriteKey
from leadflow.tracking.services import events_ingest
from scoring.demo import rules_install
from scoring.services import leads_rescore
from stages.models import Lead, Source, Status
from stages.services import (
    TransitionError,
    attempt_log,
    contact_source_direct,
    lead_book_meeting,
    lead_convert,
    lead_nurture,
    lead_transition,
    lead_win,
)
from stages.tasks import reopen_due_nurtures

from . import data
from .plan import Plan, Step

BULK = 2000  # rows a statement
RESCORE_CHUNK = 500
RECEIVED_AFTER = dt.timedelta(seconds=1)  # how long a message takes to reach the tracking API
DAILY_AT = dt.time(7)  # when the schedule reopens nurtured MQLs whose follow-up date has come


@dataclass
class PlayResult:
    messages: int = 0
    steps: int = 0
    skipped: list[tuple[Step, str]] = field(default_factory=list)


def demo_setup() -> tuple[dict[str, AbstractUser], WriteKey]:
    """Role groups, the demo team, the demo scoring and stage rules, the website's write key."""
    roles_ensure()
    users = {}
    # One hash for all: hashing is slow on purpose, and the demo password is public anyway.
    password = make_password(data.PASSWORD)
    for username, role, first_name, last_name in data.USERS:
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@example.com",
                "is_staff": role == Role.ADMIN,
                "is_superuser": role == Role.ADMIN,
            },
        )
        if created:
            # Only users this loader creates get the well-known demo password.
            user.password = password
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=role))
        users[username] = user
    rules_install()
    key = WriteKey.objects.filter(name=data.WRITE_KEY_NAME).order_by("pk").first()
    if key is None:
        key = WriteKey.objects.create(name=data.WRITE_KEY_NAME, kind=WriteKey.Kind.WEBSITE)
    return users, key


def demo_play(*, plan: Plan, source: WriteKey, users: dict[str, AbstractUser]) -> PlayResult:
    """Load the plan's history, then play its identifies, scoring, visits and actions in order."""
    player = _Player(users)
    # Without a broker the visits' scoring tasks run in process at the commit, a log line each.
    trace_log = logging.getLogger("celery.app.trace")
    level = trace_log.level
    trace_log.setLevel(logging.WARNING)
    try:
        _play(plan, source, player)
    finally:
        trace_log.setLevel(level)
    return PlayResult(
        messages=len(plan.messages) + sum(len(raws) for _, raws in plan.visits),
        steps=len(plan.steps),
        skipped=player.skipped,
    )


def _play(plan: Plan, source: WriteKey, player: _Player) -> None:
    # One transaction: a load that fails half way leaves nothing behind, so the next run starts
    # again from an empty database instead of skipping a half-made demo.
    with time_machine.travel(plan.start, tick=False) as clock, transaction.atomic():
        identifies = _history_load(plan, source)
        timeline: list[tuple[dt.datetime, int, Callable[[], None]]] = []
        day = plan.start.date() + dt.timedelta(days=1)
        while (run_at := dt.datetime.combine(day, DAILY_AT, tzinfo=dt.UTC)) <= plan.end:
            timeline.append((run_at, 0, player.schedule))
            day += dt.timedelta(days=1)
        for when, lead, message_id in identifies:
            timeline.append((when, 1, _identify(player, lead, message_id)))
        for when, raws in plan.visits:
            timeline.append((when, 1, _visit(source, raws, when)))
        for step in plan.steps:
            timeline.append((step.when, 2, _act(player, step)))
        # Stable sort: at the same moment the schedule runs first, then tracking, then people.
        timeline.sort(key=lambda entry: (entry[0], entry[1]))
        for when, _, run in timeline:
            clock.move_to(when)
            run()
        clock.move_to(plan.end)
        # Leads whose score no story needed (most of them) are scored now, as the worker's sweep
        # would. Recycled leads keep the score that made them MQLs: with no time decay in the
        # engine, scoring them again today would make them MQLs again at once.
        unscored = list(Lead.objects.filter(scored_at__isnull=True).values_list("pk", flat=True))
        for offset in range(0, len(unscored), RESCORE_CHUNK):
            leads_rescore(lead_ids=unscored[offset : offset + RESCORE_CHUNK])
        # The touches and newest event time of the others, as the worker's next pass would.
        while pending := activity_pending(RESCORE_CHUNK):
            activity_fold(pending)


# -- the history, in bulk --


@dataclass
class _Person:
    anonymous_id: str
    contact: Contact
    lead: Lead
    identified: tuple[dt.datetime, str] | None = None  # when an email came, and in what message


def _history_load(plan: Plan, source: WriteKey) -> list[tuple[dt.datetime, Lead, str]]:
    """Write visitors, contacts, leads and events as the tracking API would have stored them.

    Identify calls are read by the tracking API's own parser (contact fields, email rules); the
    rest become rows directly (`event_row`), and rows are streamed with COPY. Returns the identify
    transitions still to make: when, on which lead, for which message.
    """
    people: dict[str, _Person] = {}  # by anonymous id
    seen: dict[str, list[dt.datetime]] = {}  # first and last receipt, by anonymous id
    for when, raw in plan.messages:
        received_at = when + RECEIVED_AFTER
        seen.setdefault(raw["anonymousId"], [received_at, received_at])[1] = received_at
        if raw["type"] == "identify":
            message = message_parse(
                raw, type_=None, received_at=when, max_bytes=settings.TRACKING_MAX_MESSAGE_BYTES
            )
            _identify_merge(people, message)
    Contact.objects.bulk_create([person.contact for person in people.values()], batch_size=BULK)
    # created_at is auto_now_add: bulk_create stamps the load's clock, so it is set again here,
    # in one statement (bulk_update would build a CASE of 2,000 branches).
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Contact._meta.db_table} AS contact SET created_at = v.at, updated_at = v.at
            FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) WHERE contact.id = v.id
            """,
            [
                [person.contact.pk for person in people.values()],
                [person.lead.created_at for person in people.values()],
            ],
        )
    for person in people.values():
        person.contact.created_at = person.contact.updated_at = person.lead.created_at
    for person in people.values():
        person.lead.contact = person.contact
        person.lead.last_event_at = seen[person.anonymous_id][1]
    Lead.objects.bulk_create([person.lead for person in people.values()], batch_size=BULK)
    contact_ids = {anonymous_id: person.contact.pk for anonymous_id, person in people.items()}
    _copy(
        Visitor,
        ["anonymous_id", "contact_id", "first_seen_at", "last_seen_at"],
        ["text", "int8", "timestamptz", "timestamptz"],
        (
            (anonymous_id, contact_ids.get(anonymous_id), first, last)
            for anonymous_id, (first, last) in seen.items()
        ),
    )
    lead_ids = {anonymous_id: person.lead.pk for anonymous_id, person in people.items()}
    _copy(
        Event,
        [*EVENT_COLUMNS, "source_id", "lead_id", "received_at"],
        [*EVENT_TYPES, "int8", "int8", "timestamptz"],
        (
            (
                *event_row(when, raw),
                source.pk,
                lead_ids.get(raw["anonymousId"]),
                when + RECEIVED_AFTER,
            )
            for when, raw in plan.messages
        ),
    )
    return sorted(
        (
            (person.identified[0], person.lead, person.identified[1])
            for person in people.values()
            if person.identified
        ),
        key=lambda item: item[0],
    )


EVENT_COLUMNS = [
    "message_id",
    "type",
    "name",
    "url",
    "properties",
    "context",
    "anonymous_id",
    "user_id",
    "occurred_at",
]
EVENT_TYPES = ["text", "text", "text", "text", "jsonb", "jsonb", "text", "text", "timestamptz"]


def event_row(when: dt.datetime, raw: dict[str, Any]) -> tuple[Any, ...]:
    """The stored columns of one of the plan's messages, as `message_parse` reads them."""
    properties = raw.get("properties", {})
    context = raw["context"]
    page = properties if raw["type"] == "page" else context.get("page", {})
    url = page.get("url", "")
    name = raw.get("event" if raw["type"] == "track" else "name", "")
    return (
        raw["messageId"],
        raw["type"],
        name,
        url,
        properties,
        context,
        raw["anonymousId"],
        raw.get("userId", ""),
        when,
    )


def _copy(model: type[Model], columns: list[str], types: list[str], rows: Iterable[tuple]) -> None:
    """Stream rows into the model's table with COPY: the fastest way into PostgreSQL."""
    statement = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _identify_merge(people: dict[str, _Person], message: Message) -> None:
    """Apply an identify call to its browser's person, as `events_ingest` does."""
    person = people.get(message.anonymous_id)
    if person is None:
        if not (message.email or message.user_id):
            return  # traits of a still anonymous visitor
        contact = Contact(
            email=message.email,
            user_id=message.user_id,
            traits=message.traits,
            **message.contact_fields,
        )
        at = message.occurred_at
        lead = Lead(source=Source.TRACKING, created_at=at, stage_changed_at=at)
        person = people[message.anonymous_id] = _Person(message.anonymous_id, contact, lead)
    else:
        contact = person.contact
        contact.email = contact.email or message.email
        contact.user_id = contact.user_id or message.user_id
        for name, value in message.contact_fields.items():
            setattr(contact, name, value)
        contact.traits = {**contact.traits, **message.traits}
    if contact.email and person.identified is None:
        person.identified = (message.occurred_at + RECEIVED_AFTER, message.message_id)


# -- the story, in time order --


def _identify(player: _Player, lead: Lead, message_id: str) -> Callable[[], None]:
    return lambda: player.identify(lead, message_id)


def _visit(
    source: WriteKey, raws: list[dict[str, Any]], received_at: dt.datetime
) -> Callable[[], None]:
    def run() -> None:
        result = events_ingest(source=source, raws=raws, received_at=received_at)
        if result.rejected:
            raise RuntimeError(f"demo messages rejected: {result.rejected[:3]}")

    return run


def _act(player: _Player, step: Step) -> Callable[[], None]:
    return lambda: player.act(step)


class _Player:
    """People, tracking and the scoring worker acting on leads, in the story's order.

    The player keeps each lead as the services left it, so a rep's next action needs no query;
    a lead that someone else moved (the scoring worker, the schedule) is read again. Should a
    copy ever be stale, the concurrency guard of the stage fields refuses the save, and the
    lead's story stops there (reported as a skipped step).
    """

    def __init__(self, users: dict[str, AbstractUser]) -> None:
        self.users = users
        self.by_pk = {user.pk: user for user in users.values()}
        self.leads: dict[str, Lead] = {}  # by contact email
        self.stuck: set[str] = set()
        self.skipped: list[tuple[Step, str]] = []

    def identify(self, lead: Lead, message_id: str) -> None:
        # The reason names the message, as the tracking API's own identify does.
        lead_transition(lead=lead, name="identify", by="tracking", reason=f"identify {message_id}")
        self.leads[lead.contact.email] = lead

    def schedule(self) -> None:
        """The nightly task, then forget the leads it may have reopened."""
        reopen_due_nurtures()
        today = timezone.localdate()
        for key, lead in list(self.leads.items()):
            if lead.status == Status.NURTURING and lead.follow_up_on <= today:
                del self.leads[key]

    def act(self, step: Step) -> None:
        if step.key in self.stuck:
            return
        try:
            getattr(self, f"_{step.action}")(step, **step.args)
        except (TransitionError, Lead.DoesNotExist) as exc:
            self.leads.pop(step.key, None)
            self.stuck.add(step.key)
            self.skipped.append((step, str(exc)))

    def _lead(self, step: Step) -> Lead:
        if (lead := self.leads.get(step.key)) is None:
            lead = Lead.objects.select_related("contact").get(contact__email=step.key)
            self.leads[step.key] = lead
        return lead

    def _owner(self, lead: Lead) -> AbstractUser:
        owner = self.by_pk.get(lead.owner_id)
        if owner is None:
            raise TransitionError("act", [f"lead {lead.pk} has no demo owner"])
        return owner

    def _score(self, step: Step) -> None:
        leads_rescore(lead_ids=[self._lead(step).pk])
        del self.leads[step.key]  # the worker may have qualified it, on its own copy

    def _attempt(self, step: Step, *, channel: str, outcome: str, note: str) -> None:
        lead = self._lead(step)
        attempt_log(lead=lead, by=self._owner(lead), channel=channel, outcome=outcome, note=note)

    def _nurture(self, step: Step, *, follow_up_on: dt.date, reason: str) -> None:
        lead = self._lead(step)
        lead_nurture(lead=lead, by=self._owner(lead), follow_up_on=follow_up_on, reason=reason)

    def _convert(self, step: Step, *, ae: str, meeting_at: dt.datetime) -> None:
        lead = self._lead(step)
        lead_convert(lead=lead, by=self._owner(lead), meeting_at=meeting_at, ae=self.users[ae])

    def _book_meeting(self, step: Step, *, ae: str, meeting_at: dt.datetime) -> None:
        lead = self._lead(step)
        lead_book_meeting(lead=lead, by=self._owner(lead), meeting_at=meeting_at, ae=self.users[ae])

    def _hand_back(self, step: Step, *, reason: str) -> None:
        lead = self._lead(step)
        lead_transition(lead=lead, name="hand_back", by=self._owner(lead), reason=reason)

    def _win(self, step: Step, *, deal_value: Any) -> None:
        lead = self._lead(step)
        lead_win(lead=lead, by=self._owner(lead), deal_value=deal_value)

    def _disqualify(self, step: Step, *, by: str, reason: str) -> None:
        lead = self._lead(step)
        actor = self._owner(lead) if by == "owner" else self.users[by]
        lead_transition(lead=lead, name="disqualify", by=actor, reason=reason)

    def _recycle(self, step: Step, *, reason: str) -> None:
        lead = self._lead(step)
        lead_transition(lead=lead, name="recycle", by=self.users["marketer"], reason=reason)

    def _source_direct(self, step: Step, *, by: str, owner: str, **fields: Any) -> None:
        lead = contact_source_direct(
            by=self.users[by], owner=self.users[owner], email=step.key, **fields
        )
        self.leads[step.key] = lead
