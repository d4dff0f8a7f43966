"""The set-based SQL scores every lead exactly as the Python engine explains it."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest
from django.db import connection

from leadflow.people.models import Contact
from leadflow.tracking.models import Event
from scoring import engine, sql
from scoring.models import RescoreRun
from scoring.services import lead_explain, scores_write
from stages.models import Lead

NOW = dt.datetime(2030, 6, 3, 9, 30, 12, 345678, tzinfo=dt.UTC)
MONDAY = dt.datetime(2030, 6, 3, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
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


@pytest.mark.parametrize("seed", range(8))
def test_the_events_aggregated_by_slices_of_pages_then_combined_agree_with_the_engine(
    db, write_key, seed
):
    # A full rescore's two passes: partial aggregates per lead of each slice of the events
    # table (here a page each, so every lead's events fall in several), then per chunk of leads.
    rng = random.Random(seed)
    rules = [_rule(rng, pk) for pk in range(1, rng.randint(2, 12))]
    rules.append(engine.Rule(id=99, name="a page", points=1, event_type="page", max_points=20))
    leads = [_lead(rng, write_key, n) for n in range(30)]
    ids = sorted(lead.pk for lead in leads)
    # Stored again in random order: each lead's events spread over the pages, as over time.
    events = list(Event.objects.all())
    Event.objects.all().delete()
    rng.shuffle(events)
    Event.objects.bulk_create(events, batch_size=7)
    bounds = [ids[0], ids[12], ids[-1] + 1]
    table, keys = sql.partials_table(10**9 + seed), sql.keys_table(10**9 + seed)
    with connection.cursor() as cursor:
        for statement in sql.partials_create(rules, table=table, bounds=bounds):
            cursor.execute(statement)
        # The keys seen more than once: the others are matched by the conditions themselves.
        cursor.execute(*sql.keys_create(rules, table=keys, sample_percent=100))
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {keys}),"
            " (SELECT count(DISTINCT (type, name, url)) FROM tracking_event)"
        )
        known, distinct = cursor.fetchone()
        cursor.execute("SELECT DISTINCT (ctid::text::point)[0]::int FROM tracking_event ORDER BY 1")
        pages = [page for (page,) in cursor.fetchall()]
        for lo, hi in itertools.pairwise([*pages, None]):
            statement, params = sql.partials_insert(
                rules,
                table=table,
                blocks=(lo, hi),
                leads=sql.Leads(lo=bounds[0], hi=bounds[-1]),
                now=NOW,
                keys=keys,
            )
            cursor.execute(statement, params)
        cursor.execute(f"SELECT count(*), count(DISTINCT lead_id) FROM {table}")
        partials, leads_with_partials = cursor.fetchone()

    for lo, hi in itertools.pairwise(bounds):
        scores_write(
            leads=sql.Leads(lo=lo, hi=hi), rules=rules, now=NOW, only_changed=True, partials=table
        )

    assert len(pages) > 1 and partials > leads_with_partials and 0 < known < distinct
    for lead in Lead.objects.select_related("contact").filter(pk__in=ids):
        explained = lead_explain(lead=lead, rules=rules, now=NOW)
        assert (lead.behaviour_score, lead.fit_score, lead.score, lead.scored_at) == (
            explained.behaviour,
            explained.fit,
            explained.total,
            NOW,
        ), (lead.pk, explained.behaviour_exact)


def test_a_rescore_writes_only_the_leads_whose_scores_change_or_are_stale(db, write_key):
    rng = random.Random(7)
    rules = [engine.Rule(id=1, name="page", points=2, event_type="page")]
    same, changes, stale = (_lead(rng, write_key, n) for n in range(3))
    everyone = sql.Leads(lo=same.pk, hi=stale.pk + 1)
    scores_write(leads=everyone, rules=rules, now=NOW - dt.timedelta(days=1))
    Event.objects.filter(lead=changes).update(type="page")
    Lead.objects.filter(pk=stale.pk).update(last_event_at=NOW - dt.timedelta(hours=1))

    written = scores_write(leads=everyone, rules=rules, now=NOW, only_changed=True)

    assert written == 2
    scored_at = dict(Lead.objects.values_list("pk", "scored_at"))
    assert scored_at == {
        same.pk: NOW - dt.timedelta(days=1),  # kept: its stored score is the one computed now
        changes.pk: NOW,
        stale.pk: NOW,  # written: the sweep of stale scores would take it again
    }


def test_no_score_is_written_as_of_a_time_before_a_full_rescore(db, write_key):
    # The rescore read rules as new as any, and scores everyone: an older computation (a task
    # that read the rules before they changed) must not write over what it left unchanged.
    lead = _lead(random.Random(3), write_key, 0)
    rules = [engine.Rule(id=1, name="page", points=2, event_type="page")]
    RescoreRun.objects.create(reason=RescoreRun.Reason.RULES, as_of=NOW)

    earlier = scores_write(leads=sql.Leads(ids=(lead.pk,)), rules=rules, now=NOW - SECOND)
    later = scores_write(leads=sql.Leads(ids=(lead.pk,)), rules=rules, now=NOW + SECOND)

    assert (earlier, later) == (0, 1)


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
