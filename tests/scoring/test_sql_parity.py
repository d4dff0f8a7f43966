"""The set-based SQL scores every lead exactly as the Python engine explains it."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection

from leadflow.people.models import Contact
from leadflow.tracking.models import Event
from scoring import engine, sql
from scoring.services import lead_explain, scores_write
from stages.models import Lead

NOW = dt.datetime(2030, 6, 3, 9, 30, 12, 345678, tzinfo=dt.UTC)
MONDAY = dt.datetime(2030, 6, 3, tzinfo=dt.UTC)
URLS = [
    "https://www.example.com/",
    "https://www.example.com",
    "https://www.example.com/pricing",
    "https://www.example.com/Pricing/?plan=pro",
    "https://www.example.com/pricing/enterprise#faq",
    "https://www.example.com/demo-site/pricing/",
    "https://www.example.com/?next=/pricing",
    "http://docs.example.com/api/v2?x=1",
    "https://www.example.com/blog/post-12",
    "https://www.example.com/BLOG/post-7/comments",
    "/pricing",
    "/relative/blog/",
    "",
]
NAMES = [
    "Whitepaper Downloaded",
    "whitepaper downloaded",
    "Demo Requested",
    "Login",
    "Signed Up",
    "",
]
PROPERTIES = [
    {},
    {"plan": "Enterprise"},
    {"plan": "pro", "seats": 10},
    {"form": {"id": "book-a-DEMO"}},
    {"trial": True, "plan": None},
    {"items": [{"sku": "A1"}, {"sku": "b2"}]},
]
EMAILS = ["ada@gmail.com", "bob@Engines.co.uk", "eve@eu.rival.io", "x@notrival.io", "", "a@b@c"]


def _rule(rng: random.Random, pk: int) -> engine.Rule:
    group = rng.choice([None, None, 1, 2])
    common = {
        "id": pk,
        "name": f"rule {pk}",
        "points": rng.choice([-30, -7, 1, 3, 5, 10, 25, 40]),
        "max_points": rng.choice([None, None, 0, 12, 30]),
        "group_id": group,
        "group_max_points": {None: None, 1: 45, 2: None}[group],
    }
    if rng.random() < 0.6:
        url_match = rng.choice(["", "contains", "exact", "prefix", "regex"])
        frequency = rng.choice(["every", "every", "once", "period"])
        property_match = rng.choice(["", "", "equals", "contains", "exists"])
        return engine.Rule(
            kind="behaviour",
            event_type=rng.choice(["", "page", "track"]),
            event_name=rng.choice(["", "", "WhitePaper downloaded", "demo requested", "login"]),
            url_match=url_match,
            url={
                "": "",
                "contains": rng.choice(["/pricing", "/", "blog"]),
                "exact": rng.choice(["/", "/pricing", "https://www.example.com/pricing/"]),
                "prefix": rng.choice(["/pricing", "/blog/", "http://docs.example.com/api"]),
                "regex": rng.choice([r"post-[0-9]+$", r"^https://www\.example\.com/p", "(a|b)log"]),
            }[url_match],
            property_key=rng.choice(["plan", "seats", "form.id", "trial", "items.1.sku"]),
            property_match=property_match,
            property_value=rng.choice(["enterprise", "10", "demo", "B2", "true"]),
            frequency=frequency,
            period_days=rng.choice([1, 3, 7]) if frequency == "period" else None,
            half_life_days=rng.choice([None, 1, 7, 30]),
            **common,
        )
    field = rng.choice(["company", "job_title", "country", "seniority", "company_size"])
    if field == "company_size":
        operator = rng.choice(["known", "missing", "between"])
    else:
        operator = rng.choice(["known", "missing", "contains", "in", "free_mail", "competitor"])
    return engine.Rule(
        kind="fit",
        field=field,
        operator=operator,
        values=tuple(rng.sample(["head", "VP", "fr", " DE ", "rival.io", "acme", "c_level"], 2)),
        min_value=rng.choice([None, 10, 200]),
        max_value=rng.choice([None, 500]),
        **common,
    )


def _lead(rng: random.Random, source, n: int) -> Lead:
    contact = Contact.objects.create(
        email=f"p{n}-{rng.choice(EMAILS)}",
        company=rng.choice(["", "Acme", "  "]),
        job_title=rng.choice(["", "Head of Sales", "vp marketing", "Analyst"]),
        country=rng.choice(["", "FR", "de", "France"]),
        seniority=rng.choice(["", "vp", "c_level"]),
        company_size=rng.choice([None, 5, 200, 501]),
    )
    lead = Lead.objects.create(contact=contact)
    moments = [
        MONDAY - dt.timedelta(days=7 * rng.randint(0, 8)),  # a period boundary exactly
        MONDAY - dt.timedelta(microseconds=1),  # the last instant before one
        NOW + dt.timedelta(hours=rng.randint(1, 30)),  # in the future (client clock)
        *(NOW - dt.timedelta(seconds=rng.uniform(0, 200 * 86400)) for _ in range(6)),
    ]
    Event.objects.bulk_create(
        Event(
            source=source,
            message_id=f"{n}-{k}",
            type=rng.choice(["page", "page", "track", "identify"]),
            name=rng.choice(NAMES),
            url=rng.choice(URLS),
            properties=rng.choice(PROPERTIES),
            lead=lead,
            occurred_at=rng.choice(moments),
            received_at=NOW,
        )
        for k in range(rng.randint(0, 25))
    )
    return lead


@pytest.mark.parametrize("seed", range(16))
def test_sql_and_engine_agree_on_generated_leads_and_rules(db, write_key, seed):
    rng = random.Random(seed)
    rules = [_rule(rng, pk) for pk in range(1, rng.randint(2, 12))]
    leads = [_lead(rng, write_key, n) for n in range(30)]

    scores_write(leads=sql.Leads(ids=tuple(lead.pk for lead in leads)), rules=rules, now=NOW)

    for lead in Lead.objects.select_related("contact").filter(pk__in=[lead.pk for lead in leads]):
        explained = lead_explain(lead=lead, rules=rules, now=NOW)
        assert (lead.behaviour_score, lead.fit_score, lead.score) == (
            explained.behaviour,
            explained.fit,
            explained.total,
        ), (lead.pk, explained.behaviour_exact)
        assert lead.scored_at == NOW


def test_a_range_of_lead_ids_scores_those_leads_and_no_others(db, write_key):
    rng = random.Random(99)
    rules = [engine.Rule(id=1, name="page", points=2, event_type="page")]
    _, second, third = (_lead(rng, write_key, n) for n in range(3))

    written = scores_write(leads=sql.Leads(lo=second.pk, hi=third.pk), rules=rules, now=NOW)

    assert written == 1
    scored = Lead.objects.filter(scored_at__isnull=False).values_list("pk", flat=True)
    assert list(scored) == [second.pk]


def test_typed_values_reach_the_database_as_parameters_only(db, write_key):
    hostile = "x'); DROP TABLE stages_lead; --"
    rules = [
        engine.Rule(id=1, name="n", points=1, event_name=hostile),
        engine.Rule(id=2, name="u", points=1, url_match="contains", url=hostile),
        engine.Rule(
            id=3,
            name="p",
            points=1,
            property_key=hostile,
            property_match="equals",
            property_value=hostile,
        ),
        engine.Rule(
            id=4, name="f", points=1, kind="fit", field="company", operator="in", values=(hostile,)
        ),
    ]
    lead = _lead(random.Random(1), write_key, 0)

    statement, params = sql.scores_update(
        rules, leads=sql.Leads(ids=(lead.pk,)), now=NOW, mql=sql.MqlRule(threshold=60)
    )
    scores_write(leads=sql.Leads(ids=(lead.pk,)), rules=rules, now=NOW)

    assert "DROP" not in statement
    assert engine.fold(hostile) in [value for value in params.values() if isinstance(value, str)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM stages_lead")
        assert cursor.fetchone()[0] == 1
