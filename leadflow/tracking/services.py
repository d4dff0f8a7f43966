"""Ingest: store tracked events and resolve who they belong to. Scoring happens elsewhere."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from psycopg.errors import DeadlockDetected

from leadflow.lib.prepared import prepared_cursor
from leadflow.people.models import Contact, Visitor
from scoring.services import leads_schedule_rescore
from stages.models import Lead

from .activity import touches_set
from .attribution import Touch, touch_of
from .identity import HistoryRow, IdentityRace, identities_resolve
from .messages import Message, MessageError, message_parse
from .models import Event, LeadActivity, RetiredKey, WriteKey, _new_key


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


# Tries of an ingest that raced another request creating the same person, or deadlocked.
RACE_RETRIES = 3


def messages_parse(
    raws: list[Any], *, type_: str | None, received_at: dt.datetime, ip: str = ""
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
                    ip=ip,
                )
            )
        except MessageError as exc:
            message_id = raw.get("messageId") if isinstance(raw, dict) else None
            if not isinstance(message_id, str | int | float) or isinstance(message_id, bool):
                message_id = None  # echo an id back, never an object the sender put there
            rejected.append({"index": index, "messageId": message_id, "error": str(exc)})
    return messages, rejected


def events_ingest(
    *,
    source: WriteKey,
    raws: list[Any],
    type_: str | None = None,
    received_at: dt.datetime,
    ip: str = "",
) -> IngestResult:
    """Validate, identify and store a list of raw messages in one transaction.

    `ip`, the sender's address, fills the context.ip of messages that do not carry their own.

    Bad messages are reported, not fatal: the good ones are stored. Duplicates (a message id this
    source sent before) are counted and skipped. One rescore is queued per touched lead.

    Every kind of call costs the same few statements however many there are (identify and
    alias calls a few more, once for all of them: see `identity`).
    """
    messages, rejected = messages_parse(raws, type_=type_, received_at=received_at, ip=ip)
    result = IngestResult(rejected=rejected)
    if not messages:
        return result
    for attempt in range(RACE_RETRIES + 1):
        try:
            return _messages_store(messages, source, received_at, result)
        except (IdentityRace, IntegrityError, OperationalError) as exc:
            # Another request created one of these people (or their lead) first, or PostgreSQL
            # broke a deadlock with another transaction on the same people (identify calls lock
            # visitors and contacts): everything rolled back, and the next try finds them.
            retry = not isinstance(exc, OperationalError) or isinstance(
                exc.__cause__, DeadlockDetected
            )
            if not retry or attempt == RACE_RETRIES:
                raise
    raise AssertionError("unreachable")


def _messages_store(
    messages: list[Message], source: WriteKey, received_at: dt.datetime, result: IngestResult
) -> IngestResult:
    identity = any(m.type in ("identify", "alias") for m in messages)
    # Without identify or alias calls the whole ingest is one statement, atomic by itself: no
    # transaction to open and commit, two round trips fewer for every /v1/track.
    with transaction.atomic() if identity else contextlib.nullcontext():
        history: list[HistoryRow] = []
        if identity:
            visitors = _visitors_touch(messages, received_at)
            history = identities_resolve(messages, visitors, received_at)
        lead_ids, inserted = _events_store(
            source, messages, received_at, history, visitors_touched=identity
        )
        result.accepted = len(inserted)
        result.duplicates = len(messages) - len(inserted)
        touched_leads = {lead_ids[i] for i in inserted if lead_ids[i]}
        # A lead that was given earlier history has new events to score too.
        leads_schedule_rescore({*touched_leads, *(row[0] for row in history)})
    return result


def _visitors_touch(messages: list[Message], seen_at: dt.datetime) -> dict[str, int | None]:
    """Upsert the visitors of these messages in one statement: anonymous id → contact id."""
    anonymous_ids = sorted({m.anonymous_id for m in messages if m.anonymous_id})
    if not anonymous_ids:
        return {}
    with prepared_cursor() as cursor:
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


@functools.lru_cache(maxsize=1024)
def _touch_cached(
    url: str, page: str, campaign: str, referrer: str, is_page: bool
) -> tuple[str, str, str, bool] | None:
    context = {}
    if page:
        context["page"] = json.loads(page)
    if campaign:
        context["campaign"] = json.loads(campaign)
    properties = {"referrer": json.loads(referrer)} if referrer else {}
    touch = touch_of(context, properties, url, is_page=is_page)
    return None if touch is None else (touch.source, touch.medium, touch.campaign, touch.is_direct)


def _touch(context: dict[str, Any], properties: dict[str, Any], url: str, *, is_page: bool):
    """`touch_of` for a message, as (source, medium, campaign, is direct) or None; cached by
    what it reads, since a site's calls repeat the same few pages and campaigns."""
    page, campaign = context.get("page"), context.get("campaign")
    referrer = properties.get("referrer") if is_page else None
    if page is None and campaign is None and not is_page:
        return None  # not sent from a browser page, and no campaign: nothing to read
    try:
        key = (
            url,
            "" if page is None else orjson.dumps(page).decode(),
            "" if campaign is None else orjson.dumps(campaign).decode(),
            "" if referrer is None else orjson.dumps(referrer).decode(),
            is_page,
        )
    except (TypeError, orjson.JSONEncodeError):  # an integer past 64 bits: read it uncached
        touch = touch_of(context, properties, url, is_page=is_page)
        return None if touch is None else (*dataclasses.astuple(touch), touch.is_direct)
    return _touch_cached(*key)


@functools.cache
def _store_sql(visitors_touched: bool, history: bool = True, groups: bool = True) -> str:
    """The statement of `_events_store`, built once, its blanks folded: psycopg caches the
    parsing of statements up to 4 KB only, and this one would be re-parsed on every call.

    Without `history` (no identify attached earlier events) and without `groups` (no group
    call), the parts that would find nothing are left out: most calls are page views and
    tracks, and PostgreSQL would still set up and run those parts (a third of a single call's
    statement), and psycopg would still send the history's seven empty arrays."""
    visitor_table, event_table = Visitor._meta.db_table, Event._meta.db_table
    if visitors_touched:
        visitor = f"""
            SELECT anonymous_id, contact_id FROM {visitor_table}
            WHERE anonymous_id = ANY(%(anon)s)"""
    else:
        visitor = f"""
            INSERT INTO {visitor_table} AS t (anonymous_id, first_seen_at, last_seen_at)
            SELECT unnest(%(anon)s::text[]), %(now)s, %(now)s
            ON CONFLICT (anonymous_id) DO UPDATE
                SET last_seen_at = GREATEST(EXCLUDED.last_seen_at, t.last_seen_at)
            RETURNING anonymous_id, contact_id"""
    leads, contacts = Lead._meta.db_table, Contact._meta.db_table
    earlier = company = ""
    if history:
        earlier = """
            UNION ALL
            SELECT * FROM unnest(%(e_lead)s::bigint[], %(e_at)s::timestamptz[],
                %(e_source)s::text[], %(e_medium)s::text[],
                %(e_campaign)s::text[], %(e_direct)s::bool[], %(e_n)s::int[])"""
    if groups:
        company = f""", co AS (
            UPDATE {contacts} AS contact SET company = g.company, updated_at = now()
            FROM (
                SELECT DISTINCT ON (contact_id) contact_id, r ->> 8 AS company FROM kept
                WHERE r ->> 1 = 'group' AND r ->> 8 <> '' AND contact_id IS NOT NULL
                ORDER BY contact_id, n DESC
            ) AS g
            WHERE contact.id = g.contact_id AND contact.company <> g.company
        )"""
    # kept: the message of each stored id (repeated in the list, the first one). act: what the
    # call tells of each lead, for the worker to fold into it (`activity`): the lead row itself
    # is neither written nor locked. co: a group call of a known person names their company
    # (the last call wins).
    sql = f"""
        WITH visitor AS ({visitor}
        ), by_user AS (
            SELECT user_id, id AS contact_id FROM {contacts}
            WHERE user_id = ANY(%(users)s) AND user_id <> ''
        ), sent AS (
            SELECT j.n, j.r, COALESCE(u.contact_id, v.contact_id) AS contact_id
            FROM jsonb_array_elements(%(rows)s::jsonb) WITH ORDINALITY AS j(r, n)
            LEFT JOIN by_user u ON u.user_id = j.r ->> 5
            LEFT JOIN visitor v ON v.anonymous_id = j.r ->> 4
        ), found AS (
            SELECT sent.*, l.id AS lead_id FROM sent
            LEFT JOIN {leads} l ON l.contact_id = sent.contact_id
        ), stored AS (
            INSERT INTO {event_table} (source_id, received_at, message_id, type, name, url,
                anonymous_id, user_id, lead_id, occurred_at, properties, context, extra)
            SELECT %(source)s, %(now)s, r ->> 0, r ->> 1, r ->> 2, r ->> 3, r ->> 4, r ->> 5,
                   lead_id, (r ->> 6)::timestamptz, r -> 9, r -> 10, r -> 11
            FROM found ORDER BY n
            ON CONFLICT (source_id, message_id) DO NOTHING
            RETURNING message_id
        ), kept AS (
            SELECT DISTINCT ON (r ->> 0) * FROM found
            WHERE r ->> 0 IN (SELECT message_id FROM stored)
            ORDER BY r ->> 0, n
        ), touch AS (
            SELECT lead_id, (r ->> 6)::timestamptz AS at, r -> 7 ->> 0 AS source,
                   r -> 7 ->> 1 AS medium, r -> 7 ->> 2 AS campaign,
                   (r -> 7 ->> 3)::bool AS direct, n
            FROM kept WHERE lead_id IS NOT NULL AND jsonb_typeof(r -> 7) = 'array'{earlier}
        ), earliest AS (
            SELECT DISTINCT ON (lead_id) * FROM touch ORDER BY lead_id, at, n
        ), latest AS (
            SELECT DISTINCT ON (lead_id) * FROM touch
            ORDER BY lead_id, NOT direct DESC, at DESC, n
        ), ids AS (
            SELECT lead_id AS id FROM kept WHERE lead_id IS NOT NULL UNION SELECT lead_id FROM touch
        ), act AS (
            INSERT INTO {LeadActivity._meta.db_table} (lead_id, received_at,
                first_source, first_medium, first_campaign, first_at,
                last_source, last_medium, last_campaign, last_at, last_direct)
            SELECT ids.id, CASE WHEN ids.id IN (SELECT lead_id FROM kept) THEN %(now)s END,
                   f.source, f.medium, f.campaign, f.at,
                   la.source, la.medium, la.campaign, la.at, la.direct
            FROM ids
            LEFT JOIN earliest f ON f.lead_id = ids.id
            LEFT JOIN latest la ON la.lead_id = ids.id
        ){company}
        SELECT n, contact_id, lead_id, NULL FROM found
        UNION ALL
        SELECT NULL, NULL, NULL, message_id FROM stored
    """
    return " ".join(sql.split())


def _events_store(
    source: WriteKey,
    messages: list[Message],
    received_at: dt.datetime,
    history: list[HistoryRow],
    *,
    visitors_touched: bool,
) -> tuple[list[int | None], list[int]]:
    """Store the events and what they tell of their leads, in one statement.

    The statement upserts the visitors (unless `visitors_touched`: the identity calls needed
    them first), finds each message's contact by user id first, then by the visitor, and its
    lead; inserts the events with their lead; appends each lead's activity (when it had events,
    its earliest and latest touch among them and the `history` the identity calls attached),
    which the scoring worker folds into the lead (`activity.activity_fold`); and sets the
    company that group calls name. A message id already stored for this source (or repeated in
    the list: the first one wins) is skipped by the unique constraint, exactly.

    The lead rows are neither written nor locked: requests about the same leads never wait for
    each other, nor for the worker. The fold keeps the earliest first touch and the latest last
    touch whatever order the activity came in.

    Returns each message's lead, and the indexes of the messages actually stored.
    """
    anonymous_ids = sorted({m.anonymous_id for m in messages if m.anonymous_id})
    user_ids = sorted({m.user_id for m in messages if m.user_id})
    # Every message travels as one JSON array in one jsonb document: its columns, its touch and
    # company, then its three objects as the parser serialized them. Array parameters would be
    # quoted element by element in Python, the slowest part of a batch; PostgreSQL parses this
    # in C.
    rows = ",".join(
        orjson.dumps(
            [
                m.message_id,
                m.type,
                m.name,
                m.url,
                m.anonymous_id,
                m.user_id,
                m.occurred_at,
                _touch(m.context, m.properties, m.url, is_page=m.type == "page"),
                m.company if m.type == "group" else "",
            ]
        ).decode()[:-1]
        + f",{m.properties_json},{m.context_json},{m.extra_json}]"
        for m in messages
    )
    # The history's touches come after the messages': on a tie, the first one counts.
    earlier = []
    for n, (lead_id, type_, url, at, page, campaign, referrer) in enumerate(
        history, start=len(messages) + 1
    ):
        context = {"page": _json(page), "campaign": _json(campaign)}
        touch = touch_of(context, {"referrer": _json(referrer)}, url, is_page=type_ == "page")
        if touch is not None:
            earlier.append((lead_id, at, touch, n))
    params = {
        "anon": anonymous_ids,
        "users": user_ids,
        "rows": f"[{rows}]",
        "source": source.pk,
        "now": received_at,
    }
    if earlier:
        params.update(
            e_lead=[row[0] for row in earlier],
            e_at=[row[1] for row in earlier],
            e_source=[row[2].source for row in earlier],
            e_medium=[row[2].medium for row in earlier],
            e_campaign=[row[2].campaign for row in earlier],
            e_direct=[row[2].is_direct for row in earlier],
            e_n=[row[3] for row in earlier],
        )
    groups = any(m.type == "group" for m in messages)
    with prepared_cursor() as cursor:
        cursor.execute(_store_sql(visitors_touched, bool(earlier), groups), params)
        results = cursor.fetchall()
    contact_ids: list[int | None] = [None] * len(messages)
    lead_ids: list[int | None] = [None] * len(messages)
    stored = set()
    for n, contact_id, lead_id, message_id in results:
        if n is None:
            stored.add(message_id)
        else:
            contact_ids[n - 1], lead_ids[n - 1] = contact_id, lead_id
    if len(stored) == len(messages):
        indexes = list(range(len(messages)))
    else:
        indexes, seen = [], set()
        for index, message in enumerate(messages):
            if message.message_id in stored and message.message_id not in seen:
                seen.add(message.message_id)
                indexes.append(index)
    if late := [i for i in indexes if contact_ids[i] and not lead_ids[i]]:
        _late_leads_attach(source, messages, contact_ids, lead_ids, late, received_at)
    return lead_ids, indexes


def _late_leads_attach(
    source: WriteKey,
    messages: list[Message],
    contact_ids: list[int | None],
    lead_ids: list[int | None],
    late: list[int],
    received_at: dt.datetime,
) -> None:
    """Give their lead to events whose person the store found but whose lead it could not see.

    An identify that made the lead while this statement waited for the visitor's row lock
    committed after the statement's snapshot was taken: the visitor (locked, so read as it is
    now) names the new contact, but the lead is not visible yet, and the identify attached the
    browser's history before this event existed. A new statement sees the lead. (Rare: a call
    racing its browser's identify; also a contact that has no lead, and then nothing changes.)
    """
    with prepared_cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Event._meta.db_table} AS e SET lead_id = l.id
            FROM unnest(%s::text[], %s::bigint[]) AS v(message_id, contact_id)
            JOIN {Lead._meta.db_table} l ON l.contact_id = v.contact_id
            WHERE e.source_id = %s AND e.message_id = v.message_id AND e.lead_id IS NULL
            RETURNING e.message_id, e.lead_id
            """,
            [[messages[i].message_id for i in late], [contact_ids[i] for i in late], source.pk],
        )
        found = dict(cursor.fetchall())
    attached = [i for i in late if messages[i].message_id in found]
    for i in attached:
        lead_ids[i] = found[messages[i].message_id]
    if attached:
        spans = _touches(messages, lead_ids, attached, [])
        _activity_append(sorted({lead_ids[i] for i in attached}), spans, received_at)


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


# The rows `_leads_update` and `_activity_append` write, one array parameter a column.
_SPAN_ROWS = """unnest(%s::bigint[], %s::bool[], %s::text[], %s::text[], %s::text[],
    %s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::bool[])
    AS v(id, touched, first_source, first_medium, first_campaign, first_at,
         last_source, last_medium, last_campaign, last_at, last_direct)"""


def _span_columns(touched: list[int], spans: dict[int, _Span]) -> list[list[Any]]:
    """The columns of `_SPAN_ROWS` for these leads: whether they had events, and their span."""
    touched_set = set(touched)
    none = (None, None, None, None, None, None, None, None, None)
    rows = []
    for pk in sorted({*touched, *spans}):
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
    return [list(column) for column in zip(*rows, strict=True)]


def _leads_update(touched: list[int], spans: dict[int, _Span], received_at: dt.datetime) -> None:
    """Stamp the leads' newest event time (`touched`) and move their attribution, in one
    statement.

    The conditions compare with the row as it is when the update locks it, so two requests for
    the same lead at once still keep the earliest first touch and the latest last touch.
    """
    if not touched and not spans:
        return
    with prepared_cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Lead._meta.db_table} AS l SET
                last_event_at = CASE WHEN v.touched THEN %s ELSE l.last_event_at END,
                {touches_set()}
            FROM {_SPAN_ROWS} WHERE l.id = v.id
            """,
            [received_at, *_span_columns(touched, spans)],
        )


def _activity_append(touched: list[int], spans: dict[int, _Span], received_at: dt.datetime) -> None:
    """What `_leads_update` would write, appended as the leads' activity for the worker's fold
    instead: the ingest never writes a lead row."""
    if not touched and not spans:
        return
    with prepared_cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {LeadActivity._meta.db_table} (lead_id, received_at,
                first_source, first_medium, first_campaign, first_at,
                last_source, last_medium, last_campaign, last_at, last_direct)
            SELECT id, CASE WHEN touched THEN %s::timestamptz END,
                first_source, first_medium, first_campaign, first_at,
                last_source, last_medium, last_campaign, last_at, last_direct
            FROM {_SPAN_ROWS}
            """,
            [received_at, *_span_columns(touched, spans)],
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
