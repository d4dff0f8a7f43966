"""Time a full rescore on generated leads and events, beside the floor of one aggregate pass."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from leadflow.people.models import Contact
from leadflow.tracking.models import Event, WriteKey
from scoring.demo import rules_install
from scoring.models import RescoreRun, RuleGroup, ScoringRule
from scoring.services import rescore_chunk, rescore_create
from stages.models import Lead, StageRules

# Beside the demo rules: every option of a rule at least once.
BENCH_RULES = [
    {"name": "Webinar registered (weekly)", "event_type": "track",
     "event_name": "Webinar Registered", "points": 5, "frequency": "period", "period_days": 7,
     "half_life_days": 30},
    {"name": "Enterprise plan interest", "event_type": "track", "property_key": "plan",
     "property_match": "equals", "property_value": "enterprise", "points": 10,
     "frequency": "once", "half_life_days": 60},
    {"name": "Blog reader", "url_match": "regex", "url": r"/blog/post-[0-9]+$", "points": 2,
     "max_points": 10, "half_life_days": 14, "group": "Content"},
    {"name": "Docs reader", "url_match": "prefix", "url": "/docs", "points": 2, "group": "Content"},
    {"name": "Free mail", "kind": "fit", "operator": "free_mail", "points": -10},
    {"name": "Competitor", "kind": "fit", "operator": "competitor", "values": ["rival.io"],
     "points": -50},
    {"name": "Mid-size company", "kind": "fit", "field": "company_size", "operator": "between",
     "min_value": 50, "max_value": 5000, "points": 10},
    {"name": "Senior", "kind": "fit", "field": "seniority", "operator": "in",
     "values": ["vp", "c_level", "director"], "points": 10},
    {"name": "Software", "kind": "fit", "field": "industry", "operator": "in",
     "values": ["software", "saas"], "points": 5},
    {"name": "Target country", "kind": "fit", "field": "country", "operator": "in",
     "values": ["FR", "DE", "US", "GB"], "points": 3},
    {"name": "No job title", "kind": "fit", "field": "job_title", "operator": "missing",
     "points": -5},
]  # fmt: skip

CONTACTS = f"""
INSERT INTO {Contact._meta.db_table} (email, first_name, last_name, company, job_title, phone,
    country, user_id, traits, seniority, industry, company_size, created_at, updated_at)
SELECT 'p' || g || (ARRAY['@gmail.com', '@corp' || mod(g, 997) || '.com', '@rival.io',
        '@acme' || mod(g, 13) || '.io'])[1 + mod(g, 4)],
    'F', 'L', CASE WHEN mod(g, 3) = 0 THEN '' ELSE 'Company ' || mod(g, 5000) END,
    (ARRAY['Head of Sales', 'Analyst', 'VP Marketing', 'CEO', '', 'Engineer'])[1 + mod(g, 6)],
    '', (ARRAY['FR', 'DE', 'US', 'GB', '', 'BR'])[1 + mod(g, 6)], '', '{{}}',
    (ARRAY['', 'vp', 'c_level', 'director', 'manager', 'individual'])[1 + mod(g, 6)],
    (ARRAY['software', 'retail', 'saas', ''])[1 + mod(g, 4)],
    CASE WHEN mod(g, 5) = 0 THEN NULL ELSE mod(g * 37, 10000) END, now(), now()
FROM generate_series(1, %(leads)s) g
"""
LEADS = f"""
INSERT INTO {Lead._meta.db_table} (contact_id, stage, status, source, score, behaviour_score,
    fit_score, created_at, stage_changed_at, became_lead_at, disqualify_reason)
SELECT id, 'lead', '', 'tracking', 0, 0, 0, now(), now(), now(), ''
FROM {Contact._meta.db_table} ORDER BY id
"""
# Event g happens at 90 days * g / events before now, in id order as ingest stores them.
# clustered: a lead's events fall in the weeks after it appeared (lead ids grow with time);
# scattered: any lead any time, the worst case for chunks of lead ids.
EVENTS = f"""
INSERT INTO {Event._meta.db_table} (source_id, message_id, type, name, url, properties, context,
    anonymous_id, user_id, lead_id, occurred_at, received_at)
SELECT %(source)s, 'bench-' || g, t.type,
    CASE t.type WHEN 'track' THEN (ARRAY['Whitepaper Downloaded', 'Demo Requested',
        'Newsletter Subscribed', 'Webinar Registered', 'Unsubscribed'])[1 + mod(g * 7, 5)]
        WHEN 'page' THEN 'Page' ELSE '' END,
    CASE WHEN t.type = 'page' THEN 'https://www.example.com' || (ARRAY['/', '/pricing',
        '/pricing?plan=pro', '/blog/post-' || mod(g, 50), '/features/lead-scoring', '/docs/api',
        '/Pricing/?utm_source=ads', '/blog/'])[1 + mod(g * 13, 8)] ELSE '' END,
    CASE WHEN t.type = 'track' THEN jsonb_build_object('plan',
        (ARRAY['pro', 'free', 'enterprise'])[1 + mod(g, 3)], 'value', mod(g, 100))
        ELSE jsonb_build_object('title', 'A page') END,
    jsonb_build_object('ip', '203.0.113.7', 'userAgent', 'Mozilla/5.0 (X11; Linux x86_64) '
        'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', 'library',
        jsonb_build_object('name', 'analytics.js', 'version', '5.2.0'), 'page',
        jsonb_build_object('path', '/pricing', 'referrer', 'https://www.google.com/')),
    'anon-' || mod(g, %(leads)s), '',
    l.first + CASE WHEN %(scattered)s THEN mod(hashint4(g)::bigint & 2147483647, %(leads)s)
        ELSE greatest(0, floor(g::float8 / %(events)s * %(leads)s)::bigint
            - mod(hashint4(g)::bigint & 2147483647, greatest(1, %(leads)s / 6))) END,
    now() - interval '90 days' + (g::float8 / %(events)s) * interval '90 days',
    now() - interval '90 days' + (g::float8 / %(events)s) * interval '90 days'
FROM generate_series(1, %(events)s) g
CROSS JOIN (SELECT min(id) AS first FROM {Lead._meta.db_table}) l
CROSS JOIN LATERAL (SELECT CASE WHEN mod(g, 10) < 7 THEN 'page' WHEN mod(g, 10) < 9 THEN 'track'
    ELSE 'identify' END AS type) t
"""
FLOOR = f"SELECT count(*) FROM (SELECT lead_id, count(*) FROM {Event._meta.db_table} GROUP BY 1) x"


class Command(BaseCommand):
    help = (
        "Generate leads and events in an empty database (generate_series), install rules "
        "that use every option, and time a full rescore beside one bare aggregate pass."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=50_000)
        parser.add_argument("--events", type=int, default=1_000_000)
        parser.add_argument("--layout", choices=["clustered", "scattered"], default="clustered")
        parser.add_argument("--threads", type=int, default=2, help="chunks run at a time")
        parser.add_argument("--chunks", type=int, help="chunks of lead ids (default: settings)")
        parser.add_argument(
            "--reuse", action="store_true", help="time the leads and rules already there"
        )
        parser.add_argument(
            "--no-qualify",
            action="store_true",
            help="time the scoring alone: auto-qualify is off for the run",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if Lead.objects.exists() and not options["reuse"]:
            raise CommandError(
                "The database has leads: point DATABASE_URL at an empty database, or pass "
                "--reuse to time the rescore of what is there with its rules."
            )
        if not Lead.objects.exists():
            self._generate(options["leads"], options["events"], options["layout"])
        if not ScoringRule.objects.exists():
            self._rules()
        leads, events = Lead.objects.count(), Event.objects.count()
        rules = ScoringRule.objects.filter(is_active=True).count()
        self.stdout.write(f"{leads} leads, {events} events, {rules} active rules")

        floor = self._time(lambda: _execute(FLOOR))
        self.stdout.write(f"floor (one bare GROUP BY lead over the events): {floor:.1f} s")

        stage_rules = StageRules.current()
        auto_qualify = stage_rules.auto_qualify
        if options["no_qualify"]:
            stage_rules.auto_qualify = False
            stage_rules.save()
        chunk_logs = _ChunkLog()
        service_log = logging.getLogger("scoring.services")
        service_log.addHandler(chunk_logs)
        service_log.setLevel(logging.INFO)
        run = rescore_create(reason=RescoreRun.Reason.MANUAL, chunks=options["chunks"])
        run.as_of = timezone.now()
        run.save(update_fields=["as_of"])
        chunk_times: list[float] = []

        def chunk(index: int) -> None:
            started = time.perf_counter()
            try:
                rescore_chunk(run_id=run.pk, index=index)
            finally:
                connection.close()
            chunk_times.append(time.perf_counter() - started)

        with ThreadPoolExecutor(options["threads"]) as pool:
            elapsed = self._time(lambda: list(pool.map(chunk, range(run.chunks))))
        service_log.removeHandler(chunk_logs)
        if stage_rules.auto_qualify != auto_qualify:
            stage_rules.auto_qualify = auto_qualify
            stage_rules.save()
        run.refresh_from_db()
        scoring = sum(r.args[3] for r in chunk_logs.records)
        qualifying = sum(r.args[5] for r in chunk_logs.records)
        self.stdout.write(
            f"full rescore: {elapsed:.1f} s in {run.chunks} chunks, {options['threads']} at a "
            f"time (chunk {min(chunk_times):.1f}-{max(chunk_times):.1f} s); "
            f"{events / elapsed:,.0f} events/s, {leads / elapsed:,.0f} leads/s; "
            f"{elapsed / floor:.1f}x the floor"
        )
        self.stdout.write(
            f"  of which, summed over chunks: scoring statements {scoring:.1f} s, "
            f"qualifying {run.qualified} leads through the state machine {qualifying:.1f} s"
        )

    def _time(self, work) -> float:
        started = time.perf_counter()
        work()
        return time.perf_counter() - started

    def _generate(self, leads: int, events: int, layout: str) -> None:
        started = time.perf_counter()
        source, _ = WriteKey.objects.get_or_create(name="Benchmark")
        params = {"leads": leads, "events": events, "source": source.pk}
        _execute(CONTACTS, params)
        _execute(LEADS)
        _execute(EVENTS, {**params, "scattered": layout == "scattered"})
        _execute("ANALYZE")
        self.stdout.write(f"generated in {time.perf_counter() - started:.0f} s ({layout})")

    def _rules(self) -> None:
        rules_install()
        for spec in BENCH_RULES:
            spec = {"kind": "behaviour", **spec}
            if group := spec.pop("group", None):
                spec["group"], _ = RuleGroup.objects.get_or_create(
                    name=group, defaults={"max_points": 15}
                )
            rule = ScoringRule(**spec)
            rule.full_clean()
            rule.save()


class _ChunkLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("rescore "):
            self.records.append(record)


def _execute(statement: str, params: dict[str, Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
