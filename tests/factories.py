"""Factories: contacts, and leads walked to any stage through the real transitions."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from leadflow.people.models import Contact
from stages.models import Lead, Stage, StageRules, Status
from stages.services import lead_transition


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    job_title = "Head of Marketing"


def lead_at(
    stage: str = Stage.LEAD,
    status: str = "",
    *,
    owner=None,
    ae=None,
    contact: Contact | None = None,
    **contact_fields,
) -> Lead:
    """A lead moved to `stage` (and `status`) by the same transitions production uses."""
    contact = contact or ContactFactory(**contact_fields)
    lead = Lead.objects.create(contact=contact)
    if stage == Stage.VISITOR:
        return lead
    if stage == Stage.SQL and status == Status.CONTACT_ATTEMPT:
        # An SQL in contact attempt is a sales-sourced contact its SDR still has to reach.
        lead_transition(lead=lead, name="source_direct", by="fixture", owner=owner)
        return lead
    lead_transition(lead=lead, name="identify", by="fixture")
    if stage == Stage.LEAD:
        return lead
    Lead.objects.filter(pk=lead.pk).update(score=StageRules.current().mql_threshold)
    lead.refresh_from_db()
    lead_transition(lead=lead, name="qualify", by="fixture", owner=owner)
    if stage == Stage.DISQUALIFIED:
        lead_transition(lead=lead, name="disqualify", by="fixture", reason="not_a_fit")
        return lead
    if stage == Stage.MQL:
        if status == Status.CONTACT_ATTEMPT:
            lead_transition(lead=lead, name="start_attempt", by="fixture")
        elif status == Status.NURTURING:
            lead_transition(
                lead=lead,
                name="nurture",
                by="fixture",
                follow_up_on=timezone.localdate() + dt.timedelta(days=7),
            )
        return lead
    lead_transition(
        lead=lead,
        name="convert",
        by="fixture",
        meeting_at=timezone.now() + dt.timedelta(days=2),
        ae=ae,
    )
    if stage == Stage.CUSTOMER:
        lead_transition(lead=lead, name="win", by="fixture", deal_value=None)
    return lead
