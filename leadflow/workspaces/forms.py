"""The fields each lead action takes, validated before any service is called."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from leadflow.people.models import Contact
from leadflow.people.roles import Role
from stages.models import SALES_SOURCES, Attempt, DisqualifyReason
from stages.services import users_with_role

# What <input type="datetime-local"> sends, plus the forms people type by hand.
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
SOURCE_CHOICES = [(source.value, source.label) for source in SALES_SOURCES]


def _future(moment: dt.datetime) -> dt.datetime:
    # A few minutes of grace: the form was filled in before it was sent.
    if moment < timezone.now() - dt.timedelta(minutes=5):
        raise forms.ValidationError("The meeting must be in the future.")
    return moment


class NoFieldsForm(forms.Form):
    """An action that needs nothing but the click (qualify, start attempts, reopen)."""


class AttemptForm(forms.Form):
    channel = forms.ChoiceField(choices=Attempt.Channel.choices)
    outcome = forms.ChoiceField(choices=Attempt.Outcome.choices)
    note = forms.CharField(required=False, max_length=2000, strip=True)


class NurtureForm(forms.Form):
    follow_up_on = forms.DateField(label="Follow up on")
    reason = forms.CharField(required=False, max_length=500, strip=True)

    def clean_follow_up_on(self) -> dt.date:
        day = self.cleaned_data["follow_up_on"]
        if day <= timezone.localdate():
            raise forms.ValidationError("Pick a follow-up day after today.")
        return day


class MeetingForm(forms.Form):
    meeting_at = forms.DateTimeField(label="Meeting", input_formats=DATETIME_FORMATS)
    ae = forms.ModelChoiceField(
        queryset=users_with_role(Role.AE),
        label="Account executive",
        error_messages={"invalid_choice": "Choose an active AE from the list."},
    )

    def clean_meeting_at(self) -> dt.datetime:
        return _future(self.cleaned_data["meeting_at"])


class WinForm(forms.Form):
    deal_value = forms.DecimalField(
        label="Deal value", required=False, min_value=0, max_digits=12, decimal_places=2
    )


class DisqualifyForm(forms.Form):
    reason = forms.ChoiceField(choices=DisqualifyReason.choices)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500, strip=True, error_messages={"required": "Say why, in a few words."}
    )


class SourceDirectForm(forms.Form):
    source = forms.ChoiceField(choices=SOURCE_CHOICES)
    meeting_at = forms.DateTimeField(
        label="Meeting", required=False, input_formats=DATETIME_FORMATS
    )

    def clean_meeting_at(self) -> dt.datetime | None:
        moment = self.cleaned_data["meeting_at"]
        return _future(moment) if moment else None


def _reps() -> Any:
    User = get_user_model()
    return (
        User.objects.filter(groups__name__in=[Role.SDR.value, Role.AE.value], is_active=True)
        .distinct()
        .order_by("username")
    )


class ContactNewForm(forms.Form):
    """A contact that sales sourced itself: it enters as SQL, owned by a rep."""

    email = forms.EmailField(max_length=254)
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    company = forms.CharField(max_length=200, required=False)
    job_title = forms.CharField(max_length=200, required=False)
    phone = forms.CharField(max_length=50, required=False)
    country = forms.CharField(max_length=100, required=False)
    source = forms.ChoiceField(choices=SOURCE_CHOICES)
    meeting_at = forms.DateTimeField(
        label="Meeting booked for", required=False, input_formats=DATETIME_FORMATS
    )
    owner = forms.ModelChoiceField(
        queryset=_reps(),
        required=False,
        empty_label="Me",
        error_messages={"invalid_choice": "Choose an active SDR or AE."},
    )

    def clean_meeting_at(self) -> dt.datetime | None:
        moment = self.cleaned_data["meeting_at"]
        return _future(moment) if moment else None

    def contact_fields(self) -> list[forms.BoundField]:
        """The person's fields, for the first half of the form."""
        names = ["email", "first_name", "last_name", "company", "job_title", "phone", "country"]
        return [self[name] for name in names]


class MergeForm(forms.Form):
    """The duplicate to fold into the contact of the page, found by its email."""

    email = forms.EmailField(label="Email of the duplicate contact")

    def __init__(self, *args: Any, survivor: Contact, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.survivor = survivor

    def clean_email(self) -> Contact:
        duplicate = Contact.objects.by_email(self.cleaned_data["email"]).first()
        if duplicate is None:
            raise forms.ValidationError("No contact has this email.")
        if duplicate.pk == self.survivor.pk:
            raise forms.ValidationError("That is this contact: choose its duplicate.")
        return duplicate
