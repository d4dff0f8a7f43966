"""What a person can do to a lead from a page: the form it takes and the one service it calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractUser

from stages.models import DisqualifyReason, Lead
from stages.services import (
    LABELS,
    TransitionError,
    assign_problems,
    attempt_log,
    attempt_problems,
    contact_source_direct,
    lead_assign,
    lead_book_meeting,
    lead_convert,
    lead_next_step,
    lead_note_add,
    lead_nurture,
    lead_profile_update,
    lead_qualify,
    lead_transition,
    lead_win,
)

from . import forms as action_forms


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    perm: str  # the role permission (stages.<perm>) without which the endpoint answers 403
    form: type[forms.Form]
    template: str
    run: Callable[[Lead, AbstractUser, dict[str, Any]], object]
    # The flash message: {lead} is the lead, other names are the form's fields.
    done: str

    def message(self, lead: Lead, data: dict[str, Any]) -> str:
        labels = dict(DisqualifyReason.choices)
        reason_label = labels.get(data.get("reason", ""), "").lower()
        return self.done.format(lead=lead, reason_label=reason_label, **data)


def _transition(name: str) -> Callable[[Lead, AbstractUser, dict[str, Any]], object]:
    def run(lead: Lead, by: AbstractUser, data: dict[str, Any]) -> Lead:
        return lead_transition(lead=lead, name=name, by=by, **data)

    return run


def _source_direct(lead: Lead, by: AbstractUser, data: dict[str, Any]) -> Lead:
    # The service finds the contact by email: without one it would pick any email-less contact.
    if not lead.contact.email:
        raise TransitionError("source_direct", ["add an email first"])
    return contact_source_direct(by=by, email=lead.contact.email, **data)


_ACTIONS = [
    Action(
        "attempt",
        "Log attempt",
        "work_lead",
        action_forms.AttemptForm,
        "workspaces/actions/attempt.html",
        lambda lead, by, data: attempt_log(lead=lead, by=by, **data),
        "Attempt logged for {lead}.",
    ),
    Action(
        "nurture",
        LABELS["nurture"],
        "work_lead",
        action_forms.NurtureForm,
        "workspaces/actions/nurture.html",
        lambda lead, by, data: lead_nurture(lead=lead, by=by, **data),
        "{lead} is nurturing until {follow_up_on:%b %d}.",
    ),
    Action(
        "convert",
        LABELS["convert"],
        "convert_lead",
        action_forms.MeetingForm,
        "workspaces/actions/meeting.html",
        lambda lead, by, data: lead_convert(lead=lead, by=by, **data),
        "Meeting booked: {lead} is now an SQL with {ae}.",
    ),
    Action(
        "book_meeting",
        LABELS["book_meeting"],
        "work_lead",
        action_forms.MeetingForm,
        "workspaces/actions/meeting.html",
        lambda lead, by, data: lead_book_meeting(lead=lead, by=by, **data),
        "Meeting booked: {lead} went to {ae}.",
    ),
    Action(
        "win",
        LABELS["win"],
        "win_lead",
        action_forms.WinForm,
        "workspaces/actions/win.html",
        lambda lead, by, data: lead_win(lead=lead, by=by, **data),
        "Deal won: {lead} is a customer.",
    ),
    Action(
        "disqualify",
        LABELS["disqualify"],
        "disqualify_lead",
        action_forms.DisqualifyForm,
        "workspaces/actions/disqualify.html",
        _transition("disqualify"),
        "{lead} was disqualified: {reason_label}.",
    ),
    Action(
        "recycle",
        LABELS["recycle"],
        "recycle_lead",
        action_forms.ReasonForm,
        "workspaces/actions/reason.html",
        _transition("recycle"),
        "{lead} went back to the Lead stage.",
    ),
    Action(
        "hand_back",
        LABELS["hand_back"],
        "hand_back_lead",
        action_forms.ReasonForm,
        "workspaces/actions/reason.html",
        _transition("hand_back"),
        "{lead} went back to their SDR.",
    ),
    Action(
        "qualify",
        LABELS["qualify"],
        "qualify_lead",
        action_forms.NoFieldsForm,
        "workspaces/actions/confirm.html",
        lambda lead, by, data: lead_qualify(lead=lead, by=by),
        "{lead} is now an MQL.",
    ),
    Action(
        "start_attempt",
        LABELS["start_attempt"],
        "work_lead",
        action_forms.NoFieldsForm,
        "workspaces/actions/confirm.html",
        _transition("start_attempt"),
        "{lead} is in contact attempt.",
    ),
    Action(
        "reopen",
        LABELS["reopen"],
        "work_lead",
        action_forms.NoFieldsForm,
        "workspaces/actions/confirm.html",
        _transition("reopen"),
        "{lead} is open again.",
    ),
    Action(
        "source_direct",
        LABELS["source_direct"],
        "source_direct_lead",
        action_forms.SourceDirectForm,
        "workspaces/actions/source_direct.html",
        _source_direct,
        "{lead} entered as a sales-sourced SQL.",
    ),
]
_ACTIONS.append(
    Action(
        "assign",
        LABELS["assign"],
        "assign_lead",
        action_forms.AssignForm,
        "workspaces/actions/assign.html",
        lambda lead, by, data: lead_assign(lead=lead, by=by, **data),
        "{lead} was assigned.",
    )
)
_ACTIONS.append(
    Action(
        "next_step",
        LABELS["next_step"],
        "view_lead",  # the service checks that the lead is the rep's own
        action_forms.NextStepForm,
        "workspaces/actions/next_step.html",
        lambda lead, by, data: lead_next_step(lead=lead, by=by, **data),
        "Next step saved for {lead}.",
    )
)
_ACTIONS += [
    Action(
        "note",
        LABELS["note"],
        "view_lead",
        action_forms.NoteForm,
        "workspaces/actions/note.html",
        lambda lead, by, data: lead_note_add(lead=lead, by=by, **data),
        "Note added to {lead}.",
    ),
    Action(
        "profile",
        LABELS["profile"],
        "view_lead",  # the service checks that the lead is the rep's own
        action_forms.ProfileForm,
        "workspaces/actions/profile.html",
        lambda lead, by, data: lead_profile_update(lead=lead, by=by, **data),
        "Profile of {lead} saved.",
    ),
]
ACTIONS: dict[str, Action] = {action.name: action for action in _ACTIONS}
# The lead page lists the next steps first and the ways out last.
_ORDER = [
    "attempt",
    "qualify",
    "convert",
    "book_meeting",
    "win",
    "start_attempt",
    "nurture",
    "reopen",
    "source_direct",
    "assign",
    "hand_back",
    "disqualify",
    "recycle",
]


def lead_actions(lead: Lead, user: AbstractUser, available: list[dict[str, Any]]) -> list[dict]:
    """The lead page's actions: the available transitions, plus logging an attempt.

    Logging an attempt is not a transition, so `available_actions` does not list it; it is
    offered on the terms `attempt_log` enforces.
    """
    actions = list(available)
    if not attempt_problems(lead, user):
        actions.insert(0, {"name": "attempt", "label": "Log attempt", "problems": []})
    if user.has_perm("stages.assign_lead") and not assign_problems(lead, user, None):
        actions.append({"name": "assign", "label": LABELS["assign"], "problems": []})
    for action in actions:
        known = ACTIONS.get(action["name"])
        action["template"] = known.template if known else None
    actions = [action for action in actions if action["template"]]
    return sorted(actions, key=lambda action: _ORDER.index(action["name"]))
