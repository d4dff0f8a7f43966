"""Generate a believable website history and funnel inside PostgreSQL, fast.

Everything is built server-side with `generate_series` (no row crosses the wire): companies,
people, job titles, countries and firmographics; every lead's browser and the anonymous browsers
that never say who they are (most visitors); sessions that arrive through UTM campaigns or
referrers, with page views, form fills, identify and alias calls; and a funnel in which a few
percent of the leads become customers over weeks, with the audit trail of each stage they
entered.

Events are written in time order, slice by slice over a couple of connections, like the tracking
API stores them, so a lead's events are spread over the table as they would be in production.
Secondary indexes of the big tables are dropped for the load and built again once at the end.

`generate()` takes a libpq connection string; `django_conninfo()` gives the one of Django's
default database, so a management command (the demo loader, `rescore_bench`) can call it too.
Stage fields are written directly here, as a fixture does: the generated history is a past that
already happened. The scores are not: a full rescore computes them afterwards.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

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
) -> Generated:
    """Add about `leads` leads (with their contacts, browsers and stages) and `events` events.

    Generated rows take ids after those already there. Returns the counts and the time taken.
    """
    if leads < 1 or events < leads * 4:
        raise ValueError("need at least one lead and four events a lead")
    end = end or dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = end - dt.timedelta(days=days)
    result = Generated()
    started = time.perf_counter()
    report = progress or (lambda step, done, total: None)
    params = _params(leads, events, start, end, source_id, sdr_ids, ae_ids, marketer_id, seed)
    with _connect(conninfo) as conn:
        _session(conn, seed)
        for name, statement in _PREPARE:
            report(name, 0, 1)
            step = time.perf_counter()
            conn.execute(statement, params)
            result.steps[name] = time.perf_counter() - step
            report(name, 1, 1)
        slices = _slices(conn)
        big = events >= 500_000
        with _without_indexes(conn, "tracking_event", enabled=big, progress=report):
            step = time.perf_counter()
            _events_write(conninfo, slices, params, seed, report)
            result.steps["events"] = time.perf_counter() - step
        for name, statement in _FINISH:
            report(name, 0, 1)
            step = time.perf_counter()
            conn.execute(statement, params)
            result.steps[name] = time.perf_counter() - step
            report(name, 1, 1)
        row = conn.execute(
            "SELECT (SELECT count(*) FROM bench_gen_lead),"
            " (SELECT sum(n) FROM bench_gen_session),"
            " (SELECT count(*) FROM bench_gen_lead) * (1 + %(anonymous)s),"
            " (SELECT count(*) FROM stages_leadtransition"
            "  WHERE lead_id >= (SELECT min(lid) FROM bench_gen_lead))",
            {"anonymous": ANONYMOUS_PER_LEAD},
        ).fetchone()
        result.leads, result.events, result.visitors, result.transitions = row
        result.contacts = result.leads
        conn.execute("DROP TABLE IF EXISTS bench_gen_lead, bench_gen_session")
        report("analyze", 0, 1)
        conn.execute(
            "ANALYZE people_contact, stages_lead, people_visitor, tracking_event,"
            " stages_leadtransition"
        )
        report("analyze", 1, 1)
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
        "whitepapers": data.WHITEPAPERS,
        "webinars": data.WEBINARS,
        "warm_tracks": TRACK_EVENTS_WARM,
        "seed": seed,
        # Message ids and anonymous ids of one call never meet those of another.
        "salt": secrets.token_hex(2),
        "site": SITE,
    }


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


# Each lead: when it first identified (lead n identifies at the n-th share of the period, so ids
# grow with time as they do in production), whether it is cold (email only), and its final stage.
_GEN_LEAD = """
DROP TABLE IF EXISTS bench_gen_lead, bench_gen_session;
CREATE UNLOGGED TABLE bench_gen_lead AS
SELECT n, cid, lid, t_id, cold, stage, r2, r3, r4, r5,
    CASE stage
        WHEN 'mql'
            THEN (ARRAY['open', 'open', 'contact_attempt', 'nurturing'])[1 + floor(r2 * 4)::int]
        WHEN 'sql' THEN CASE WHEN r2 < 0.7 THEN 'active' ELSE 'contact_attempt' END
        ELSE '' END AS status,
    CASE WHEN stage IN ('sql', 'customer') AND r3 < 0.2
        THEN (ARRAY['outbound', 'event', 'referral'])[1 + floor(r4 * 3)::int] ELSE 'tracking' END
        AS source,
    %(salt)s || to_hex(hashint8(n * 7 + 1)::bigint) || '-' || to_hex(n)
        AS anon_id,
    CASE WHEN r5 < 0.8 THEN 'u' || n ELSE '' END AS user_id,
    1 + floor(random() * 64)::int AS channel
FROM (
    SELECT n, n + (SELECT coalesce(max(id), 0) FROM people_contact) AS cid,
        n + (SELECT coalesce(max(id), 0) FROM stages_lead) AS lid,
        %(start)s::timestamptz
            + make_interval(secs => %(span)s * (n - random()) / %(leads)s) AS t_id,
        cold, r2, r3, r4, r5,
        CASE WHEN cold THEN CASE WHEN r1 < 0.04 THEN 'disqualified' ELSE 'lead' END
            WHEN r1 < %(p_customer)s THEN 'customer'
            WHEN r1 < %(p_customer)s + %(p_sql)s THEN 'sql'
            WHEN r1 < %(p_customer)s + %(p_sql)s + %(p_mql)s THEN 'mql'
            WHEN r1 < %(p_customer)s + %(p_sql)s + %(p_mql)s + %(p_dq)s THEN 'disqualified'
            ELSE 'lead' END AS stage
    FROM (SELECT n, random() < %(cold)s AS cold, random() AS r1, random() AS r2, random() AS r3,
              random() AS r4, random() AS r5
          FROM generate_series(1, %(leads)s) n) g
) x;
-- A customer needs weeks: a lead too young for that is still an SQL.
UPDATE bench_gen_lead SET stage = 'sql', status = 'active'
WHERE stage = 'customer' AND t_id > %(end)s::timestamptz - interval '21 days';
ALTER TABLE bench_gen_lead ADD COLUMN mql_at timestamptz, ADD COLUMN sql_at timestamptz,
    ADD COLUMN won_at timestamptz, ADD COLUMN out_at timestamptz;
UPDATE bench_gen_lead SET
    mql_at = CASE WHEN stage IN ('mql', 'sql', 'customer') AND source = 'tracking'
        THEN t_id + (%(end)s::timestamptz - t_id) * (0.05 + 0.25 * r2) END,
    out_at = CASE WHEN stage = 'disqualified' THEN t_id + (%(end)s::timestamptz - t_id) * r3 END;
UPDATE bench_gen_lead SET
    sql_at = CASE WHEN stage IN ('sql', 'customer')
        THEN coalesce(mql_at, t_id)
            + (%(end)s::timestamptz - coalesce(mql_at, t_id)) * (0.1 + 0.3 * r4) END;
UPDATE bench_gen_lead SET
    won_at = CASE WHEN stage = 'customer'
        THEN sql_at + (%(end)s::timestamptz - sql_at) * (0.2 + 0.7 * r5) END;
CREATE INDEX ON bench_gen_lead (n);
ANALYZE bench_gen_lead;
"""

_CONTACTS = """
INSERT INTO people_contact (id, email, first_name, last_name, company, job_title, phone, country,
    user_id, traits, seniority, industry, company_size, created_at, updated_at)
SELECT cid, email, first_name, last_name, company, job_title, phone, country, user_id,
    jsonb_strip_nulls(jsonb_build_object('email', email, 'firstName', first_name,
        'lastName', last_name, 'company', nullif(company, ''), 'title', nullif(job_title, ''),
        'phone', nullif(phone, ''), 'country', nullif(country, ''))),
    seniority, industry, company_size, t_id, t_id
FROM (
    SELECT l.cid, l.user_id, l.t_id, f.first_name, f.last_name,
        CASE WHEN l.cold THEN '' ELSE co.company END AS company,
        CASE WHEN l.cold THEN '' ELSE t.title END AS job_title,
        CASE WHEN l.cold THEN '' ELSE t.seniority END AS seniority,
        CASE WHEN l.cold THEN '' ELSE co.industry END AS industry,
        CASE WHEN l.cold THEN NULL ELSE co.size END AS company_size,
        CASE WHEN l.cold THEN '' ELSE co.country END AS country,
        CASE WHEN l.cold OR l.r3 > 0.5 THEN '' ELSE co.phone_prefix || ' '
            || (100000000 + (hashint8(l.n)::bigint & 1073741823) %% 899999999) END AS phone,
        regexp_replace(lower(f.first_name || '.' || f.last_name), '[^a-z.]', '', 'g')
            || l.n || '@' || CASE WHEN l.cold OR l.r4 < 0.12
                THEN pg_temp.nth(%(freemail)s::text[], l.n)
                ELSE co.domain END AS email
    FROM bench_gen_lead l
    CROSS JOIN LATERAL (SELECT
        pg_temp.pick(%(first_names)s::text[], hashint8(l.n * 3)) AS first_name,
        pg_temp.pick(%(last_names)s::text[], hashint8(l.n * 5)) AS last_name) f
    CROSS JOIN LATERAL (SELECT
        pg_temp.pick(%(titles)s::text[], hashint8(l.n * 11)) AS title,
        pg_temp.pick(%(seniorities)s::text[], hashint8(l.n * 11)) AS seniority) t
    CROSS JOIN LATERAL (
        -- A company has several people: company c takes a share that falls with c.
        -- Word and kind, a suffix, then a number once the suffixes are taken.
        SELECT c, w.word || ' ' || pg_temp.pick(%(kinds)s::text[], hashint8(c * 23))
                || pg_temp.nth(%(suffixes)s::text[], c / cardinality(w.words))
                || CASE WHEN c >= w.pairs
                    THEN ' ' || (c / w.pairs + 1) ELSE '' END AS company,
            pg_temp.pick(%(industries)s::text[], hashint8(c * 23)) AS industry,
            pg_temp.pick(%(countries)s::text[], hashint8(c * 13)) AS country,
            pg_temp.pick(%(phone_prefixes)s::text[], hashint8(c * 13)) AS phone_prefix,
            regexp_replace(lower(w.word), '[^a-z]', '', 'g') || c
                || pg_temp.pick(%(tlds)s::text[], hashint8(c * 13)) AS domain,
            pg_temp.pick(%(band_lo)s::int[], hashint8(c * 17))
                + (hashint8(c * 19)::bigint & 65535) %% greatest(1,
                    pg_temp.pick(%(band_hi)s::int[], hashint8(c * 17))
                    - pg_temp.pick(%(band_lo)s::int[], hashint8(c * 17))) AS size
        FROM (SELECT floor(power(l.r2, 1.6) * greatest(60, %(leads)s / 6))::int AS c) cc
        CROSS JOIN LATERAL (SELECT %(words)s::text[] AS words,
            cardinality(%(words)s::text[]) * cardinality(%(suffixes)s::text[]) AS pairs,
            pg_temp.nth(%(words)s::text[], cc.c) AS word) w
    ) co
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
    0, 0, 0, NULL,
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

# Sessions, in time order: kind 0 an anonymous visitor who never identifies, 1 the session in
# which a lead identifies (a form), 2 another visit of a lead (before it identified: anonymous,
# its history attached later; after: with its user id), 3 a hot lead's buying visit (pricing,
# then a white paper or a demo request) shortly before it qualified.
_SESSIONS = """
CREATE UNLOGGED TABLE bench_gen_session AS
SELECT row_number() OVER (ORDER BY at) AS sid, * FROM (
    SELECT 0 AS kind, NULL::bigint AS ln, v AS who,
        %(start)s::timestamptz + make_interval(secs => %(span)s * random()) AS at,
        CASE WHEN random() < 0.7 THEN 1 ELSE 2 + floor(random() * 3)::int END AS n,
        1 + floor(random() * 64)::int AS channel
    FROM generate_series(1, %(leads)s * %(anonymous)s) v
    CROSS JOIN LATERAL generate_series(1, CASE WHEN random() < 0.2 + 0 * v THEN 2 ELSE 1 END) k
    UNION ALL
    SELECT 1, n, n, t_id - interval '2 minutes', 3 + floor(random() * 4)::int, channel
    FROM bench_gen_lead
    UNION ALL
    SELECT 3, n, n, mql_at - make_interval(mins => 30 + floor(random() * 600)::int), 5, 1
    FROM bench_gen_lead WHERE mql_at IS NOT NULL
) s;
INSERT INTO bench_gen_session
SELECT (SELECT max(sid) FROM bench_gen_session) + row_number() OVER (ORDER BY at), *
FROM (
    SELECT 2 AS kind, l.n AS ln, l.n AS who,
        CASE WHEN random() < 0.3
            THEN greatest(%(start)s::timestamptz,
                          l.t_id - make_interval(secs => %(span)s * 0.15 * random()))
            ELSE l.t_id + (%(end)s::timestamptz - l.t_id) * random() END AS at,
        1 + floor(-ln(1 - random()) * 3)::int AS n,
        1 + floor(random() * 64)::int AS channel
    -- Older leads had more time to come back: the owner is skewed to low n (older). The mean
    -- of n is 1 + 1 / (e^(1/3) - 1), about 3.53 events a visit.
    FROM (SELECT 1 + floor(%(leads)s * power(random(), 1.3))::bigint AS owner
          FROM generate_series(1, greatest(0,
              (%(events)s - (SELECT sum(n) FROM bench_gen_session)) / 3.53)::bigint) g
          OFFSET 0) g
    JOIN bench_gen_lead l ON l.n = g.owner
) s;
-- One time order over all kinds: sid follows the time.
CREATE UNLOGGED TABLE bench_gen_session2 AS
SELECT row_number() OVER (ORDER BY at) AS sid, kind, ln, who, at, n, channel FROM bench_gen_session;
DROP TABLE bench_gen_session;
ALTER TABLE bench_gen_session2 RENAME TO bench_gen_session;
CREATE INDEX ON bench_gen_session (sid);
ANALYZE bench_gen_session;
"""

# The events of the sessions sid in [lo, hi): every column as the tracking API stores it.
_EVENTS = """
INSERT INTO tracking_event (source_id, message_id, type, name, url, properties, context,
    anonymous_id, user_id, extra, lead_id, occurred_at, received_at)
SELECT %(source)s, 'ajs-next-' || md5(%(salt)s || s.sid || '-' || k), e.type, e.name,
    CASE WHEN e.type = 'page' THEN e.url ELSE '' END,
    CASE WHEN e.type = 'page' THEN jsonb_build_object('path', e.path, 'url', e.url,
            'title', e.title, 'referrer', e.referrer, 'search', e.search)
        WHEN e.type = 'track' THEN e.props ELSE '{}'::jsonb END,
    jsonb_build_object('ip', '203.0.' || (s.who %% 250) || '.' || (s.who * 7 %% 250),
        'userAgent', pg_temp.nth(%(user_agents)s::text[], s.who),
        'locale', 'en-US',
        'library', jsonb_build_object('name', 'analytics.js', 'version', 'npm:next-1.70.0'),
        'page', jsonb_build_object('path', e.path, 'url', e.url, 'title', e.title,
            'referrer', e.referrer, 'search', e.search))
        || CASE WHEN k = 1 AND ch.src <> '' THEN jsonb_build_object('campaign',
            jsonb_build_object('source', ch.src, 'medium', ch.med, 'name', ch.cmp))
            ELSE '{}'::jsonb END,
    CASE WHEN s.kind = 0
        THEN 'v' || %(salt)s || to_hex(hashint8(s.who * 7 + 3)::bigint) || '-' || to_hex(s.who)
        ELSE l.anon_id END,
    CASE WHEN s.kind = 3 OR (s.kind = 2 AND s.at > l.t_id) OR (s.kind = 1 AND k >= s.n - 1)
        THEN coalesce(l.user_id, '') ELSE '' END,
    CASE WHEN e.type = 'identify' THEN jsonb_build_object('traits', c.traits)
        WHEN e.type = 'alias' THEN jsonb_build_object('previousId', l.anon_id)
        ELSE '{}'::jsonb END,
    l.lid, s.at + make_interval(secs => (k - 1) * 47 + (s.sid %% 40)),
    s.at + make_interval(secs => (k - 1) * 47 + (s.sid %% 40) + 0.4)
FROM bench_gen_session s
LEFT JOIN bench_gen_lead l ON l.n = s.ln
LEFT JOIN people_contact c ON c.id = l.cid AND s.kind = 1
CROSS JOIN LATERAL generate_series(1, s.n) k
CROSS JOIN LATERAL (SELECT
    pg_temp.nth(%(ch_source)s::text[], s.channel - 1) AS src,
    pg_temp.nth(%(ch_medium)s::text[], s.channel - 1) AS med,
    pg_temp.nth(%(ch_name)s::text[], s.channel - 1) AS cmp,
    pg_temp.nth(%(ch_referrer)s::text[], s.channel - 1) AS ref) ch
CROSS JOIN LATERAL (SELECT
    -- What the k-th event of the session is.
    CASE
        WHEN s.kind = 1 AND k = s.n THEN 'identify'
        WHEN s.kind = 1 AND k = s.n - 1 AND l.user_id <> '' AND s.sid %% 10 = 0 THEN 'alias'
        WHEN s.kind = 1 AND k = s.n - 1 THEN 'track'
        WHEN s.kind = 3 AND k = 5 THEN 'track'
        WHEN s.kind = 2 AND k > 1 AND hashint8(s.sid * 31 + k) %% 6 = 0 THEN 'track'
        ELSE 'page' END AS type,
    CASE WHEN s.kind = 3 AND k BETWEEN 2 AND 4 THEN '/pricing'
        -- Leads that stay leads rarely look at pricing; the others (and the cold) more often.
        WHEN s.kind = 2 AND l.stage = 'lead' AND NOT l.cold
            AND hashint8(s.sid * 37 + k) %% 40 = 0 THEN '/pricing'
        WHEN s.kind = 2 AND (l.cold OR l.stage <> 'lead')
            AND hashint8(s.sid * 37 + k) %% 9 = 0 THEN '/pricing'
        ELSE pg_temp.pick(%(paths)s::text[], hashint8(s.sid * 41 + k)) END AS path,
    pg_temp.pick(%(titles_of_paths)s::text[], hashint8(s.sid * 41 + k)) AS ptitle
) pick
CROSS JOIN LATERAL (SELECT pick.type,
    pick.path,
    CASE WHEN pick.path = '/pricing' THEN 'Pricing' ELSE pick.ptitle END AS title,
    %(site)s || pick.path || CASE WHEN k = 1 AND ch.src <> ''
        THEN '?utm_source=' || ch.src || '&utm_medium=' || ch.med || '&utm_campaign=' || ch.cmp
        ELSE '' END AS url,
    CASE WHEN k = 1 AND ch.src <> ''
        THEN '?utm_source=' || ch.src || '&utm_medium=' || ch.med || '&utm_campaign=' || ch.cmp
        ELSE '' END AS search,
    CASE WHEN k = 1 THEN ch.ref ELSE %(site)s || '/' END AS referrer,
    CASE
        WHEN pick.type = 'page'
            THEN CASE WHEN pick.path = '/pricing' THEN 'Pricing' ELSE pick.ptitle END
        WHEN pick.type <> 'track' THEN ''
        WHEN s.kind = 3 AND s.sid %% 3 = 0 THEN 'Demo Requested'
        WHEN s.kind = 3 THEN 'Whitepaper Downloaded'
        WHEN s.kind = 1 AND (l.cold OR l.stage <> 'lead') AND s.sid %% 3 = 0
            THEN 'Whitepaper Downloaded'
        WHEN s.kind = 1 THEN (ARRAY['Newsletter Subscribed', 'Webinar Registered'])[1 + s.sid %% 2]
        ELSE pg_temp.pick(%(warm_tracks)s::text[], hashint8(s.sid * 43 + k))
        END AS name,
    jsonb_build_object('plan', (ARRAY['free', 'pro', 'pro', 'enterprise'])[1 + s.sid %% 4],
        'title', pg_temp.nth(%(whitepapers)s::text[], s.sid)) AS props
) e
WHERE s.sid >= %(lo)s AND s.sid < %(hi)s
"""

_VISITORS = """
INSERT INTO people_visitor (anonymous_id, contact_id, first_seen_at, last_seen_at)
SELECT anon_id, cid, t_id - interval '2 minutes', t_id FROM bench_gen_lead
UNION ALL
SELECT 'v' || %(salt)s || to_hex(hashint8(who * 7 + 3)::bigint) || '-' || to_hex(who), NULL,
    min(at), max(at)
FROM bench_gen_session WHERE kind = 0 GROUP BY who
ON CONFLICT (anonymous_id) DO NOTHING;
UPDATE people_visitor v SET first_seen_at = x.first, last_seen_at = x.last
FROM (SELECT l.anon_id, min(s.at) AS first, max(s.at) AS last FROM bench_gen_session s
      JOIN bench_gen_lead l ON l.n = s.ln GROUP BY l.anon_id) x
WHERE v.anonymous_id = x.anon_id;
UPDATE stages_lead ld SET last_event_at = x.last
FROM (SELECT l.lid, max(s.at + make_interval(secs => (s.n - 1) * 47 + (s.sid %% 40) + 0.4)) AS last
      FROM bench_gen_session s JOIN bench_gen_lead l ON l.n = s.ln GROUP BY l.lid) x
WHERE ld.id = x.lid;
"""

_PREPARE = [
    ("people", _GEN_LEAD),
    ("contacts", _CONTACTS),
    ("leads", _LEADS),
    ("transitions", _TRANSITIONS),
    ("sessions", _SESSIONS),
]
_FINISH = [("visitors", _VISITORS)]


def _slices(conn: psycopg.Connection) -> list[tuple[int, int, int]]:
    """Cut the sessions into slices of about equal events: (lo sid, hi sid, events)."""
    total_sessions = conn.execute("SELECT count(*) FROM bench_gen_session").fetchone()[0]
    bounds = [1 + total_sessions * i // SLICES for i in range(SLICES + 1)]
    bounds[-1] = total_sessions + 1
    rows = conn.execute(
        "SELECT sum(n) FILTER (WHERE sid < b.hi AND sid >= b.lo) FROM bench_gen_session,"
        " unnest(%s::bigint[], %s::bigint[]) AS b(lo, hi) GROUP BY b.lo ORDER BY b.lo",
        [bounds[:-1], bounds[1:]],
    ).fetchall()
    return [(bounds[i], bounds[i + 1], int(rows[i][0] or 0)) for i in range(SLICES)]


def _events_write(
    conninfo: str,
    slices: list[tuple[int, int, int]],
    params: dict[str, object],
    seed: float,
    report: Progress,
) -> None:
    total = sum(events for *_, events in slices)
    done = 0
    report("events", 0, total)

    def write(piece: tuple[int, int, int]) -> int:
        lo, hi, events = piece
        with _connect(conninfo) as conn:
            _session(conn, (seed + lo / 1e6) % 1)
            conn.execute(_EVENTS, {**params, "lo": lo, "hi": hi})
        return events

    # Two writers: the slices are in time order, so the table stays nearly in time order.
    with ThreadPoolExecutor(2) as pool:
        for events in pool.map(write, slices):
            done += events
            report("events", done, total)


@contextmanager
def _without_indexes(
    conn: psycopg.Connection, table: str, *, enabled: bool, progress: Progress
) -> Iterator[None]:
    """Drop the table's secondary indexes and its unique and foreign keys for a bulk load, and
    build them again after it (one sort each instead of millions of random inserts)."""
    if not enabled:
        yield
        return
    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY contype DESC",
        [table],
    ).fetchall()
    indexes = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname"
        " AND c.conrelid = %s::regclass)",
        [table, table],
    ).fetchall()
    for name, _ in constraints:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        steps = len(constraints) + len(indexes)
        progress("indexes", 0, steps)
        conn.execute("SET max_parallel_maintenance_workers = 2")
        for done, (_, definition) in enumerate(indexes, 1):
            conn.execute(definition)
            progress("indexes", done, steps)
        for done, (name, definition) in enumerate(reversed(constraints), len(indexes) + 1):
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            progress("indexes", done, steps)
