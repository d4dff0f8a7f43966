"""The fields each lead action takes, validated before any service is called."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.forms.models import fields_for_model
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from leadflow.people.models import Contact
from leadflow.people.roles import Role
from stages.models import SALES_SOURCES, Attempt, DisqualifyReason
from stages.services import PROFILE_FIELDS, users_with_role

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
        required=False,  # empty: the round-robin's next AE
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


def _assignee() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=_reps(),
        required=False,
        label="Assign to",
        empty_label="Round-robin (next available)",
        error_messages={"invalid_choice": "Choose an active SDR or AE."},
    )


class AssignForm(forms.Form):
    """Give a lead to a rep by name, or to the round-robin's next one."""

    owner = _assignee()
    reason = forms.CharField(required=False, max_length=500, strip=True)


class NextStepForm(forms.Form):
    next_step = forms.CharField(
        required=False, max_length=200, strip=True, label="Next step", empty_value=""
    )


class NoteForm(forms.Form):
    text = forms.CharField(max_length=5000, strip=True, label="Note", widget=forms.Textarea)


class ProfileForm(forms.Form):
    """The contact's fit fields. The page sends every field with its value, so a field left
    empty clears it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(Contact, fields=PROFILE_FIELDS))


# -- the MQL queue --

SORTS = {
    "newest": "Newest MQLs first",
    "oldest": "Oldest MQLs first",
    "score": "Highest score first",
}
UNASSIGNED = "none"


def score_bands(threshold: int) -> dict[str, tuple[str, int | None, int | None]]:
    """Bands of the total score around the MQL threshold: (label, lowest, highest)."""
    return {
        "cooling": (f"Below {threshold} (cooling)", None, threshold - 1),
        "c": (f"{threshold} to {threshold + 19}", threshold, threshold + 19),
        "b": (f"{threshold + 20} to {threshold + 39}", threshold + 20, threshold + 39),
        "a": (f"{threshold + 40} and above", threshold + 40, None),
    }


# The queue's filters are on every view of the queue, and Django's widget templates (an include
# for each option and each set of attributes) cost a third of the page's rendering: these two
# write the same HTML from Python.


class PlainSelect(forms.Select):
    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> str:
        chosen = set(self.format_value(value))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((key, " selected" if str(key) in chosen else "", text) for key, text in self.choices),
        )
        attrs = flatatt(self.build_attrs(self.attrs, attrs))
        return format_html('<select name="{}"{}>{}</select>', name, attrs, options)


class PlainInput(forms.TextInput):
    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> str:
        value = self.format_value(value)
        shown = format_html(' value="{}"', value) if value is not None else ""
        attrs = flatatt(self.build_attrs(self.attrs, attrs))
        return format_html('<input type="{}" name="{}"{}{}>', self.input_type, name, shown, attrs)


class PlainDateInput(PlainInput, forms.DateInput):
    input_type = "date"


class QueueFilterForm(forms.Form):
    """The filters and order of the MQL queue, read from the query string.

    A bad value is an error on its field, shown above the list; the list then ignores it.
    """

    status = forms.ChoiceField(required=False, label="Status", widget=PlainSelect)
    owner = forms.ChoiceField(required=False, label="Owner", widget=PlainSelect)
    source = forms.CharField(
        required=False, max_length=200, label="First-touch source", widget=PlainInput
    )
    campaign = forms.CharField(
        required=False, max_length=200, label="First-touch campaign", widget=PlainInput
    )
    band = forms.ChoiceField(required=False, label="Score", widget=PlainSelect)
    mql_from = forms.DateField(required=False, label="MQL from", widget=PlainDateInput)
    mql_to = forms.DateField(required=False, label="MQL until", widget=PlainDateInput)
    sort = forms.ChoiceField(
        widget=PlainSelect,
        required=False,
        # The default order has the empty value: a URL without filters stays bare.
        choices=[("" if key == "newest" else key, label) for key, label in SORTS.items()],
        label="Order",
    )

    def __init__(self, *args: Any, threshold: int, statuses: list, reps: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.bands = score_bands(threshold)
        self.fields["status"].choices = [
            ("", "All statuses"),
            *[(s.value, s.label) for s in statuses],
        ]
        self.fields["owner"].choices = [
            ("", "Anyone"),
            (UNASSIGNED, "Unassigned"),
            *[(str(rep.pk), rep.get_username()) for rep in reps],
        ]
        for name in ("status", "owner", "band", "sort"):  # choices apply at once (app.js)
            self.fields[name].widget.attrs["data-autosubmit"] = ""
        self.fields["band"].choices = [
            ("", "Any score"),
            *[(k, v[0]) for k, v in self.bands.items()],
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("mql_from"), data.get("mql_to")
        if start and end and start > end:
            self.add_error("mql_to", "The end date is before the start date.")
        return data

    def filters(self) -> dict[str, Any]:
        """The valid filters, as `stages.selectors.mql_queue` takes them."""
        data = self.cleaned_data if self.is_bound else {}
        valid = {name: data.get(name) for name in self.fields if name not in self.errors}
        band = self.bands.get(valid.get("band") or "")
        owner = valid.get("owner") or ""
        zone = timezone.get_current_timezone()

        def day_start(day: dt.date | None) -> dt.datetime | None:
            return dt.datetime.combine(day, dt.time.min, zone) if day else None

        end = valid.get("mql_to")
        return {
            "status": valid.get("status") or None,
            "owner_id": int(owner) if owner.isdigit() else None,
            "unassigned": owner == UNASSIGNED,
            "source": valid.get("source") or None,
            "campaign": valid.get("campaign") or None,
            "score_min": band[1] if band else None,
            "score_max": band[2] if band else None,
            "mql_from": day_start(valid.get("mql_from")),
            "mql_before": day_start(end + dt.timedelta(days=1)) if end else None,
            "sort": valid.get("sort") or "newest",
        }


BULK_ACTIONS = {
    "assign": "Assign",
    "recycle": "Send back to nurturing (recycle)",
    "disqualify": "Disqualify",
}


class BulkForm(forms.Form):
    """One action on the MQLs ticked in the queue."""

    leads = forms.TypedMultipleChoiceField(coerce=int, label="Leads")
    action = forms.ChoiceField(choices=list(BULK_ACTIONS.items()))
    owner = _assignee()
    recycle_reason = forms.CharField(required=False, max_length=500, strip=True, label="Reason")
    disqualify_reason = forms.ChoiceField(
        required=False,
        choices=[("", "Choose a reason…"), *DisqualifyReason.choices],
        label="Reason",
    )

    MAX = 200

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["leads"].error_messages["required"] = "Tick at least one lead."

    def clean_leads(self) -> list[int]:
        leads = self.cleaned_data["leads"]
        if len(leads) > self.MAX:
            raise forms.ValidationError(f"At most {self.MAX} leads at a time.")
        return leads

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("action")
        if action == "recycle" and not data.get("recycle_reason"):
            self.add_error("recycle_reason", "Say why these leads go back to nurturing.")
        if action == "disqualify" and not data.get("disqualify_reason"):
            self.add_error("disqualify_reason", "Choose why these leads are disqualified.")
        return data


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=60, strip=True, label="Name of this view")


class AvailabilityForm(forms.Form):
    """A rep's capacity and away flag, as the round-robin reads them."""

    capacity = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10_000,
        label="Capacity",
        help_text="Most leads in work at once; empty: no limit.",
    )
    is_away = forms.BooleanField(required=False, label="Away")
