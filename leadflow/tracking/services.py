"""Ingest: store tracked events and resolve who they belong to. Scoring happens elsewhere."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from psycopg.types.json import Jsonb

from leadflow.people.models import Contact, Visitor
from scoring.services import leads_schedule_rescore
from stages.models import Lead, Source, Stage
from stages.services import lead_transition

from .messages import Message, MessageError, message_parse
from .models import Event, WriteKey


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


def messages_parse(
    raws: list[Any], *, type_: str | None, received_at: dt.datetime
) -> tuple[list[Message], list[dict[str, Any]]]:
    messages, rejected = [], []
    for index, raw in enumerate(raws):
        try:
            messages.append(
                message_parse(
                    raw,
                    type_=type_,
                    received_at=received_at,
                    max_bytes=settings.TRACKING_MAX_MESSAGE_BYTES,
                )
            )
        except MessageError as exc:
            message_id = raw.get("messageId") if isinstance(raw, dict) else None
            rejected.append({"index": index, "messageId": message_id, "error": str(exc)})
    return messages, rejected


def events_ingest(
    *, source: WriteKey, raws: list[Any], type_: str | None = None, received_at: dt.datetime
) -> IngestResult:
    """Validate, identify and store a list of raw messages in one transaction.

    Bad messages are reported, not fatal: the good ones are stored. Duplicates (a message id this
    source sent before) are counted and skipped. One rescore is queued per touched lead.
    """
    messages, rejected = messages_parse(raws, type_=type_, received_at=received_at)
    result = IngestResult(rejected=rejected)
    if not messages:
        return result
    with transaction.atomic():
        visitors = _visitors_touch(messages, received_at)
        for message in messages:
            if message.type == "identify":
                _identify(message, visitors)
        lead_ids = _leads_resolve(messages, visitors)
        touched = _events_insert(source, messages, lead_ids, received_at)
        result.accepted = len(touched)
        result.duplicates = len(messages) - len(touched)
        touched_leads = sorted({pk for pk in touched if pk})
        if touched_leads:
            Lead.objects.filter(pk__in=touched_leads).update(last_event_at=received_at)
        leads_schedule_rescore(touched_leads)
    return result


def _visitors_touch(messages: list[Message], seen_at: dt.datetime) -> dict[str, int | None]:
    """Upsert the visitors of these messages in one statement: anonymous id → contact id."""
    anonymous_ids = sorted({m.anonymous_id for m in messages if m.anonymous_id})
    if not anonymous_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Visitor._meta.db_table} (anonymous_id, first_seen_at, last_seen_at)
            SELECT unnest(%s::text[]), %s, %s
            ON CONFLICT (anonymous_id) DO UPDATE
                SET last_seen_at = GREATEST(EXCLUDED.last_seen_at,
                                            {Visitor._meta.db_table}.last_seen_at)
            RETURNING anonymous_id, contact_id
            """,
            [anonymous_ids, seen_at, seen_at],
        )
        return dict(cursor.fetchall())


def _identify(message: Message, visitors: dict[str, int | None]) -> None:
    """Attach the message's person: find or create the contact, its lead, and its visitor."""
    contact = None
    if message.email:
        contact = Contact.objects.by_email(message.email).first()
    if contact is None and message.user_id:
        contact = Contact.objects.filter(user_id=message.user_id).first()
    if contact is None and message.anonymous_id and visitors.get(message.anonymous_id):
        contact = Contact.objects.filter(pk=visitors[message.anonymous_id]).first()
    if contact is None:
        if not (message.email or message.user_id):
            return  # traits of a still anonymous visitor: nothing to attach yet
        contact = _contact_create(message)
    changed = False
    if message.email and not contact.email:
        contact.email, changed = message.email, True
    # A user id already held by another contact stays there: taking it would break its uniqueness.
    if (
        message.user_id
        and not contact.user_id
        and not Contact.objects.filter(user_id=message.user_id).exists()
    ):
        contact.user_id, changed = message.user_id, True
    for name, value in message.contact_fields.items():
        if getattr(contact, name) != value:
            setattr(contact, name, value)
            changed = True
    if changed:
        contact.traits = {**contact.traits, **message.traits}
        contact.save()
    lead, _ = Lead.objects.get_or_create(
        contact=contact, defaults={"source": Source.TRACKING, "created_at": message.occurred_at}
    )
    if lead.stage == Stage.VISITOR and contact.email:
        lead_transition(
            lead=lead, name="identify", by="tracking", reason=f"identify {message.message_id}"
        )
    if message.anonymous_id and visitors.get(message.anonymous_id) != contact.pk:
        Visitor.objects.filter(anonymous_id=message.anonymous_id).update(contact=contact)
        visitors[message.anonymous_id] = contact.pk
        # The visitor's anonymous history becomes the lead's: it counts for the score.
        Event.objects.filter(anonymous_id=message.anonymous_id, lead__isnull=True).update(lead=lead)


def _contact_create(message: Message) -> Contact:
    try:
        with transaction.atomic():
            return Contact.objects.create(
                email=message.email,
                user_id=message.user_id,
                traits=message.traits,
                **message.contact_fields,
            )
    except IntegrityError:
        # A concurrent request created the same person first.
        found = Contact.objects.by_email(message.email).first() if message.email else None
        return found or Contact.objects.get(user_id=message.user_id)


def _leads_resolve(messages: list[Message], visitors: dict[str, int | None]) -> list[int | None]:
    """The lead of each message, by userId first, then by the visitor's contact."""
    user_ids = {m.user_id for m in messages if m.user_id}
    contact_by_user = (
        dict(Contact.objects.filter(user_id__in=user_ids).values_list("user_id", "pk"))
        if user_ids
        else {}
    )
    contacts = [contact_by_user.get(m.user_id) or visitors.get(m.anonymous_id) for m in messages]
    wanted = {pk for pk in contacts if pk}
    lead_by_contact = (
        dict(Lead.objects.filter(contact_id__in=wanted).values_list("contact_id", "pk"))
        if wanted
        else {}
    )
    return [lead_by_contact.get(pk) for pk in contacts]


def _events_insert(
    source: WriteKey, messages: list[Message], lead_ids: list[int | None], received_at: dt.datetime
) -> list[int | None]:
    """Insert all events in one statement; return the lead id of each row actually inserted."""
    table = Event._meta.db_table
    columns = list(
        zip(
            *[
                (
                    m.message_id,
                    m.type,
                    m.name,
                    m.url,
                    Jsonb(m.properties),
                    Jsonb(m.context),
                    m.anonymous_id,
                    m.user_id,
                    lead_id,
                    m.occurred_at,
                )
                for m, lead_id in zip(messages, lead_ids, strict=True)
            ],
            strict=True,
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (source_id, received_at, message_id, type, name, url, properties,
                                 context, anonymous_id, user_id, lead_id, occurred_at)
            SELECT %s, %s, * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[],
                                         %s::jsonb[], %s::jsonb[], %s::text[], %s::text[],
                                         %s::bigint[], %s::timestamptz[])
            ON CONFLICT (source_id, message_id) DO NOTHING
            RETURNING lead_id
            """,
            [source.pk, received_at, *[list(column) for column in columns]],
        )
        return [row[0] for row in cursor.fetchall()]
