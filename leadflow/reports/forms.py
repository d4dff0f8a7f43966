from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from .queries import DIMENSIONS, Period

PERIODS = [
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("last_90_days", "Last 90 days"),
    ("custom", "Custom dates"),
]
LONGEST = dt.timedelta(days=3 * 366)


class ReportForm(forms.Form):
    """The period (and breakdown dimension) of the reports, from the query string."""

    period = forms.ChoiceField(choices=PERIODS, required=False)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    dimension = forms.ChoiceField(
        choices=[(key, label) for key, (label, _) in DIMENSIONS.items()], required=False
    )

    def clean(self) -> dict:
        data = super().clean()
        today = timezone.localdate()
        kind = data.get("period") or ("custom" if data.get("start") else "last_90_days")
        data["period"] = kind
        if kind == "this_month":
            period = Period(today.replace(day=1), today)
        elif kind == "last_month":
            end = today.replace(day=1) - dt.timedelta(days=1)
            period = Period(end.replace(day=1), end)
        elif kind == "last_90_days":
            period = Period(today - dt.timedelta(days=89), today)
        else:
            start, end = data.get("start"), data.get("end")
            if "start" in self.errors or "end" in self.errors:
                return data
            if start is None or end is None:
                raise forms.ValidationError("Custom dates need a start and an end date.")
            if end < start:
                raise forms.ValidationError("The end date is before the start date.")
            if end - start > LONGEST:
                raise forms.ValidationError("Choose a period of at most three years.")
            period = Period(start, end)
        data["dimension"] = data.get("dimension") or "first_touch_source"
        data["range"] = period
        return data
