"""The identity resolution as it was, one call at a time: the oracle that the set-based one in
`leadflow.tracking.identity` must agree with (tests only)."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, connection, transaction

from leadflow.people.models import Contact, ContactMerge, Visitor
from leadflow.tracking.identity import HistoryRow
from leadflow.tracking.messages import Message
from leadflow.tracking.models import Event
from stages.models import Lead, Source, Stage
from stages.services import lead_transition


def identities_resolve_one_by_one(
    messages: list[Message], visitors: dict[str, int | None], received_at: dt.datetime
) -> list[HistoryRow]:
    history: list[HistoryRow] = []
    for message in messages:
        if message.type == "identify":
            _identify(message, visitors, history, received_at)
        elif message.type == "alias":
            _alias(message, visitors, history, received_at)
    return history


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
