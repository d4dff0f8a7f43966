"""Forms of the scoring rules page: a rule, a group and the stage rules, edited in a draft.

They validate with the models' own rules (`ScoringRule.clean`, the field validators), over
unsaved instances, so that a draft holds only what could be saved.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from stages.models import FIELD_CHOICES, StageRules

from . import engine
from .drafts import BEHAVIOUR_FIELDS, FIT_RULE_FIELDS, STAGE_FIELDS, group_kind_problem
from .models import RuleGroup, ScoringRule

COMMON_FIELDS = ["name", "points", "max_points", "is_active"]


class _ModelErrorsMixin:
    """Errors the model gives for fields this form does not show go to the form as a whole."""

    def _update_errors(self, errors: ValidationError) -> None:
        if hasattr(errors, "error_dict"):
            remapped: dict[str, list] = {}
            for name, messages in errors.error_dict.items():
                target = name if name in self.fields else NON_FIELD_ERRORS
                remapped.setdefault(target, []).extend(messages)
            errors = ValidationError(remapped)
        super()._update_errors(errors)


class RuleForm(_ModelErrorsMixin, forms.ModelForm):
    """A behaviour or a fit rule of the draft. The kind is fixed when the rule is made."""

    group_key = forms.ChoiceField(label="Group", required=False)

    class Meta:
        model = ScoringRule
        fields = [*COMMON_FIELDS, *BEHAVIOUR_FIELDS, *FIT_RULE_FIELDS]

    def __init__(self, *args: Any, data_set: dict[str, Any], key: str | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.data_set, self.key = data_set, key
        kind = self.instance.kind
        hidden = FIT_RULE_FIELDS if kind == engine.BEHAVIOUR else BEHAVIOUR_FIELDS
        for name in hidden:
            del self.fields[name]
        self.fields["group_key"].choices = [("", "No group")] + [
            (g["key"], str(g["name"])) for g in data_set["groups"]
        ]
        if "field" in self.fields:
            self.fields["field"].choices = [("", "Choose a contact field"), *FIELD_CHOICES]
            self.fields["field"].help_text = "Free-mail and competitor rules read the email."
        if "values" in self.fields:
            self.fields["values"].help_text = "Separate values with commas. " + str(
                self.fields["values"].help_text
            )
            self.fields["values"].required = False
        self.fields["is_active"].help_text = "An inactive rule stays listed and counts nothing."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        group = cleaned.get("group_key") or ""
        problem = group_kind_problem(
            self.data_set, key=self.key or "", kind=self.instance.kind, group=group
        )
        if problem:
            self.add_error("group_key", problem)
        return cleaned

    def spec(self) -> dict[str, Any]:
        """The rule's values for the draft (after the model's clean, which tidies some)."""
        rule = self.instance
        spec = {name: getattr(rule, name) for name in ["kind", *self.Meta.fields]}
        spec["values"] = list(spec["values"])
        spec["group"] = self.cleaned_data.get("group_key") or ""
        return spec


class GroupForm(_ModelErrorsMixin, forms.ModelForm):
    class Meta:
        model = RuleGroup
        fields = ["name", "max_points"]

    def __init__(self, *args: Any, data_set: dict[str, Any], key: str | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.data_set, self.key = data_set, key
        self.fields[
            "max_points"
        ].help_text = "Most points the group's rules give or take together. Empty: no cap."

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        for group in self.data_set["groups"]:
            if group["key"] != self.key and group["name"].casefold() == name.casefold():
                raise ValidationError("Another group has this name.")
        return name

    def validate_unique(self) -> None:
        """Names are unique within the draft (`clean_name`), not against the live rows."""


class StageRulesForm(_ModelErrorsMixin, forms.ModelForm):
    mql_required_fields = forms.MultipleChoiceField(
        label="Fields required for MQL",
        choices=FIELD_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Contact fields that must be known before a lead can be an MQL.",
    )
    sql_required_fields = forms.MultipleChoiceField(
        label="Fields required for SQL",
        choices=FIELD_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Contact fields that must be known before an MQL can be converted to SQL.",
    )

    class Meta:
        model = StageRules
        fields = STAGE_FIELDS

    def values(self) -> dict[str, Any]:
        return {name: getattr(self.instance, name) for name in STAGE_FIELDS}


class PublishForm(forms.Form):
    note = forms.CharField(
        label="Why (optional)",
        max_length=300,
        required=False,
        help_text="Shown in the version history beside your name.",
    )
