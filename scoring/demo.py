"""The demo scoring rules: interest in a white paper and pricing, on a lead that fits."""

from __future__ import annotations

from stages.models import StageRules

from .models import ScoringRule

# With the default MQL threshold (60), company and job title known (10) plus a white paper (25)
# and three pricing views (30) make 65: an MQL. Page views alone top out at pricing 30 + any
# page 5, plus the best fit (5 + 5 + 10): 55, below the threshold whatever the fit.
DEMO_RULES = [
    {
        "name": "Whitepaper downloaded",
        "event_type": "track",
        "event_name": "Whitepaper Downloaded",
        "points": 25,
        "max_points": 50,
    },
    {"name": "Demo requested", "event_type": "track", "event_name": "Demo Requested", "points": 40},
    {
        "name": "Pricing page viewed",
        "event_type": "page",
        "url_match": "contains",
        "url": "/pricing",
        "points": 10,
        "max_points": 30,
    },
    {
        "name": "Any page viewed",
        "event_type": "page",
        "url_match": "contains",
        "url": "/",
        "points": 1,
        "max_points": 5,
    },
    {"name": "Unsubscribed", "event_type": "track", "event_name": "Unsubscribed", "points": -30},
    {"name": "Company known", "kind": "fit", "field": "company", "points": 5},
    {"name": "Job title known", "kind": "fit", "field": "job_title", "points": 5},
    {
        "name": "Decision maker",
        "kind": "fit",
        "field": "job_title",
        "operator": "contains",
        "values": ["head"],
        "points": 10,
    },
]


def rules_install() -> None:
    """Install the demo rules and the default stage rules (safe to run again)."""
    for spec in DEMO_RULES:
        spec = {"kind": "behaviour", **spec}
        ScoringRule.objects.update_or_create(name=spec["name"], defaults=spec)
    StageRules.current()
