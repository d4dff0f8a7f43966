from __future__ import annotations

from django import forms


class WhitePaperForm(forms.Form):
    """The demo site's download form. Its input names are the ones the snippet reads as traits."""

    email = forms.EmailField(label="Work email")
    first_name = forms.CharField(label="First name", max_length=100)
    last_name = forms.CharField(label="Last name", max_length=100)
    company = forms.CharField(label="Company", max_length=200)
    job_title = forms.CharField(label="Job title", max_length=200)
