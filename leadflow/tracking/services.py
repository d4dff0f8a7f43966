"""Ingest: store tracked events and resolve who they belong to. Scoring happens elsewhere."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from leadflow.people.models import Contact, ContactMerge, Visitor
from scoring.services import leads_schedule_rescore
from stages.models import Lead, Source, Stage
from stages.services import lead_transition

from .attribution import Touch, touch_of
from .messages import Message, MessageError, message_parse
from .models import Event, RetiredKey, WriteKey, _new_key


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


# A stored event's attribution facts, as the history attached at identify or alias returns them:
# (lead id, type, url, occurred_at, context.page, context.campaign, properties.referrer).
HistoryRow = tuple[int, str, str, dt.datetime, Any, Any, Any]


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
            if not isinstance(message_id, str | int | float) or isinstance(message_id, bool):
                message_id = None  # echo an id back, never an object the sender put there
            rejected.append({"index": index, "messageId": message_id, "error": str(exc)})
    return messages, rejected


def events_ingest(
    *, source: WriteKey, raws: list[Any], type_: str | None = None, received_at: dt.datetime
) -> IngestResult:
    """Validate, identify and store a list of raw messages in one transaction.

    Bad messages are reported, not fatal: the good ones are stored. Duplicates (a message id this
    source sent before) are counted and skipped. One rescore is queued per touched lead.

    Page, screen and track calls cost the same few statements however many there are; identify
    and alias calls (rare: once a person) resolve their person one message at a time.
    """
    messages, rejected = messages_parse(raws, type_=type_, received_at=received_at)
    result = IngestResult(rejected=rejected)
    if not messages:
        return result
    with transaction.atomic():
        visitors = _visitors_touch(messages, received_at)
        history: list[HistoryRow] = []
        for message in messages:
            if message.type == "identify":
                _identify(message, visitors, history, received_at)
            elif message.type == "alias":
                _alias(message, visitors, history, received_at)
        contact_ids, lead_ids = _leads_resolve(messages, visitors)
        inserted = _events_insert(source, messages, lead_ids, received_at)
        result.accepted = len(inserted)
        result.duplicates = len(messages) - len(inserted)
        touched_leads = sorted({lead_ids[i] for i in inserted if lead_ids[i]})
        _companies_set(messages, contact_ids, inserted)
        _leads_update(touched_leads, _touches(messages, lead_ids, inserted, history), received_at)
        # A lead that was given earlier history has new events to score too.
        leads_schedule_rescore({*touched_leads, *(row[0] for row in history)})
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


def _identify(
    message: Message,
    visitors: dict[str, int | None],
    history: list[HistoryRow],
    received_at: dt.datetime,
) -> None:
    """Attach the message's person: find or create the contact, its lead, and its visitor."""
    contact = None
    if message.email:
        contact = Contact.objects.by_email(message.email).first()
    if contact is None and message.email:
        # A person merged away comes back under their old email: they are the survivor.
        merge = ContactMerge.objects.filter(merged_email=message.email).order_by("-pk").first()
        contact = merge.survivor if merge else None
    if contact is None and message.user_id:
        contact = Contact.objects.filter(user_id=message.user_id).first()
    if contact is None and message.anonymous_id and visitors.get(message.anonymous_id):
        contact = Contact.objects.filter(pk=visitors[message.anonymous_id]).first()
    created = False
    if contact is None:
        if not (message.email or message.user_id):
            return  # traits of a still anonymous visitor: nothing to attach yet
        contact, created = _contact_create(message)
    changed = False
    new_user_id = created and bool(contact.user_id)
    if message.email and not contact.email:
        contact.email, changed = message.email, True
    # A user id already held by another contact stays there: taking it would break its uniqueness.
    if (
        message.user_id
        and not contact.user_id
        and not Contact.objects.filter(user_id=message.user_id).exists()
    ):
        contact.user_id, changed, new_user_id = message.user_id, True, True
    for name, value in message.contact_fields.items():
        if getattr(contact, name) != value:
            setattr(contact, name, value)
            changed = True
    if changed:
        contact.traits = {**contact.traits, **message.traits}
        contact.save()
    lead = _lead_of(contact, message)
    if lead.stage == Stage.VISITOR and contact.email:
        lead_transition(
            lead=lead, name="identify", by="tracking", reason=f"identify {message.message_id}"
        )
    if message.anonymous_id:
        _visitor_link(message.anonymous_id, contact, lead, visitors, history, received_at)
    if new_user_id:
        # Calls under this user id that came before anyone had it wait unattached: they join now.
        history.extend(_history_attach(lead.pk, user_id=contact.user_id))


def _alias(
    message: Message,
    visitors: dict[str, int | None],
    history: list[HistoryRow],
    received_at: dt.datetime,
) -> None:
    """Link previousId (an anonymous id or a former user id) to userId's contact.

    The history of previousId joins that contact. Two contacts both already known are never
    merged here: a different person's record keeps its own events (merging is a person's call).
    """
    target = Contact.objects.filter(user_id=message.user_id).first()
    previous = Contact.objects.filter(user_id=message.previous_id).first()
    if previous is None:
        previous = Contact.objects.filter(visitors__anonymous_id=message.previous_id).first()
    new_user_id = target is None
    if target is None and previous is not None and previous.user_id in ("", message.previous_id):
        # The person changes user id (or gets one): the contact follows the new id.
        previous.user_id = message.user_id
        previous.save(update_fields=["user_id", "updated_at"])
        target = previous
    elif target is None:
        target, new_user_id = _contact_create(message)
    lead = _lead_of(target, message)
    if new_user_id:
        history.extend(_history_attach(lead.pk, user_id=message.user_id))
    if previous is None or previous.pk == target.pk:
        _visitor_link(message.previous_id, target, lead, visitors, history, received_at)
        history.extend(_history_attach(lead.pk, user_id=message.previous_id))
    if message.anonymous_id and not visitors.get(message.anonymous_id):
        _visitor_link(message.anonymous_id, target, lead, visitors, history, received_at)


def _lead_of(contact: Contact, message: Message) -> Lead:
    lead, _ = Lead.objects.get_or_create(
        contact=contact, defaults={"source": Source.TRACKING, "created_at": message.occurred_at}
    )
    return lead


def _visitor_link(
    anonymous_id: str,
    contact: Contact,
    lead: Lead,
    visitors: dict[str, int | None],
    history: list[HistoryRow],
    seen_at: dt.datetime,
) -> None:
    """Make the browser `anonymous_id` the contact's; its anonymous history becomes the lead's."""
    if visitors.get(anonymous_id) == contact.pk:
        return
    table = Visitor._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (anonymous_id, contact_id, first_seen_at, last_seen_at)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT (anonymous_id) DO UPDATE SET contact_id = EXCLUDED.contact_id
            """,
            [anonymous_id, contact.pk, seen_at, seen_at],
        )
    visitors[anonymous_id] = contact.pk
    # The visitor's anonymous history becomes the lead's: it counts for the score.
    history.extend(_history_attach(lead.pk, anonymous_id=anonymous_id))


def _history_attach(lead_id: int, *, anonymous_id: str = "", user_id: str = "") -> list[HistoryRow]:
    """Give the unattached events of an anonymous id (or a user id) to a lead, through the
    partial indexes on unattached rows; return what attribution needs of them."""
    column, value = ("anonymous_id", anonymous_id) if anonymous_id else ("user_id", user_id)
    if not value:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Event._meta.db_table} SET lead_id = %s
            WHERE {column} = %s AND lead_id IS NULL
            RETURNING lead_id, type, url, occurred_at, context -> 'page',
                      context -> 'campaign', properties -> 'referrer'
            """,
            [lead_id, value],
        )
        return cursor.fetchall()


def _contact_create(message: Message) -> tuple[Contact, bool]:
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                email=message.email,
                user_id=message.user_id,
                traits=message.traits,
                **message.contact_fields,
            )
            return contact, True
    except IntegrityError:
        # A concurrent request created the same person first.
        found = Contact.objects.by_email(message.email).first() if message.email else None
        return found or Contact.objects.get(user_id=message.user_id), False


def _leads_resolve(
    messages: list[Message], visitors: dict[str, int | None]
) -> tuple[list[int | None], list[int | None]]:
    """The contact and the lead of each message, by userId first, then by the visitor."""
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
    return contacts, [lead_by_contact.get(pk) for pk in contacts]


def _events_insert(
    source: WriteKey, messages: list[Message], lead_ids: list[int | None], received_at: dt.datetime
) -> list[int]:
    """Insert all events in one statement; return the indexes of the messages actually stored.

    A message id already stored for this source (or repeated in the list: the first one wins) is
    skipped by the unique constraint, exactly, whatever the type.
    """
    table = Event._meta.db_table
    columns = list(
        zip(
            *[
                (
                    m.message_id,
                    m.type,
                    m.name,
                    m.url,
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
    # The three JSON objects of every message travel as one jsonb document, already serialized
    # by the parser: a jsonb[] parameter would be quoted element by element in Python, the
    # slowest part of a batch.
    documents = ",".join(f"[{m.properties_json},{m.context_json},{m.extra_json}]" for m in messages)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (source_id, received_at, message_id, type, name, url, anonymous_id,
                                 user_id, lead_id, occurred_at, properties, context, extra)
            SELECT %s, %s, m.message_id, m.type, m.name, m.url, m.anonymous_id, m.user_id,
                   m.lead_id, m.occurred_at, j.doc -> 0, j.doc -> 1, j.doc -> 2
            FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                        %s::bigint[], %s::timestamptz[])
                     WITH ORDINALITY AS m(message_id, type, name, url, anonymous_id, user_id,
                                          lead_id, occurred_at, n)
            JOIN jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS j(doc, n) ON j.n = m.n
            ORDER BY m.n
            ON CONFLICT (source_id, message_id) DO NOTHING
            RETURNING message_id
            """,
            [source.pk, received_at, *[list(column) for column in columns], f"[{documents}]"],
        )
        stored = {row[0] for row in cursor.fetchall()}
    if len(stored) == len(messages):
        return list(range(len(messages)))
    indexes, seen = [], set()
    for index, message in enumerate(messages):
        if message.message_id in stored and message.message_id not in seen:
            seen.add(message.message_id)
            indexes.append(index)
    return indexes


def _companies_set(
    messages: list[Message], contact_ids: list[int | None], inserted: list[int]
) -> None:
    """A group call of a known person names their company: set it, for all of them at once."""
    companies = {
        contact_ids[i]: messages[i].company
        for i in inserted
        if messages[i].type == "group" and messages[i].company and contact_ids[i]
    }
    if not companies:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Contact._meta.db_table} AS contact
            SET company = v.company, updated_at = now()
            FROM unnest(%s::bigint[], %s::text[]) AS v(id, company)
            WHERE contact.id = v.id AND contact.company <> v.company
            """,
            [sorted(companies), [companies[pk] for pk in sorted(companies)]],
        )


@dataclass
class _Span:
    """A lead's earliest touch, and its latest one (a direct visit never hides a campaign)."""

    first_at: dt.datetime
    first: Touch
    last_at: dt.datetime
    last: Touch

    def add(self, at: dt.datetime, touch: Touch) -> None:
        if at < self.first_at:
            self.first_at, self.first = at, touch
        if (not touch.is_direct, at) > (not self.last.is_direct, self.last_at):
            self.last_at, self.last = at, touch


def _touches(
    messages: list[Message],
    lead_ids: list[int | None],
    inserted: list[int],
    history: list[HistoryRow],
) -> dict[int, _Span]:
    """The attribution each lead gets from this ingest: its new events and attached history."""
    spans: dict[int, _Span] = {}

    def add(lead_id: int, at: dt.datetime, touch: Touch | None) -> None:
        if touch is None:
            return
        span = spans.get(lead_id)
        if span is None:
            spans[lead_id] = _Span(at, touch, at, touch)
        else:
            span.add(at, touch)

    for i in inserted:
        if lead_ids[i]:
            m = messages[i]
            add(
                lead_ids[i],
                m.occurred_at,
                touch_of(m.context, m.properties, m.url, is_page=m.type == "page"),
            )
    for lead_id, type_, url, at, page, campaign, referrer in history:
        # Django reads jsonb as text (its JSONField decodes it); a raw cursor gets the text.
        context = {"page": _json(page), "campaign": _json(campaign)}
        properties = {"referrer": _json(referrer)}
        add(lead_id, at, touch_of(context, properties, url, is_page=type_ == "page"))
    return spans


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


_FIRST = "v.first_at IS NOT NULL AND (l.first_touch_at IS NULL OR v.first_at < l.first_touch_at)"
_LAST = """v.last_at IS NOT NULL AND (l.last_touch_at IS NULL OR
    (NOT v.last_direct, v.last_at)
    > (NOT (l.last_touch_source = 'direct' AND l.last_touch_medium = 'none'), l.last_touch_at))"""


def _leads_update(touched: list[int], spans: dict[int, _Span], received_at: dt.datetime) -> None:
    """Stamp the leads' newest event time and move their attribution, in one statement.

    The conditions compare with the row as it is when the update locks it, so two requests for
    the same lead at once still keep the earliest first touch and the latest last touch.
    """
    ids = sorted({*touched, *spans})
    if not ids:
        return
    touched_set = set(touched)
    none = (None, None, None, None, None, None, None, None, None)
    rows = []
    for pk in ids:
        span = spans.get(pk)
        touch = (
            (
                span.first.source,
                span.first.medium,
                span.first.campaign,
                span.first_at,
                span.last.source,
                span.last.medium,
                span.last.campaign,
                span.last_at,
                span.last.is_direct,
            )
            if span
            else none
        )
        rows.append((pk, pk in touched_set, *touch))
    columns = [list(column) for column in zip(*rows, strict=True)]
    sets = ",\n".join(
        f"{kind}_touch_{name} = "
        f"CASE WHEN {cond} THEN v.{kind}_{name} ELSE l.{kind}_touch_{name} END"
        for kind, cond in (("first", _FIRST), ("last", _LAST))
        for name in ("source", "medium", "campaign", "at")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Lead._meta.db_table} AS l SET
                last_event_at = CASE WHEN v.touched THEN %s ELSE l.last_event_at END,
                {sets}
            FROM unnest(%s::bigint[], %s::bool[], %s::text[], %s::text[], %s::text[],
                        %s::timestamptz[], %s::text[], %s::text[], %s::text[],
                        %s::timestamptz[], %s::bool[])
                AS v(id, touched, first_source, first_medium, first_campaign, first_at,
                     last_source, last_medium, last_campaign, last_at, last_direct)
            WHERE l.id = v.id
            """,
            [received_at, *columns],
        )


def leads_attribute(*, lead_ids: list[int] | None = None, chunk: int = 2000) -> int:
    """Set first and last touch of leads from all their stored events (all leads by default).

    For events that never went through the ingest (bulk loads, history from before attribution
    existed). Safe to run again: a touch only ever moves earlier (first) or later (last).
    Returns how many leads had a touch.
    """
    where, params = "lead_id IS NOT NULL", []
    if lead_ids is not None:
        where, params = "lead_id = ANY(%s)", [list(lead_ids)]
    done = 0
    spans: dict[int, _Span] = {}
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        # The index on (lead, occurred_at) gives the rows lead by lead, so each chunk of leads is
        # complete when it is written.
        cursor.execute(
            f"""
            SELECT lead_id, type, url, occurred_at, context -> 'page', context -> 'campaign',
                   properties -> 'referrer'
            FROM {Event._meta.db_table} WHERE {where} ORDER BY lead_id, occurred_at
            """,
            params,
        )
        while rows := cursor.fetchmany(5000):
            batch = _touches([], [], [], rows)
            for lead_id, span in batch.items():
                known = spans.get(lead_id)
                if known is None:
                    spans[lead_id] = span
                else:
                    known.add(span.first_at, span.first)
                    known.add(span.last_at, span.last)
            if len(spans) > chunk:
                last = rows[-1][0]
                finished = {pk: span for pk, span in spans.items() if pk != last}
                _leads_update([], finished, timezone.now())
                done += len(finished)
                spans = {last: spans[last]} if last in spans else {}
        _leads_update([], spans, timezone.now())
    return done + len(spans)


# -- write keys: created, rotated and revoked by an admin --


class WriteKeyError(Exception):
    pass


def writekey_create(*, name: str, kind: str, by: AbstractBaseUser | None) -> WriteKey:
    return WriteKey.objects.create(name=name, kind=kind, created_by=by)


def writekey_rotate(*, source: WriteKey, by: AbstractBaseUser | None) -> WriteKey:
    """Give the source a new key; the old one is retired at once and answers "revoked".

    The source stays the same row, so its events and its deduplication carry on.
    """
    with transaction.atomic():
        source = WriteKey.objects.select_for_update().get(pk=source.pk)
        if not source.is_active:
            raise WriteKeyError("A revoked key cannot be rotated: create a new one.")
        now = timezone.now()
        RetiredKey.objects.create(source=source, key=source.key, retired_at=now, retired_by=by)
        source.key = _new_key()
        source.rotated_at = now
        source.save(update_fields=["key", "rotated_at"])
    return source


def writekey_revoke(*, source: WriteKey, by: AbstractBaseUser | None) -> WriteKey:
    """Stop accepting the source's key for good; its events stay."""
    with transaction.atomic():
        source = WriteKey.objects.select_for_update().get(pk=source.pk)
        if not source.is_active:
            raise WriteKeyError("This key is already revoked.")
        source.revoked_at = timezone.now()
        source.revoked_by = by
        source.save(update_fields=["revoked_at", "revoked_by"])
    return source
