"""Merging duplicate contacts: nothing lost, the most advanced stage kept, the merge recorded."""

from __future__ import annotations

import pytest
from django.utils import timezone

from leadflow.people.models import Contact, ContactMerge, Visitor
from leadflow.people.services import MergeError, contacts_merge
from leadflow.tracking.models import Event
from stages.models import Attempt, Lead, LeadTransition, Stage, Status
from tests.factories import ContactFactory, lead_at


def _event(write_key, lead, message_id):
    now = timezone.now()
    return Event.objects.create(
        source=write_key, message_id=message_id, type="page", url="https://x.test/pricing",
        lead=lead, occurred_at=now, received_at=now,
    )  # fmt: skip


def test_the_more_advanced_lead_survives_with_both_histories(marketer, sdr, ae, write_key):
    survivor = lead_at(Stage.LEAD, email="ada@work.example", job_title="")
    duplicate = lead_at(Stage.SQL, Status.ACTIVE, owner=sdr, ae=ae, email="ada@home.example")
    Visitor.objects.create(
        anonymous_id="a-home", contact=duplicate.contact,
        first_seen_at=timezone.now(), last_seen_at=timezone.now(),
    )  # fmt: skip
    _event(write_key, survivor, "m1")
    _event(write_key, duplicate, "m2")
    transitions = LeadTransition.objects.filter(lead__in=[survivor, duplicate]).count()

    record = contacts_merge(
        survivor_id=survivor.contact_id, duplicate_id=duplicate.contact_id, by=marketer
    )

    contact = Contact.objects.get(pk=survivor.contact_id)
    lead = contact.lead
    assert lead.pk == duplicate.pk  # the SQL was kept, not the Lead
    assert (lead.stage, lead.status, lead.owner) == (Stage.SQL, Status.ACTIVE, ae)
    assert contact.email == "ada@work.example"
    assert contact.job_title == duplicate.contact.job_title  # a field the survivor lacked
    assert set(lead.events.values_list("message_id", flat=True)) == {"m1", "m2"}
    assert LeadTransition.objects.filter(lead=lead).count() == transitions
    assert Visitor.objects.get(anonymous_id="a-home").contact == contact
    assert not Contact.objects.filter(pk=duplicate.contact_id).exists()
    assert not Lead.objects.filter(pk=survivor.pk).exists()
    assert (record.merged_email, record.by, record.data["stages"]) == (
        "ada@home.example",
        marketer,
        {"survivor": "lead", "duplicate": "sql"},
    )


def test_the_survivors_lead_is_kept_when_it_is_further_along(marketer, sdr, write_key):
    survivor = lead_at(Stage.MQL, Status.CONTACT_ATTEMPT, owner=sdr)
    duplicate = lead_at(Stage.LEAD)
    Attempt.objects.create(lead=duplicate, by=sdr, channel="call", outcome="no_answer")

    contacts_merge(survivor_id=survivor.contact_id, duplicate_id=duplicate.contact_id, by=marketer)

    survivor.refresh_from_db()
    assert (survivor.stage, survivor.status) == (Stage.MQL, Status.CONTACT_ATTEMPT)
    assert survivor.attempts.count() == 1
    assert ContactMerge.objects.filter(survivor=survivor.contact).count() == 1


def test_a_contact_without_a_lead_merges_into_one_with(marketer):
    survivor = lead_at(Stage.LEAD)
    duplicate = ContactFactory(phone="+44 20 7946 0000")

    contacts_merge(survivor_id=survivor.contact_id, duplicate_id=duplicate.pk, by=marketer)

    survivor.contact.refresh_from_db()
    assert survivor.contact.phone == "+44 20 7946 0000"
    assert Lead.objects.get(pk=survivor.pk).stage == Stage.LEAD


@pytest.mark.parametrize("persona", ["sdr", "ae", "outsider"])
def test_only_marketers_and_admins_merge(persona, personas):
    first, second = lead_at(Stage.LEAD), lead_at(Stage.LEAD)

    with pytest.raises(MergeError, match="may not merge"):
        contacts_merge(
            survivor_id=first.contact_id, duplicate_id=second.contact_id, by=personas[persona]
        )
    assert Contact.objects.filter(pk__in=[first.contact_id, second.contact_id]).count() == 2


def test_a_contact_cannot_be_merged_into_itself_or_a_missing_one(admin_user):
    lead = lead_at(Stage.LEAD)

    with pytest.raises(MergeError, match="itself"):
        contacts_merge(survivor_id=lead.contact_id, duplicate_id=lead.contact_id, by=admin_user)
    with pytest.raises(MergeError, match="must exist"):
        contacts_merge(survivor_id=lead.contact_id, duplicate_id=10**9, by=admin_user)
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_a_merged_persons_old_email_finds_the_survivor(client, marketer, write_key):
    from tests.tracking.messages import basic

    survivor = lead_at(Stage.LEAD, email="ada@work.example")
    duplicate = lead_at(Stage.LEAD, email="ada@home.example")
    contacts_merge(survivor_id=survivor.contact_id, duplicate_id=duplicate.contact_id, by=marketer)

    response = client.post(
        "/v1/identify",
        {"messageId": "m-back", "anonymousId": "a-back", "traits": {"email": "Ada@Home.example"}},
        content_type="application/json",
        headers={"Authorization": basic(write_key.key)},
    )

    assert response.status_code == 200
    assert Contact.objects.count() == 1
    assert Visitor.objects.get(anonymous_id="a-back").contact_id == survivor.contact_id


def test_a_merge_recomputes_attribution_over_both_histories(marketer, write_key):
    survivor = lead_at(Stage.LEAD)
    duplicate = lead_at(Stage.LEAD)
    now = timezone.now()
    Event.objects.create(
        source=write_key, message_id="m-utm", type="page", lead=duplicate,
        url="https://x.test/?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
        context={"campaign": {"source": "newsletter", "medium": "email", "name": "spring"}},
        occurred_at=now, received_at=now,
    )  # fmt: skip

    contacts_merge(survivor_id=survivor.contact_id, duplicate_id=duplicate.contact_id, by=marketer)

    lead = Lead.objects.get(contact_id=survivor.contact_id)
    assert (lead.first_touch_source, lead.first_touch_medium, lead.first_touch_campaign) == (
        "newsletter",
        "email",
        "spring",
    )


def test_activity_the_worker_has_not_folded_yet_moves_to_the_kept_lead(marketer, write_key):
    from leadflow.tracking.activity import activity_fold
    from leadflow.tracking.models import LeadActivity

    survivor = lead_at(Stage.LEAD)
    duplicate = lead_at(Stage.MQL)  # the more advanced: kept
    received = timezone.now()
    LeadActivity.objects.create(lead=survivor, received_at=received)

    contacts_merge(survivor_id=survivor.contact_id, duplicate_id=duplicate.contact_id, by=marketer)
    activity_fold([duplicate.pk])

    assert Lead.objects.get().last_event_at == received
    assert not LeadActivity.objects.exists()
