"""Generate a believable website history and funnel inside PostgreSQL, fast.

Everything is built server-side with `generate_series` (no row crosses the wire): companies,
people, job titles, countries and firmographics; every lead's browser and the anonymous browsers
that never say who they are (most visitors); sessions that arrive through UTM campaigns or
referrers, with page views, form fills, identify and alias calls; and a funnel in which a few
percent of the leads become customers over weeks, with the audit trail of each stage they
entered.

Every row is computed once, in the statement that inserts it: what is shared by many rows (a
company, a page with its campaign, a browser's address and user agent) is built once in a small
table and joined, and nothing is updated after it is written. Events are written in time order,
slice by slice over a couple of connections, like the tracking API stores them, so a lead's
events are spread over the table as they would be in production. At large sizes the tables are
loaded without their secondary indexes, unique and foreign keys (two lines of work in parallel,
since nothing checks one table against another then), and those are built again at the end.

`generate()` takes a libpq connection string; `django_conninfo()` gives the one of Django's
default database, so a management command (the demo loader, `rescore_bench`) can call it too.
Stage fields are written directly here, as a fixture does: the generated history is a past that
already happened. The scores are not: a full rescore computes them afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import psycopg

from leadflow.people.demo import data

Progress = Callable[[str, int, int], None]

# Visitors that never identify, for each lead: most visitors stay anonymous.
ANONYMOUS_PER_LEAD = 3
# Share of the leads (among those whose company and title are known) that end in each stage.
FUNNEL = {"customer": 0.035, "sql": 0.03, "mql": 0.09, "disqualified": 0.05}
# Share of the leads who gave an email and nothing else (no company, no job title).
COLD_SHARE = 0.25
SLICES = 24  # the events are written in this many statements, two at a time
SITE = data.SITE

BROWSING = [
    *[(path, title) for path, title in data.PAGES.items() if path != "/pricing"],
    *data.BLOG_POSTS.items(),
    *data.BLOG_POSTS.items(),
    *data.CUSTOMER_STORIES.items(),
    ("/docs", "Documentation"),
    ("/docs/tracking-api", "Tracking API"),
    ("/docs/scoring-rules", "Scoring rules"),
    ("/docs/integrations/segment", "Segment integration"),
]
INDUSTRY_OF_KIND = {
    "Software": "software",
    "Cloud": "saas",
    "Data": "saas",
    "Analytics": "software",
    "Networks": "software",
    "Security": "software",
    "Payments": "fintech",
    "Capital": "fintech",
    "Insurance": "insurance",
    "Health": "healthcare",
    "Bio": "healthcare",
    "Logistics": "logistics",
    "Travel": "travel",
    "Retail": "retail",
    "Foods": "retail",
    "Media": "media",
    "Studios": "media",
    "Energy": "energy",
    "Manufacturing": "manufacturing",
    "Robotics": "manufacturing",
    "Learning": "education",
    "Consulting": "services",
    "Labs": "software",
    "Systems": "software",
}
COMPANY_SUFFIXES = ["", " Group", " Inc", " Labs", " & Co", " Holdings", " Partners", " Global"]
TRACK_EVENTS_WARM = ["Newsletter Subscribed"] * 6 + ["Webinar Registered"] * 3 + ["Unsubscribed"]
SIZE_BANDS = [(1, 10, 15), (11, 50, 30), (51, 200, 30), (201, 1000, 18), (1001, 20000, 7)]


def _seniority(title: str) -> str:
    lowered = title.lower()
    if lowered.startswith(("cmo", "cto", "founder")):
        return "c_level"
    if lowered.startswith("vp"):
        return "vp"
    if lowered.startswith("head") or "director" in lowered:
        return "director"
    if "manager" in lowered:
        return "manager"
    return "individual"


def _weighted(pairs: list[tuple[object, int]]) -> list[object]:
    return [value for value, weight in pairs for _ in range(weight)]


@dataclass
class Generated:
    leads: int = 0
    contacts: int = 0
    visitors: int = 0
    events: int = 0
    transitions: int = 0
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)


def django_conninfo() -> str:
    """The libpq connection string of Django's default database."""
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v is not None})


def generate(
    conninfo: str,
    *,
    leads: int,
    events: int,
    source_id: int,
    sdr_ids: list[int],
    ae_ids: list[int],
    marketer_id: int | None = None,
    days: int = 90,
    seed: float = 0.42,
    end: dt.datetime | None = None,
    progress: Progress | None = None,
    write_events: bool = True,
) -> Generated:
    """Add about `leads` leads (with their contacts, browsers and stages) and `events` events.

    Generated rows take ids after those already there. Returns the counts and the time taken.
    Without `write_events`, everything but the events themselves is written (their sessions
    too, which the leads' last activity comes from): the lead side, timed apart.
    """
    if leads < 1 or events < leads * 4:
        raise ValueError("need at least one lead and four events a lead")
    end = end or dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = end - dt.timedelta(days=days)
    result = Generated()
    started = time.perf_counter()
    report = _locked(progress or (lambda step, done, total: None))
    params = _params(leads, events, start, end, source_id, sdr_ids, ae_ids, marketer_id, seed)
    big = leads >= BIG_LEADS
    big_events = write_events and events >= BIG_EVENTS
    tables = [*(_LEAD_TABLES if big else []), *(_EVENT_TABLES if big_events else [])]
    with _connect(conninfo) as conn:
        _session(conn, seed)
        _steps(conn, _PREPARE, params, result, report)
        rebuild = _indexes_drop(conn, tables)
        try:
            if big:
                # Without their keys, the tables fill in any order: two lines of work, a
                # connection each (the leads' sessions, then what needs them; the people, their
                # audit trail, the anonymous visits and browsers), about equal in CPU.
                both = _counting(report, "sessions, people, leads", len(_HISTORY) + len(_PEOPLE))
                _parallel(
                    conninfo,
                    [
                        lambda c: _steps(c, _HISTORY, params, result, both),
                        lambda c: _steps(c, _PEOPLE, params, result, both),
                    ],
                    seed,
                )
            else:
                # With them, each row's references first, and a browser id met before is
                # skipped (its unique key is there to say so).
                skip = "ON CONFLICT DO NOTHING"
                steps = [
                    ("contacts", _CONTACTS),
                    ("sessions", _SESSIONS),
                    ("visits", _VISITS),
                    ("visitors", _VISITORS + skip),
                    ("lead visitors", _VISITORS_LEADS + skip),
                    ("leads", _LEADS),
                    ("transitions", _TRANSITIONS),
                ]
                _steps(conn, steps, params, result, report)
            if write_events:
                step = time.perf_counter()
                _events_write(conninfo, _slices(conn), params, seed, report)
                result.steps["events"] = time.perf_counter() - step
        finally:
            step = time.perf_counter()
            _indexes_build(conninfo, rebuild, seed, report)
            result.steps["indexes"] = time.perf_counter() - step
        row = conn.execute(
            "SELECT (SELECT count(*) FROM bench_gen_lead),"
            " (SELECT sum(n) FROM bench_gen_session) + (SELECT sum(n) FROM bench_gen_visit),"
            " (SELECT count(*) FROM bench_gen_lead) * (1 + %(anonymous)s),"
            " (SELECT count(*) FROM stages_leadtransition"
            "  WHERE lead_id >= (SELECT min(lid) FROM bench_gen_lead))",
            {"anonymous": ANONYMOUS_PER_LEAD},
        ).fetchone()
        result.leads, result.events, result.visitors, result.transitions = row
        result.contacts = result.leads
        conn.execute(f"DROP TABLE IF EXISTS {', '.join(_SCRATCH)}")
        step = time.perf_counter()
        report("analyze", 0, 1)
        _parallel(
            conninfo,
            [
                lambda c: c.execute("ANALYZE tracking_event") if write_events else None,
                lambda c: c.execute(
                    "ANALYZE people_contact, stages_lead, people_visitor, stages_leadtransition"
                ),
            ],
            seed,
        )
        report("analyze", 1, 1)
        result.steps["analyze"] = time.perf_counter() - step
    result.seconds = time.perf_counter() - started
    return result


def _params(
    leads: int,
    events: int,
    start: dt.datetime,
    end: dt.datetime,
    source_id: int,
    sdr_ids: list[int],
    ae_ids: list[int],
    marketer_id: int | None,
    seed: float,
) -> dict[str, object]:
    titles = _weighted(data.JOB_TITLES)
    countries = _weighted([((c[0], c[3], c[4]), c[1]) for c in data.COUNTRIES])
    channels = _weighted([((c, ref), w) for w, c, ref in data.ACQUISITION])
    bands = _weighted([((lo, hi), w) for lo, hi, w in SIZE_BANDS])
    return {
        "leads": leads,
        "events": events,
        "anonymous": ANONYMOUS_PER_LEAD,
        "start": start,
        "end": end,
        "span": (end - start).total_seconds(),
        "source": source_id,
        "sdrs": sdr_ids or [None],
        "aes": ae_ids or [None],
        "marketer": marketer_id,
        "cold": COLD_SHARE,
        "p_customer": FUNNEL["customer"],
        "p_sql": FUNNEL["sql"],
        "p_mql": FUNNEL["mql"],
        "p_dq": FUNNEL["disqualified"],
        "first_names": data.FIRST_NAMES,
        "last_names": data.LAST_NAMES,
        "words": data.COMPANY_WORDS,
        # The same names as an email address spells them (lower case, letters only).
        "first_locals": [_local(name) for name in data.FIRST_NAMES],
        "last_locals": [_local(name) for name in data.LAST_NAMES],
        "word_locals": [_local(word).replace(".", "") for word in data.COMPANY_WORDS],
        "kinds": data.COMPANY_KINDS,
        "industries": [INDUSTRY_OF_KIND.get(kind, "") for kind in data.COMPANY_KINDS],
        "suffixes": COMPANY_SUFFIXES,
        "titles": titles,
        "seniorities": [_seniority(title) for title in titles],
        "countries": [c[0] for c in countries],
        "tlds": [c[1] for c in countries],
        "phone_prefixes": [c[2] for c in countries],
        "band_lo": [b[0] for b in bands],
        "band_hi": [b[1] for b in bands],
        "freemail": data.FREEMAIL,
        "ch_source": [(c or {}).get("source", "") for c, _ in channels],
        "ch_medium": [(c or {}).get("medium", "") for c, _ in channels],
        "ch_name": [(c or {}).get("name", "") for c, _ in channels],
        "ch_referrer": [ref for _, ref in channels],
        "paths": [path for path, _ in BROWSING],
        "titles_of_paths": [title for _, title in BROWSING],
        "user_agents": data.USER_AGENTS,
        # A browser's address and user agent repeat with its number modulo this.
        "browsers": 250 * len(data.USER_AGENTS),
        "whitepapers": data.WHITEPAPERS,
        "webinars": data.WEBINARS,
        "warm_tracks": TRACK_EVENTS_WARM,
        "seed": seed,
        # Message ids and anonymous ids of one call never meet those of another.
        "salt": secrets.token_hex(2),
        "site": SITE,
    }


def _local(name: str) -> str:
    return re.sub(r"[^a-z.]", "", name.lower())


def _session(conn: psycopg.Connection, seed: float) -> None:
    # An element of an array by a hash (any integer) or by a non-negative number. Inlined.
    conn.execute(
        "CREATE FUNCTION pg_temp.pick(a anyarray, h bigint) RETURNS anyelement"
        " LANGUAGE sql IMMUTABLE AS 'SELECT a[1 + (h & 65535) % cardinality(a)]'"
    )
    conn.execute(
        "CREATE FUNCTION pg_temp.nth(a anyarray, n bigint) RETURNS anyelement"
        " LANGUAGE sql IMMUTABLE AS 'SELECT a[1 + n % cardinality(a)]'"
    )
    conn.execute("SET synchronous_commit = off")
    # The row estimates of generate_series are wild: JIT would compile for seconds each slice.
    conn.execute("SET jit = off")
    conn.execute("SET work_mem = '256MB'")
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SELECT setseed(%s)", [seed])


def _connect(conninfo: str) -> psycopg.Connection:
    # Client-side binding: the generator's steps are several statements with parameters each.
    return psycopg.connect(conninfo, autocommit=True, cursor_factory=psycopg.ClientCursor)


def _locked(report: Progress) -> Progress:
    lock = threading.Lock()

    def locked(step: str, done: int, total: int) -> None:
        with lock:
            report(step, done, total)

    return locked


def _counting(report: Progress, label: str, total: int) -> Progress:
    """One progress line for steps that run at the same time: how many are done."""
    done = 0
    lock = threading.Lock()
    report(label, 0, total)

    def counting(step: str, step_done: int, step_total: int) -> None:
        nonlocal done
        if step_done == step_total:
            with lock:
                done += 1
                report(label, done, total)

    return counting


def _steps(
    conn: psycopg.Connection,
    steps: list[tuple[str, str]],
    params: dict[str, object],
    result: Generated,
    report: Progress,
) -> None:
    for name, statement in steps:
        report(name, 0, 1)
        step = time.perf_counter()
        conn.execute(statement, params)
        result.steps[name] = time.perf_counter() - step
        report(name, 1, 1)


def _parallel(
    conninfo: str, lines: list[Callable[[psycopg.Connection], object]], seed: float
) -> None:
    """Run each line of work on a connection of its own, at the same time."""

    def run(numbered: tuple[int, Callable[[psycopg.Connection], object]]) -> None:
        number, line = numbered
        with _connect(conninfo) as conn:
            _session(conn, (seed + number / 1000) % 1)
            line(conn)

    with ThreadPoolExecutor(len(lines)) as pool:
        list(pool.map(run, enumerate(lines)))


# Each lead: when it first identified (lead n identifies at the n-th share of the period, so ids
# grow with time as they do in production), whether it is cold (email only), its company, its
# final stage and when it entered each stage, all in one pass (a customer needs weeks: a lead too
# young for that is still an SQL).
_GEN_LEAD = """
DROP TABLE IF EXISTS {scratch};
CREATE UNLOGGED TABLE bench_gen_lead AS
SELECT w.*, CASE WHEN stage = 'customer'
        THEN sql_at + (%(end)s::timestamptz - sql_at) * (0.2 + 0.7 * r5) END AS won_at
FROM (
    SELECT v.*, CASE WHEN stage IN ('sql', 'customer')
            THEN coalesce(mql_at, t_id)
                + (%(end)s::timestamptz - coalesce(mql_at, t_id)) * (0.1 + 0.3 * r4) END AS sql_at
    FROM (
        SELECT u.*,
            CASE WHEN stage IN ('mql', 'sql', 'customer') AND source = 'tracking'
                THEN t_id + (%(end)s::timestamptz - t_id) * (0.05 + 0.25 * r2) END AS mql_at,
            CASE WHEN stage = 'disqualified'
                THEN t_id + (%(end)s::timestamptz - t_id) * r3 END AS out_at
        FROM (
            SELECT n, cid, lid, t_id, cold, r2, r3, r4, r5,
                CASE WHEN young THEN 'sql' ELSE stage END AS stage,
                CASE WHEN young THEN 'active' ELSE CASE stage
                    WHEN 'mql' THEN (ARRAY['open', 'open', 'contact_attempt', 'nurturing'])
                        [1 + floor(r2 * 4)::int]
                    WHEN 'sql' THEN CASE WHEN r2 < 0.7 THEN 'active' ELSE 'contact_attempt' END
                    ELSE '' END END AS status,
                CASE WHEN stage IN ('sql', 'customer') AND r3 < 0.2
                    THEN (ARRAY['outbound', 'event', 'referral'])[1 + floor(r4 * 3)::int]
                    ELSE 'tracking' END AS source,
                -- Browser ids sort as they are written (see `_VISITORS`).
                %(salt)s || lpad(to_hex(n), 8, '0') || '-' || to_hex(hashint8(n * 7 + 1)::bigint)
                    AS anon_id,
                CASE WHEN r5 < 0.8 THEN 'u' || n ELSE '' END AS user_id,
                1 + floor(random() * 64)::int AS channel,
                -- A company has several people: company c takes a share that falls with c.
                floor(power(r2, 1.6) * greatest(60, %(leads)s / 6))::int AS co
            FROM (
                SELECT x.*, stage = 'customer'
                    AND t_id > %(end)s::timestamptz - interval '21 days' AS young
                FROM (
                    SELECT n, n + (SELECT coalesce(max(id), 0) FROM people_contact) AS cid,
                        n + (SELECT coalesce(max(id), 0) FROM stages_lead) AS lid,
                        %(start)s::timestamptz
                            + make_interval(secs => %(span)s * (n - random()) / %(leads)s)
                            AS t_id,
                        cold, r2, r3, r4, r5,
                        CASE WHEN cold THEN CASE WHEN r1 < 0.04 THEN 'disqualified' ELSE 'lead' END
                            WHEN r1 < %(p_customer)s THEN 'customer'
                            WHEN r1 < %(p_customer)s + %(p_sql)s THEN 'sql'
                            WHEN r1 < %(p_customer)s + %(p_sql)s + %(p_mql)s THEN 'mql'
                            WHEN r1 < %(p_customer)s + %(p_sql)s + %(p_mql)s + %(p_dq)s
                                THEN 'disqualified'
                            ELSE 'lead' END AS stage
                    FROM (SELECT n, random() < %(cold)s AS cold, random() AS r1, random() AS r2,
                              random() AS r3, random() AS r4, random() AS r5
                          FROM generate_series(1, %(leads)s) n) g
                ) x
            ) y
        ) u
    ) v
) w;
ANALYZE bench_gen_lead;
-- The companies, once each: word and kind, a suffix, then a number once the suffixes are taken.
CREATE UNLOGGED TABLE bench_gen_company AS
SELECT c, word || ' ' || pg_temp.pick(%(kinds)s::text[], hashint8(c * 23))
        || pg_temp.nth(%(suffixes)s::text[], c / cardinality(%(words)s::text[]))
        || CASE WHEN c >= pairs THEN ' ' || (c / pairs + 1) ELSE '' END AS company,
    pg_temp.pick(%(industries)s::text[], hashint8(c * 23)) AS industry,
    pg_temp.pick(%(countries)s::text[], hashint8(c * 13)) AS country,
    pg_temp.pick(%(phone_prefixes)s::text[], hashint8(c * 13)) AS phone_prefix,
    pg_temp.nth(%(word_locals)s::text[], c) || c || pg_temp.pick(%(tlds)s::text[], hashint8(c * 13))
        AS domain,
    pg_temp.pick(%(band_lo)s::int[], hashint8(c * 17))
        + (hashint8(c * 19)::bigint & 65535) %% greatest(1,
            pg_temp.pick(%(band_hi)s::int[], hashint8(c * 17))
            - pg_temp.pick(%(band_lo)s::int[], hashint8(c * 17))) AS size
FROM (SELECT c, pg_temp.nth(%(words)s::text[], c) AS word,
          cardinality(%(words)s::text[]) * cardinality(%(suffixes)s::text[]) AS pairs
      FROM generate_series(0, greatest(60, %(leads)s / 6)) c) w;
ANALYZE bench_gen_company;
-- The page part of every event's properties and context: by page (0 is the pricing page) and
-- by channel for the first page of a visit (its campaign and referrer; 0 for the later pages).
CREATE UNLOGGED TABLE bench_gen_page AS
SELECT pi, v, title, url, page AS properties,
    jsonb_build_object('locale', 'en-US',
        'library', jsonb_build_object('name', 'analytics.js', 'version', 'npm:next-1.70.0'),
        'page', page)
    || CASE WHEN v > 0 AND src <> '' THEN jsonb_build_object('campaign',
        jsonb_build_object('source', src, 'medium', med, 'name', cmp)) ELSE '{{}}'::jsonb END
        AS context
FROM (
    SELECT pi, v, title, src, med, cmp, url, jsonb_build_object('path', path, 'url', url,
        'title', title, 'referrer', referrer, 'search', search) AS page
    FROM (
        SELECT pi, v, path, title, src, med, cmp, search, %(site)s || path || search AS url,
            CASE WHEN v > 0 THEN ref ELSE %(site)s || '/' END AS referrer
        FROM (
            SELECT p.pi, ch.v, ch.src, ch.med, ch.cmp, ch.ref,
                CASE WHEN p.pi = 0 THEN '/pricing' ELSE (%(paths)s::text[])[p.pi] END AS path,
                CASE WHEN p.pi = 0 THEN 'Pricing' ELSE (%(titles_of_paths)s::text[])[p.pi] END
                    AS title,
                CASE WHEN ch.v > 0 AND ch.src <> ''
                    THEN '?utm_source=' || ch.src || '&utm_medium=' || ch.med
                        || '&utm_campaign=' || ch.cmp
                    ELSE '' END AS search
            FROM generate_series(0, cardinality(%(paths)s::text[])) p (pi)
            CROSS JOIN (SELECT v,
                pg_temp.nth(%(ch_source)s::text[], v - 1) AS src,
                pg_temp.nth(%(ch_medium)s::text[], v - 1) AS med,
                pg_temp.nth(%(ch_name)s::text[], v - 1) AS cmp,
                pg_temp.nth(%(ch_referrer)s::text[], v - 1) AS ref
                FROM generate_series(0, 64) v) ch
        ) a
    ) b
) c;
-- A browser's part of the context: its address and user agent.
CREATE UNLOGGED TABLE bench_gen_browser AS
SELECT b, jsonb_build_object('ip', '203.0.' || (b %% 250) || '.' || (b * 7 %% 250),
    'userAgent', pg_temp.nth(%(user_agents)s::text[], b)) AS context
FROM generate_series(0, %(browsers)s - 1) b;
-- The visitors who never identify: one visit, or two.
CREATE UNLOGGED TABLE bench_gen_anon AS
SELECT v, 'v' || %(salt)s || lpad(to_hex(v), 8, '0') || '-' || to_hex(hashint8(v * 7 + 3)::bigint)
        AS anon,
    %(start)s::timestamptz + make_interval(secs => %(span)s * random()) AS at,
    CASE WHEN random() < 0.2
        THEN %(start)s::timestamptz + make_interval(secs => %(span)s * random()) END AS again
FROM generate_series(1, %(leads)s * %(anonymous)s) v;
ANALYZE bench_gen_page, bench_gen_browser;
"""
_SCRATCH = [
    "bench_gen_lead",
    "bench_gen_company",
    "bench_gen_page",
    "bench_gen_browser",
    "bench_gen_anon",
    "bench_gen_session",
    "bench_gen_visit",
    "bench_gen_seen",
]

_CONTACTS = """
INSERT INTO people_contact (id, email, first_name, last_name, company, job_title, phone, country,
    user_id, traits, seniority, industry, company_size, created_at, updated_at)
SELECT cid, email, first_name, last_name, company, job_title, phone, country, user_id,
    -- (The cold gave their name and email only: their traits need no stripping.)
    CASE WHEN cold THEN jsonb_build_object('email', email, 'firstName', first_name,
            'lastName', last_name)
        ELSE jsonb_strip_nulls(jsonb_build_object('email', email, 'firstName', first_name,
            'lastName', last_name, 'company', nullif(company, ''), 'title', nullif(job_title, ''),
            'phone', nullif(phone, ''), 'country', nullif(country, ''))) END,
    seniority, industry, company_size, t_id, t_id
FROM (
    SELECT l.cid, l.user_id, l.t_id, l.cold, f.first_name, f.last_name,
        CASE WHEN l.cold THEN '' ELSE co.company END AS company,
        CASE WHEN l.cold THEN '' ELSE t.title END AS job_title,
        CASE WHEN l.cold THEN '' ELSE t.seniority END AS seniority,
        CASE WHEN l.cold THEN '' ELSE co.industry END AS industry,
        CASE WHEN l.cold THEN NULL ELSE co.size END AS company_size,
        CASE WHEN l.cold THEN '' ELSE co.country END AS country,
        CASE WHEN l.cold OR l.r3 > 0.5 THEN '' ELSE co.phone_prefix || ' '
            || (100000000 + (hashint8(l.n)::bigint & 1073741823) %% 899999999) END AS phone,
        f.local || l.n || '@' || CASE WHEN l.cold OR l.r4 < 0.12
                THEN pg_temp.nth(%(freemail)s::text[], l.n)
                ELSE co.domain END AS email
    FROM bench_gen_lead l
    JOIN bench_gen_company co ON co.c = l.co
    CROSS JOIN LATERAL (SELECT
        pg_temp.pick(%(first_names)s::text[], hashint8(l.n * 3)) AS first_name,
        pg_temp.pick(%(last_names)s::text[], hashint8(l.n * 5)) AS last_name,
        pg_temp.pick(%(first_locals)s::text[], hashint8(l.n * 3)) || '.'
            || pg_temp.pick(%(last_locals)s::text[], hashint8(l.n * 5)) AS local) f
    CROSS JOIN LATERAL (SELECT
        pg_temp.pick(%(titles)s::text[], hashint8(l.n * 11)) AS title,
        pg_temp.pick(%(seniorities)s::text[], hashint8(l.n * 11)) AS seniority) t
) p
ORDER BY cid;
SELECT setval(pg_get_serial_sequence('people_contact', 'id'), (SELECT max(id) FROM people_contact));
"""

_LEADS = """
INSERT INTO stages_lead (id, contact_id, stage, status, source, owner_id, sdr_id, score,
    behaviour_score, fit_score, last_event_at, meeting_at, follow_up_on, deal_value,
    disqualify_reason, created_at, stage_changed_at, became_lead_at, became_mql_at,
    became_sql_at, became_customer_at, disqualified_at, first_touch_source, first_touch_medium,
    first_touch_campaign, first_touch_at, last_touch_source, last_touch_medium,
    last_touch_campaign, last_touch_at)
SELECT lid, cid, stage, status, source,
    CASE WHEN stage = 'mql' AND (status <> 'open' OR r3 < 0.5) THEN sdr
        WHEN stage = 'sql' AND status = 'contact_attempt' THEN sdr
        WHEN stage IN ('sql', 'customer') THEN ae END,
    CASE WHEN stage IN ('sql', 'customer') AND status <> 'contact_attempt' THEN sdr END,
    0, 0, 0, seen.last_event,
    CASE WHEN stage = 'sql' AND status = 'active'
        THEN %(end)s::timestamptz
            + make_interval(days => 1 + floor(r3 * 14)::int, hours => 9 + floor(r4 * 8)::int) END,
    CASE WHEN status = 'nurturing'
        THEN (%(end)s::timestamptz + make_interval(days => 7 + floor(r5 * 80)::int))::date END,
    CASE WHEN stage = 'customer' THEN round((4800 + power(r4, 2) * 90000)::numeric, -2) END,
    CASE WHEN stage = 'disqualified' THEN
        (ARRAY['not_a_fit', 'no_budget', 'no_response', 'competitor', 'spam', 'duplicate'])
            [1 + floor(r4 * 6)::int]
        ELSE '' END,
    t_id, greatest(t_id, mql_at, sql_at, won_at, out_at), t_id, mql_at, sql_at, won_at, out_at,
    CASE WHEN ch.src <> '' THEN ch.src WHEN ch.ref <> '' THEN 'google' ELSE 'direct' END,
    CASE WHEN ch.med <> '' THEN ch.med WHEN ch.ref <> '' THEN 'organic' ELSE 'none' END,
    ch.cmp, t_id,
    CASE WHEN ch.src <> '' THEN ch.src WHEN ch.ref <> '' THEN 'google' ELSE 'direct' END,
    CASE WHEN ch.med <> '' THEN ch.med WHEN ch.ref <> '' THEN 'organic' ELSE 'none' END,
    ch.cmp, t_id
FROM bench_gen_lead l
-- When its browser last sent something: the last event of its last visit.
JOIN bench_gen_seen seen USING (n)
CROSS JOIN LATERAL (SELECT
    pg_temp.nth(%(sdrs)s::bigint[], l.n) AS sdr,
    pg_temp.nth(%(aes)s::bigint[], l.n) AS ae,
    pg_temp.nth(%(ch_source)s::text[], l.channel - 1) AS src,
    pg_temp.nth(%(ch_medium)s::text[], l.channel - 1) AS med,
    pg_temp.nth(%(ch_name)s::text[], l.channel - 1) AS cmp,
    pg_temp.nth(%(ch_referrer)s::text[], l.channel - 1) AS ref) ch
ORDER BY lid;
SELECT setval(pg_get_serial_sequence('stages_lead', 'id'), (SELECT max(id) FROM stages_lead));
"""

# The audit trail of every stage each lead entered, as the services would have written it.
_TRANSITIONS = """
INSERT INTO stages_leadtransition (lead_id, name, field, source, target, by_id, actor, reason,
    data, created_at)
SELECT lid, 'identify', 'stage', 'visitor', 'lead', NULL::bigint, 'tracking', 'identify',
    '{}'::jsonb, t_id
FROM bench_gen_lead
UNION ALL
SELECT lid, 'qualify', 'stage', 'lead', 'mql', NULL, 'scoring', '', '{}', mql_at
FROM bench_gen_lead WHERE mql_at IS NOT NULL
UNION ALL
SELECT lid, CASE WHEN mql_at IS NULL THEN 'source_direct' ELSE 'convert' END, 'stage',
    CASE WHEN mql_at IS NULL THEN 'lead' ELSE 'mql' END, 'sql',
    pg_temp.nth(%(sdrs)s::bigint[], n), '', 'meeting booked', '{}', sql_at
FROM bench_gen_lead WHERE sql_at IS NOT NULL
UNION ALL
SELECT lid, 'win', 'stage', 'sql', 'customer',
    pg_temp.nth(%(aes)s::bigint[], n), '', '', '{}', won_at
FROM bench_gen_lead WHERE won_at IS NOT NULL
UNION ALL
SELECT lid, 'disqualify', 'stage', 'lead', 'disqualified', %(marketer)s::bigint, '', 'generated',
    '{}', out_at
FROM bench_gen_lead WHERE out_at IS NOT NULL
ORDER BY 10;
"""

# Sessions, in time order: kind 0 an anonymous visitor who never identifies (`_VISITS`), 1 the
# session in which a lead identifies (a form), 2 another visit of a lead (before it identified:
# anonymous, its history attached later; after: with its user id), 3 a hot lead's buying visit
# (pricing, then a white paper or a demo request) shortly before it qualified. Each carries what
# its events need of its lead, so that writing them joins nothing big. The leads' sessions and
# the anonymous visits are two tables, made side by side (odd and even numbers, each in time
# order): the event writers merge them.
_SESSIONS = """
-- (Sorting millions of visits in memory rather than on disk halves the step.)
SET work_mem = '1GB';
CREATE UNLOGGED TABLE bench_gen_session AS
WITH own AS MATERIALIZED (
    SELECT 1 AS kind, n AS who, t_id - interval '2 minutes' AS at,
        3 + floor(random() * 4)::int AS n, channel, lid, cid, anon_id AS anon, user_id AS uid,
        false AS after, cold OR stage <> 'lead' AS warm
    FROM bench_gen_lead
    UNION ALL
    SELECT 3, n, mql_at - make_interval(mins => 30 + floor(random() * 600)::int), 5, 1,
        lid, cid, anon_id, user_id, false, cold OR stage <> 'lead'
    FROM bench_gen_lead WHERE mql_at IS NOT NULL
), more AS (
    SELECT 2 AS kind, l.n AS who, g.at, g.n, g.channel, l.lid, l.cid, l.anon_id, l.user_id,
        g.at > l.t_id, l.cold OR l.stage <> 'lead'
    FROM bench_gen_lead l
    JOIN LATERAL (SELECT
            CASE WHEN random() < 0.3
                THEN greatest(%(start)s::timestamptz,
                              l.t_id - make_interval(secs => %(span)s * 0.15 * random()))
                ELSE l.t_id + (%(end)s::timestamptz - l.t_id) * random() END AS at,
            1 + floor(-ln(1 - random()) * 3)::int AS n,
            1 + floor(random() * 64)::int AS channel
        OFFSET 0) g ON true
    -- Older leads had more time to come back: the owner is skewed to low n (older). The mean
    -- of n is 1 + 1 / (e^(1/3) - 1), about 3.53 events a visit; the anonymous visits have 1.6
    -- events each, and 1.2 visits a visitor (see `_VISITS`).
    JOIN (SELECT 1 + floor(%(leads)s * power(random(), 1.3))::bigint AS owner
          FROM generate_series(1, greatest(0, (%(events)s - (SELECT sum(n) FROM own)
              - %(leads)s * %(anonymous)s * 1.2 * 1.6) / 3.53)::bigint) g
          OFFSET 0) o ON o.owner = l.n
)
SELECT 2 * row_number() OVER (ORDER BY at) AS sid, *,
    floor(extract(epoch FROM at) * 1000)::bigint AS ms
FROM (
    SELECT * FROM own UNION ALL SELECT * FROM more
) s;
CREATE INDEX ON bench_gen_session (at);
ANALYZE bench_gen_session;
-- When each lead's browser was first and last seen, and its last event.
CREATE UNLOGGED TABLE bench_gen_seen AS
SELECT who AS n, min(at) AS first, max(at) AS last,
    max(at + make_interval(secs => (n - 1) * 47 + (sid %% 40) + 0.4)) AS last_event
FROM bench_gen_session GROUP BY who;
ANALYZE bench_gen_seen;
RESET work_mem;
"""
_VISITS = """
SET work_mem = '1GB';
CREATE UNLOGGED TABLE bench_gen_visit AS
SELECT 2 * row_number() OVER (ORDER BY at) - 1 AS sid, *,
    floor(extract(epoch FROM at) * 1000)::bigint AS ms
FROM (
    SELECT 0 AS kind, a.v AS who, s.at,
        CASE WHEN random() < 0.7 THEN 1 ELSE 2 + floor(random() * 3)::int END AS n,
        1 + floor(random() * 64)::int AS channel,
        NULL::bigint AS lid, NULL::bigint AS cid, a.anon, '' AS uid, false AS after,
        false AS warm
    FROM bench_gen_anon a
    CROSS JOIN LATERAL (SELECT a.at UNION ALL SELECT a.again WHERE a.again IS NOT NULL) s (at)
) v;
CREATE INDEX ON bench_gen_visit (at);
ANALYZE bench_gen_visit;
RESET work_mem;
"""

# Every browser once, first and last seen as its visits say: the leads', the others'. Each in
# the order of its id, so that its indexes are built from nearly sorted keys: the same index as
# from random ones (real browsers' ids), in a fifth of the CPU.
_VISITORS_LEADS = """
INSERT INTO people_visitor (anonymous_id, contact_id, first_seen_at, last_seen_at)
SELECT l.anon_id, l.cid, s.first, s.last FROM bench_gen_lead l JOIN bench_gen_seen s USING (n)
ORDER BY l.n
"""
_VISITORS = """
INSERT INTO people_visitor (anonymous_id, contact_id, first_seen_at, last_seen_at)
SELECT anon, NULL, least(at, again), greatest(at, again) FROM bench_gen_anon
"""

# The events of the sessions that start in [lo, hi), in time order: every column as the tracking
# API stores it.
_EVENTS = """
INSERT INTO tracking_event (source_id, message_id, type, name, url, properties, context,
    anonymous_id, user_id, extra, lead_id, occurred_at, received_at)
-- Message ids as analytics.js makes them (`ajs-next-<epoch ms>-<uuid>`), the sid and salt standing
-- in for the uuid: in time order, so the unique index is built from sorted keys, not hashes.
SELECT %(source)s,
    'ajs-next-' || (s.ms + ((k - 1) * 47 + s.sid %% 40) * 1000) || '-' || %(salt)s || '-' || s.sid
        || '-' || k,
    e.type,
    CASE
        WHEN e.type = 'page' THEN p.title
        WHEN e.type <> 'track' THEN ''
        WHEN s.kind = 3 AND s.sid %% 3 = 0 THEN 'Demo Requested'
        WHEN s.kind = 3 THEN 'Whitepaper Downloaded'
        WHEN s.kind = 1 AND s.warm AND s.sid %% 3 = 0 THEN 'Whitepaper Downloaded'
        WHEN s.kind = 1 THEN (ARRAY['Newsletter Subscribed', 'Webinar Registered'])[1 + s.sid %% 2]
        ELSE pg_temp.pick(%(warm_tracks)s::text[], hashint8(s.sid * 43 + k))
        END,
    CASE WHEN e.type = 'page' THEN p.url ELSE '' END,
    CASE WHEN e.type = 'page' THEN p.properties
        WHEN e.type = 'track' THEN jsonb_build_object(
            'plan', (ARRAY['free', 'pro', 'pro', 'enterprise'])[1 + s.sid %% 4],
            'title', pg_temp.nth(%(whitepapers)s::text[], s.sid))
        ELSE '{}'::jsonb END,
    b.context || p.context,
    s.anon,
    CASE WHEN s.kind = 3 OR (s.kind = 2 AND s.after) OR (s.kind = 1 AND k >= s.n - 1)
        THEN s.uid ELSE '' END,
    CASE WHEN e.type = 'identify' THEN jsonb_build_object('traits',
            (SELECT c.traits FROM people_contact c WHERE c.id = s.cid))
        WHEN e.type = 'alias' THEN jsonb_build_object('previousId', s.anon)
        ELSE '{}'::jsonb END,
    s.lid, s.at + ((k - 1) * 47 + s.sid %% 40) * interval '1 second',
    s.at + ((k - 1) * 47 + s.sid %% 40) * interval '1 second' + interval '0.4 seconds'
FROM (
    SELECT * FROM bench_gen_session WHERE at >= %(lo)s AND at < %(hi)s
    UNION ALL
    SELECT * FROM bench_gen_visit WHERE at >= %(lo)s AND at < %(hi)s
    ORDER BY at
) s
CROSS JOIN LATERAL generate_series(1, s.n) k
CROSS JOIN LATERAL (SELECT
    -- What the k-th event of the session is.
    CASE
        WHEN s.kind = 1 AND k = s.n THEN 'identify'
        WHEN s.kind = 1 AND k = s.n - 1 AND s.uid <> '' AND s.sid %% 10 = 0 THEN 'alias'
        WHEN s.kind = 1 AND k = s.n - 1 THEN 'track'
        WHEN s.kind = 3 AND k = 5 THEN 'track'
        WHEN s.kind = 2 AND k > 1 AND hashint8(s.sid * 31 + k) %% 6 = 0 THEN 'track'
        ELSE 'page' END AS type,
    -- Which page it is on (0 is the pricing page). Leads that stay leads rarely look at
    -- pricing; the others (and the cold) more often.
    CASE WHEN s.kind = 3 AND k BETWEEN 2 AND 4 THEN 0
        WHEN s.kind = 2 AND hashint8(s.sid * 37 + k) %% CASE WHEN s.warm THEN 9 ELSE 40 END = 0
            THEN 0
        ELSE 1 + (hashint8(s.sid * 41 + k) & 65535) %% cardinality(%(paths)s::text[]) END AS pi,
    -- Only the first page of a visit has a campaign and an outside referrer.
    CASE WHEN k = 1 THEN s.channel ELSE 0 END AS v
) e
JOIN bench_gen_page p ON p.pi = e.pi AND p.v = e.v
JOIN bench_gen_browser b ON b.b = s.who %% %(browsers)s
"""

# The order of work: what the others need first, then two lines at a time (see `generate`).
_PREPARE = [("people", _GEN_LEAD.format(scratch=", ".join(_SCRATCH)))]
_HISTORY = [("sessions", _SESSIONS), ("leads", _LEADS), ("lead visitors", _VISITORS_LEADS)]
# (The anonymous browsers first: the leads' ones are written into the same table at the end of
# the other line, and two bulk inserts into one table wait on each other to extend it.)
_PEOPLE = [
    ("visitors", _VISITORS),
    ("contacts", _CONTACTS),
    ("transitions", _TRANSITIONS),
    ("visits", _VISITS),
]


Slice = tuple[dt.datetime, dt.datetime, int]
_SESSIONS_ALL = (
    "(SELECT at, n FROM bench_gen_session UNION ALL SELECT at, n FROM bench_gen_visit) s"
)


def _slices(conn: psycopg.Connection) -> list[Slice]:
    """Cut the period of the sessions into equal slices: (lo, hi, events of the sessions that
    start in [lo, hi))."""
    first, last = conn.execute(f"SELECT min(at), max(at) FROM {_SESSIONS_ALL}").fetchone()
    step = (last - first) / SLICES
    bounds = [first + step * i for i in range(SLICES)] + [last + dt.timedelta(seconds=1)]
    events = dict(
        conn.execute(
            f"SELECT width_bucket(at, %s::timestamptz[]), sum(n) FROM {_SESSIONS_ALL} GROUP BY 1",
            [bounds[:-1]],
        ).fetchall()
    )
    return [(bounds[i], bounds[i + 1], int(events.get(i + 1) or 0)) for i in range(SLICES)]


def _events_write(
    conninfo: str,
    slices: list[Slice],
    params: dict[str, object],
    seed: float,
    report: Progress,
) -> None:
    total = sum(events for *_, events in slices)
    done = 0
    report("events", 0, total)

    def write(numbered: tuple[int, Slice]) -> int:
        number, (lo, hi, events) = numbered
        with _connect(conninfo) as conn:
            _session(conn, (seed + number / 1000) % 1)
            # Hash joins to the small tables keep the sessions' order: events in time order.
            conn.execute("SET enable_mergejoin = off")
            conn.execute(_EVENTS, {**params, "lo": lo, "hi": hi})
        return events

    # Two writers: the slices are in time order, so the table stays nearly in time order.
    with ThreadPoolExecutor(2) as pool:
        for events in pool.map(write, enumerate(slices)):
            done += events
            report("events", done, total)


# Tables loaded without their secondary indexes, unique and foreign keys (one sort each
# afterwards instead of millions of random inserts and a key check a row), from these sizes.
BIG_LEADS = 50_000
BIG_EVENTS = 500_000
_LEAD_TABLES = ["people_contact", "stages_lead", "stages_leadtransition", "people_visitor"]
_EVENT_TABLES = ["tracking_event"]


def _indexes_drop(conn: psycopg.Connection, tables: list[str]) -> list[list[str]]:
    """Drop the tables' secondary indexes and their unique and foreign keys; return the
    statements that build them again, in two rounds (the keys that refer to others last)."""
    rounds: list[list[str]] = [[], []]
    for table in tables:
        constraints = conn.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY contype DESC",
            [table],
        ).fetchall()
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname"
            " AND c.conrelid = %s::regclass)",
            [table, table],
        ).fetchall()
        for name, _, _ in constraints:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        rounds[0] += [definition for _, definition in indexes]
        for name, kind, definition in constraints:
            add = f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
            rounds[kind == "f"].append(add)
    return rounds


def _indexes_build(conninfo: str, rounds: list[list[str]], seed: float, report: Progress) -> None:
    """Run the statements `_indexes_drop` returned, round by round, two at a time."""
    total = sum(len(statements) for statements in rounds)
    if not total:
        return
    done = 0
    report("indexes", 0, total)
    lock = threading.Lock()

    def build(queue: list[str], conn: psycopg.Connection) -> None:
        nonlocal done
        conn.execute("SET max_parallel_maintenance_workers = 2")
        while True:
            with lock:
                if not queue:
                    return
                statement = queue.pop()
            conn.execute(statement)
            with lock:
                done += 1
                report("indexes", done, total)

    for statements in rounds:
        work = partial(build, list(reversed(statements)))
        _parallel(conninfo, [work, work], seed)


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.generate`: generate into a new database of its own and print each
    step's time (on DATABASE_URL's server, or the embedded PostgreSQL)."""
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=main.__doc__)
    parser.add_argument("database", help="the database to create (dropped first if it exists)")
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument(
        "--no-events",
        action="store_true",
        help="write everything but the events: time the lead side alone",
    )
    args = parser.parse_args(argv)
    from .report import Progress
    from .stack import database_create, server_url, with_database

    database_create(args.database)
    os.environ["DATABASE_URL"] = with_database(server_url(), args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from leadflow.tracking.models import WriteKey

    call_command("migrate", verbosity=0, interactive=False)
    source = WriteKey.objects.create(name="Benchmark")
    print(f"generating {args.leads:,} leads and {args.events:,} events into {args.database}")
    result = generate(
        django_conninfo(),
        leads=args.leads,
        events=args.events,
        source_id=source.pk,
        sdr_ids=[],
        ae_ids=[],
        write_events=not args.no_events,
        progress=Progress(),
    )
    for name, seconds in result.steps.items():
        print(f"  {name:<14} {seconds:6.1f} s")
    print(f"{result.leads:,} leads in {result.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
