"""The scoring rules of the benchmark: the demo's, and beside them every option of a rule once."""

from __future__ import annotations

from scoring.demo import rules_install
from scoring.models import RuleGroup, ScoringRule

BENCH_RULES = [
    {"name": "Webinar registered (weekly)", "event_type": "track",
     "event_name": "Webinar Registered", "points": 5, "frequency": "period", "period_days": 7,
     "half_life_days": 30},
    {"name": "Enterprise plan interest", "event_type": "track", "property_key": "plan",
     "property_match": "equals", "property_value": "enterprise", "points": 10,
     "frequency": "once", "half_life_days": 60},
    {"name": "Blog reader", "url_match": "regex", "url": r"/blog/[a-z0-9-]+$", "points": 2,
     "max_points": 10, "half_life_days": 14, "group": "Content"},
    {"name": "Docs reader", "url_match": "prefix", "url": "/docs", "points": 2, "group": "Content"},
    {"name": "Free mail", "kind": "fit", "operator": "free_mail", "points": -10},
    {"name": "Competitor", "kind": "fit", "operator": "competitor", "values": ["rival.io"],
     "points": -50},
    {"name": "Mid-size company", "kind": "fit", "field": "company_size", "operator": "between",
     "min_value": 50, "max_value": 5000, "points": 5},
    {"name": "Senior", "kind": "fit", "field": "seniority", "operator": "in",
     "values": ["vp", "c_level", "director"], "points": 5},
    {"name": "Software", "kind": "fit", "field": "industry", "operator": "in",
     "values": ["software", "saas"], "points": 3},
    {"name": "Target country", "kind": "fit", "field": "country", "operator": "in",
     "values": ["France", "Germany", "United States", "United Kingdom"], "points": 2},
    {"name": "No job title", "kind": "fit", "field": "job_title", "operator": "missing",
     "points": -5},
]  # fmt: skip
# The rule a benchmark's "rule change" edits: its points go down by one and back.
CHANGED_RULE = "Pricing page viewed"


def bench_rules_install() -> None:
    """The demo rules and the stage rules, then the benchmark's own (safe to run again)."""
    rules_install()
    for spec in BENCH_RULES:
        spec = {"kind": "behaviour", **spec}
        if group := spec.pop("group", None):
            spec["group"], _ = RuleGroup.objects.get_or_create(
                name=group, defaults={"max_points": 15}
            )
        rule = ScoringRule.objects.filter(name=spec["name"]).first() or ScoringRule()
        for name, value in spec.items():
            setattr(rule, name, value)
        rule.full_clean()
        rule.save()
