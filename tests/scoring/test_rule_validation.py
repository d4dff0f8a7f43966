"""A rule that could not mean what its author thinks is an error on the form, said in words."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.forms import modelform_factory

from scoring.models import RuleGroup, ScoringRule

RuleForm = modelform_factory(ScoringRule, exclude=[])


def _errors(**fields) -> dict[str, list[str]]:
    rule = ScoringRule(**{"name": "r", "points": 5, **fields})
    with pytest.raises(ValidationError) as caught:
        rule.full_clean()
    return caught.value.message_dict


def test_a_broken_pattern_is_an_error_on_the_url_field_of_the_form(db):
    form = RuleForm(
        data={
            "name": "Blog",
            "kind": "behaviour",
            "points": 2,
            "url_match": "regex",
            "url": "/blog/(post",
            "frequency": "every",
            "operator": "known",
        }
    )

    assert not form.is_valid()
    assert form.errors["url"][0].startswith(
        "Not a valid pattern: missing ), unterminated subpattern"
    )


def test_a_pattern_python_and_postgresql_read_differently_is_refused(db):
    for pattern in [r"\bpricing\b", r"(?P<page>\w+)", r"(?i)pricing"]:
        assert "read" in _errors(url_match="regex", url=pattern)["url"][0], pattern


def test_a_pattern_postgresql_refuses_is_refused_too(db):
    # A possessive quantifier: Python 3.11 knows it, PostgreSQL does not.
    assert _errors(url_match="regex", url=r"/a++b")["url"] == [
        "Not a valid pattern for PostgreSQL: invalid regular expression: "
        "quantifier operand invalid."
    ]
    assert _errors(url_match="regex", url="x" * 201)["url"] == [
        "Keep the pattern under 200 characters."
    ]


def test_a_valid_pattern_saves(db):
    rule = ScoringRule(name="Blog", points=2, url_match="regex", url=r"/blog/post-[0-9]+$")
    rule.full_clean()


def test_exact_and_prefix_urls_are_paths_or_whole_urls_without_query(db):
    assert "Start with /" in _errors(url_match="exact", url="pricing")["url"][0]
    assert "leave out ? and #" in _errors(url_match="prefix", url="/pricing?plan=pro")["url"][0]
    ScoringRule(name="ok", points=1, url_match="prefix", url="https://docs.x.io/api").full_clean()


def test_a_behaviour_rule_needs_a_criterion_and_a_period_rule_a_period(db):
    assert "needs an event type" in _errors()["__all__"][0]
    assert _errors(event_type="page", frequency="period")["period_days"] == [
        "Give the length of the period in days."
    ]
    assert "Give the URL" in _errors(url_match="contains")["url"][0]
    assert "Name the property" in _errors(property_match="exists")["property_key"][0]
    assert _errors(event_type="page", points=0)["points"] == ["A rule must give or take points."]


def test_fit_rules_check_their_operator_against_the_field(db):
    assert "is a number" in _errors(kind="fit", field="company_size", operator="contains",
                                    values=["x"])["operator"][0]  # fmt: skip
    assert "Only a number" in _errors(kind="fit", field="industry", operator="between",
                                      min_value=1)["operator"][0]  # fmt: skip
    assert _errors(kind="fit", field="company_size", operator="between", min_value=500,
                   max_value=50)["max_value"] == ["The maximum is below the minimum."]  # fmt: skip
    assert _errors(kind="fit", field="job_title", operator="contains", values=[" "])["values"] == [
        "Give at least one value."
    ]
    assert "Not a seniority: boss" in _errors(kind="fit", field="seniority", operator="in",
                                              values=["boss"])["values"][0]  # fmt: skip
    assert _errors(kind="fit", field="company", half_life_days=30)["half_life_days"] == [
        "Fit points do not decay."
    ]
    ScoringRule(name="free", kind="fit", points=-10, operator="free_mail").full_clean()


def test_a_group_keeps_behaviour_and_fit_apart(db):
    group = RuleGroup.objects.create(name="Web", max_points=40)
    ScoringRule.objects.create(name="Pricing", points=10, event_type="page", group=group)

    assert "keep kinds apart" in _errors(kind="fit", field="company", group=group)["group"][0]
