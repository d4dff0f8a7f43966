"""Writes on people: merging duplicate contacts."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import transaction

from leadflow.tracking.models import Event, LeadActivity
from stages.models import Attempt, Lead, LeadTransition, Note, OwnerChange, Stage

from .models import Contact, ContactMerge, Visitor

# How far along a lead is, to keep the most advanced of two. A disqualified lead ranks below a
# live one: the live one is what someone is working now.
STAGE_RANK = {
    Stage.VISITOR: 0,
    Stage.DISQUALIFIED: 1,
    Stage.LEAD: 2,
    Stage.MQL: 3,
    Stage.SQL: 4,
    Stage.CUSTOMER: 5,
}
FIELDS = ("email", "first_name", "last_name", "company", "job_title", "phone", "country")


class MergeError(Exception):
    pass


def contacts_merge(*, survivor_id: int, duplicate_id: int, by: AbstractUser) -> ContactMerge:
    """Fold the duplicate contact into the survivor.

    The most advanced of their two leads is kept, with the events, transitions and attempts of
    both; the survivor gains the fields it lacked and the duplicate's visitors; the duplicate is
    deleted and the merge recorded. Stages are never written: the kept lead keeps its own.
    """
    if not by.has_perm("people.merge_contact"):
        raise MergeError("your role may not merge contacts")
    if survivor_id == duplicate_id:
        raise MergeError("a contact cannot be merged into itself")
    with transaction.atomic():
        # Lock both in id order: two merges of the same pair cannot deadlock or interleave.
        contacts = {
            c.pk: c
            for c in Contact.objects.select_for_update()
            .filter(pk__in=[survivor_id, duplicate_id])
            .order_by("pk")
        }
        if len(contacts) != 2:
            raise MergeError("both contacts must exist")
        survivor, duplicate = contacts[survivor_id], contacts[duplicate_id]
        leads = {
            lead.contact_id: lead
            for lead in Lead.objects.select_for_update().filter(contact__in=contacts.values())
        }
        kept, dropped = _leads_rank(leads.get(survivor.pk), leads.get(duplicate.pk))
        if dropped is not None:
            Event.objects.filter(lead=dropped).update(lead=kept)
            LeadTransition.objects.filter(lead=dropped).update(lead=kept)
            # The dropped lead's activity not folded yet: the kept lead's now (its newest event).
            for history in (Attempt, Note, OwnerChange, LeadActivity):
                history.objects.filter(lead=dropped).update(lead=kept)
            dropped.delete()
        Visitor.objects.filter(contact=duplicate).update(contact=survivor)
        record = ContactMerge.objects.create(
            survivor=survivor,
            merged_contact_id=duplicate.pk,
            merged_email=duplicate.email,
            by=by,
            data={
                "kept_lead": kept.pk if kept else None,
                "dropped_lead": dropped.pk if dropped else None,
                "stages": {
                    "survivor": getattr(leads.get(survivor.pk), "stage", None),
                    "duplicate": getattr(leads.get(duplicate.pk), "stage", None),
                },
            },
        )
        taken = {name: getattr(duplicate, name) for name in FIELDS if not getattr(survivor, name)}
        user_id = duplicate.user_id if not survivor.user_id else ""
        traits = {**duplicate.traits, **survivor.traits}
        if kept is not None and kept.contact_id != survivor.pk:
            # Before the duplicate goes: deleting it would take its lead along.
            Lead.objects.filter(pk=kept.pk).update(contact=survivor)
        duplicate.delete()  # then its unique email and user id are free for the survivor
        for name, value in taken.items():
            setattr(survivor, name, value)
        survivor.user_id = survivor.user_id or user_id
        survivor.traits = traits
        survivor.save()
        if kept is not None:
            # Tracking and scoring build on people: imported here, not at the top.
            from leadflow.tracking.services import leads_attribute
            from scoring.services import leads_schedule_rescore

            leads_attribute(lead_ids=[kept.pk])  # first and last touch over both histories
            leads_schedule_rescore([kept.pk])
            from leadflow.reports.services import journeys_refresh

            journeys_refresh(lead_ids=[kept.pk])  # one journey, over both histories
    return record


def _leads_rank(first: Lead | None, second: Lead | None) -> tuple[Lead | None, Lead | None]:
    """(kept, dropped): the more advanced lead, the survivor's on a tie."""
    if first is None or second is None:
        return first or second, None
    if STAGE_RANK[Stage(second.stage)] > STAGE_RANK[Stage(first.stage)]:
        return second, first
    return first, second
