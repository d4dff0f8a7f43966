"""The lead's profile (its fit fields), edited by its owner or a marketer, rescores the lead;
notes go on its timeline; a merge keeps both."""

from __future__ import annotations

import pytest

from leadflow.people.services import contacts_merge
from stages.models import Lead, Note, OwnerChange, Stage
from stages.selectors import lead_owners, lead_timeline
from stages.services import TransitionError, lead_note_add, lead_profile_update
from tests.factories import lead_at


def test_the_owner_edits_the_profile_and_the_lead_is_rescored(
    sdr, demo_rules, django_capture_on_commit_callbacks
):
    lead = lead_at(Stage.MQL, owner=sdr, job_title="Analyst")

    with django_capture_on_commit_callbacks(execute=True):
        lead_profile_update(lead=lead, by=sdr, job_title="Head of Growth", company_size=250)

    lead.refresh_from_db()
    assert (lead.contact.job_title, lead.contact.company_size) == ("Head of Growth", 250)
    # Rescored at once (tasks run eagerly in the tests): company, title, decision maker.
    assert (lead.scored_at is not None, lead.fit_score) == (True, 5 + 5 + 10)
    note = Note.objects.get(lead=lead)
    assert note.text == "Profile changed: job title, company size." and note.by == sdr


def test_saving_the_same_values_changes_nothing(sdr):
    lead = lead_at(Stage.MQL, owner=sdr)

    lead_profile_update(lead=lead, by=sdr, company=lead.contact.company)

    assert not Note.objects.exists()


@pytest.mark.parametrize(
    ("who", "allowed"), [("marketer", True), ("other_sdr", False), ("ae", False)]
)
def test_who_may_edit_a_profile(request, sdr, who, allowed):
    lead = lead_at(Stage.MQL, owner=sdr)
    user = request.getfixturevalue(who)

    if allowed:
        lead_profile_update(lead=lead, by=user, country="FR")
        assert Lead.objects.get(pk=lead.pk).contact.country == "FR"
    else:
        with pytest.raises(TransitionError, match="another rep"):
            lead_profile_update(lead=lead, by=user, country="FR")


def test_only_profile_fields_are_accepted(sdr):
    lead = lead_at(Stage.MQL, owner=sdr)

    with pytest.raises(ValueError, match="email"):
        lead_profile_update(lead=lead, by=sdr, email="someone@else.example")


def test_notes_and_events_share_one_timeline_newest_first(sdr, ae, outsider):
    lead = lead_at(Stage.MQL, owner=sdr)
    lead_note_add(lead=lead, by=ae, text="  Met her at the trade show  ")

    timeline = lead_timeline(lead=lead)

    assert timeline[0]["kind"] == "note" and timeline[0]["item"].text == "Met her at the trade show"
    assert {entry["kind"] for entry in timeline} >= {"note", "transition"}
    with pytest.raises(TransitionError):
        lead_note_add(lead=lead, by=outsider, text="hello")
    with pytest.raises(TransitionError, match="write something"):
        lead_note_add(lead=lead, by=ae, text="   ")


def test_a_merge_keeps_the_notes_and_owner_history_of_both(marketer, sdr, other_sdr):
    kept = lead_at(Stage.MQL, owner=sdr, email="kept@example.com")
    dropped = lead_at(Stage.LEAD, email="dropped@example.com")
    lead_note_add(lead=dropped, by=marketer, text="the old note")
    OwnerChange.objects.create(lead=dropped, owner=other_sdr, reason="imported")

    contacts_merge(survivor_id=kept.contact_id, duplicate_id=dropped.contact_id, by=marketer)

    assert list(Note.objects.values_list("lead_id", "text")) == [(kept.pk, "the old note")]
    assert "imported" in [change.reason for change in lead_owners(lead=kept)]
