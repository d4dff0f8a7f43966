from __future__ import annotations

from django import forms

from .models import WriteKey


class WriteKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        strip=True,
        help_text="The source that will send with it, e.g. Marketing website.",
        error_messages={"required": "Name the source that will use this key."},
    )
    kind = forms.ChoiceField(choices=WriteKey.Kind.choices, initial=WriteKey.Kind.WEBSITE)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if WriteKey.objects.active().filter(name__iexact=name).exists():
            raise forms.ValidationError("An active key already has this name.")
        return name
