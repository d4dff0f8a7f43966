"""`make bench SCALE=...`: measure every hot path beside its physical floor, write BENCHMARKS.md.

The steps, in order: a database of its own (created, migrated, generated), a Celery worker and
gunicorn as in production, a first rescore (scores of the generated history), then the queue
pages, full rescores after a rule change, batch and single-event ingest, freshness under a
steady load, and the peak memory of every process. Everything started is stopped at the end,
whatever happens.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .load import percentile
from .report import Figure, Progress, Run, step, terminal_table, write
from .stack import PYTHON, ROOT, Stack, admin_conninfo, conninfo


@dataclass(frozen=True)
class Scale:
    leads: int
    events: int
    runs: int
    seconds: float  # each ingest run
    fresh_seconds: float  # each steady load
    page_seconds: float
    sdrs: int
    aes: int


SCALES = {
    "small": Scale(2_000, 40_000, 3, 2, 5, 1, 2, 2),
    "medium": Scale(100_000, 2_000_000, 3, 10, 20, 4, 10, 6),
    "large": Scale(1_000_000, 20_000_000, 3, 10, 20, 4, 40, 20),
}
CLIENTS = 8
WARM_SECONDS = 1.5  # unmeasured load before each server's first measured run
TIMEOUT = 3600


# The hot paths `--only` may pick, in the order they run, with the method that measures each.
STEPS = {
    "pages": "pages",
    "rescore": "rescore",
    "batch": "ingest_batch",
    "track": "ingest_track",
    "freshness": "freshness",
    "reports": "reports",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--runs", type=int, help="runs of each figure (default: the scale's)")
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers (default: gunicorn.conf.py's)"
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="threads a worker (default: gunicorn.conf.py's)"
    )
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (for --reuse next time)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the database a --keep run left, if any"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the ingest runs")
    parser.add_argument(
        "--only",
        type=lambda text: [part for part in text.split(",") if part],
        default=list(STEPS),
        metavar="STEP,...",
        help=f"measure only these hot paths, of: {', '.join(STEPS)} (default: all)",
    )
    args = parser.parse_args(argv)
    if unknown := set(args.only) - set(STEPS):
        parser.error(f"--only: no step {', '.join(sorted(unknown))}; the steps: {', '.join(STEPS)}")
    scale = SCALES[args.scale]
    if args.runs:
        scale = Scale(**{**asdict(scale), "runs": args.runs})
    stack = Stack(
        args.scale,
        workers=args.workers,
        threads=args.threads,
        worker_concurrency=args.concurrency,
        keep_database=args.keep,
    )
    os.environ.update(stack.env)
    # A TERM or HUP (a CI timeout, a closed terminal) stops the run like Ctrl-C does: through the
    # `finally` below, which stops every process the stack started.
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _interrupted)
    import django

    django.setup()
    started = time.monotonic()
    bench = Bench(stack, scale, args)
    try:
        run = bench.run()
    finally:
        step("stopping what the benchmark started")
        bench.close()
        stack.close()
    print()
    print(terminal_table(run.figures))
    for note in run.notes:
        print(f"  - {note}")
    if not args.no_write:
        write(Path(args.output), run)
        print(f"\nwritten to {args.output}")
    print(f"bench {args.scale}: {time.monotonic() - started:.0f} s in all")
    return 0


class Bench:
    def __init__(self, stack: Stack, scale: Scale, args: argparse.Namespace) -> None:
        self.stack = stack
        self.scale = scale
        self.args = args
        self.progress = Progress()
        self.figures: list[Figure] = []
        self.notes: list[str] = []
        self.db = conninfo(stack.database_url)
        self.key = ""
        self.user_ids: list[str] = []
        self.memory: dict[str, dict[int, int]] = {"web": {}, "worker": {}}
        self.profile = ""
        self.client_cpu: dict[str, float] = {}

    # -- setup --

    def run(self) -> Run:
        a = self.args
        extra = [
            *(["--runs", str(a.runs)] if a.runs else []),
            *(["--workers", str(a.workers)] if a.workers else []),
            *(["--threads", str(a.threads)] if a.threads else []),
            *(["--concurrency", str(a.concurrency)] if a.concurrency != 2 else []),
            *(["--profile"] if a.profile else []),
            *(["--only", ",".join(a.only)] if a.only != list(STEPS) else []),
        ]
        command = f"make bench SCALE={self.args.scale}" + (
            f' BENCH_ARGS="{shlex.join(extra)}"' if extra else ""
        )
        machine = self.machine()
        self.prepare()
        self.stack.worker_start()
        from leadflow.celery import app

        self.stack.worker_wait(app)
        self.settle()
        step("gunicorn")
        self.stack.gunicorn_start("web", "leadflow.wsgi")
        self.memory_watch()
        for name in STEPS:
            if name in self.args.only:
                getattr(self, STEPS[name])()
        self.not_built()
        self.memory_report()
        machine["load average after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        return Run(self.args.scale, command, machine, self.figures, self.notes, self.profile)

    def machine(self) -> dict[str, str]:
        import django
        import psycopg

        with psycopg.connect(admin_conninfo()) as c:
            pg = c.execute("SHOW server_version").fetchone()[0]
            shared = c.execute("SHOW shared_buffers").fetchone()[0]
            autovacuum = c.execute("SHOW autovacuum").fetchone()[0]
        import redis

        redis_version = redis.Redis.from_url(self.stack.env["REDIS_URL"]).info()["redis_version"]
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        model = "?"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        return {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB, {platform.platform()}",
            "load average before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "versions": (
                f"Python {platform.python_version()}, Django {django.get_version()}, "
                f"PostgreSQL {pg} (shared_buffers {shared}, autovacuum {autovacuum}), "
                f"Redis {redis_version}, "
                f"psycopg {psycopg.__version__}"
            ),
            "topology": (
                f"gunicorn {self.stack.workers} workers of {self.stack.threads} threads, "
                f"Celery worker --concurrency "
                f"{self.stack.worker_concurrency}, load generator {CLIENTS} connections, "
                "all on this machine"
            ),
        }

    def prepare(self) -> None:
        from django.core.management import call_command

        from leadflow.tracking.models import WriteKey

        reuse = self.args.reuse and self.stack.database_exists() and self._meta() is not None
        if not reuse:
            step(f"database {self.stack.database}")
            self.stack.database_create()
        call_command("migrate", verbosity=0, interactive=False)
        # DEBUG=0 renders through the manifest storage: the pages need collected static files.
        call_command("collectstatic", verbosity=0, interactive=False)
        self.stack.redis_flush()
        users = self.users()
        source, _ = WriteKey.objects.get_or_create(name="Benchmark")
        self.key = source.key
        if not reuse:
            step(f"generating {self.scale.leads:,} leads and {self.scale.events:,} events")
            from .generate import generate

            result = generate(
                self.db,
                leads=self.scale.leads,
                events=self.scale.events,
                source_id=source.pk,
                sdr_ids=[u.pk for u in users["sdr"]],
                ae_ids=[u.pk for u in users["ae"]],
                marketer_id=users["marketer"][0].pk,
                progress=self.progress,
            )
            self.notes.append(
                f"generated {result.leads:,} leads, {result.visitors:,} browsers (most never "
                f"identify), {result.events:,} events and {result.transitions:,} transitions "
                f"in {result.seconds:.1f} s ("
                + ", ".join(f"{k} {v:.1f} s" for k, v in result.steps.items())
                + ")"
            )
            self._meta_write(result.seconds)
        else:
            self.notes.append(f"reused the database of an earlier run ({self._meta()})")
        from .rules import bench_rules_install

        bench_rules_install()
        with self._conn() as conn:
            self.user_ids = [
                row[0]
                for row in conn.execute(
                    "SELECT user_id FROM people_contact WHERE user_id <> '' ORDER BY random()"
                    " LIMIT 5000"
                )
            ]

    def _conn(self):
        import psycopg

        return psycopg.connect(self.db, autocommit=True)

    def _meta(self) -> str | None:
        import psycopg

        try:
            with self._conn() as conn:
                row = conn.execute("SELECT info FROM bench_meta").fetchone()
                return row[0] if row else None
        except psycopg.Error:
            return None

    def _meta_write(self, seconds: float) -> None:
        with self._conn() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (info text)")
            conn.execute("DELETE FROM bench_meta")
            conn.execute(
                "INSERT INTO bench_meta VALUES (%s)",
                [
                    f"{self.scale.leads:,} leads / {self.scale.events:,} events generated "
                    f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC in {seconds:.0f} s"
                ],
            )

    def users(self) -> dict[str, list[Any]]:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from leadflow.people.roles import roles_ensure

        roles_ensure()
        model = get_user_model()
        users: dict[str, list[Any]] = {"marketer": [], "sdr": [], "ae": []}
        counts = {"marketer": 1, "sdr": self.scale.sdrs, "ae": self.scale.aes}
        for role, count in counts.items():
            group = Group.objects.get(name=role)
            for n in range(1, count + 1):
                user, created = model.objects.get_or_create(
                    username=f"bench-{role}{n}", defaults={"first_name": role, "last_name": str(n)}
                )
                if created:
                    user.set_unusable_password()
                    user.save()
                user.groups.add(group)
                users[role].append(user)
        return users

    # -- scores of the generated history --

    def settle(self) -> None:
        """Score the generated history once (timed: the first full rescore), then qualify in bulk
        every lead it makes meet the MQL rule, as the worker would have over the weeks."""
        from django.db import connection

        from stages.models import StageRules

        rules = StageRules.current()
        if self._meta() and "settled" in self._meta():
            return
        step("first rescore of the generated history")
        rules.auto_qualify = False
        rules.save()
        seconds = self._rescore_once("first rescore")
        rules.auto_qualify = True
        rules.save()
        sdrs = [u.pk for u in self.users()["sdr"]]
        with connection.cursor() as cursor:
            cursor.execute(
                """
                WITH q AS (
                    SELECT l.id, row_number() OVER (ORDER BY l.id) AS n FROM stages_lead l
                    JOIN people_contact c ON c.id = l.contact_id
                    WHERE l.stage = 'lead' AND l.score >= %s AND c.company <> ''
                        AND c.job_title <> '' AND l.became_mql_at IS NULL
                ), upd AS (
                    UPDATE stages_lead l SET stage = 'mql', status = 'open',
                        became_mql_at = l.last_event_at, stage_changed_at = l.last_event_at,
                        owner_id = (%s::bigint[])[1 + q.n %% cardinality(%s::bigint[])]
                    FROM q WHERE l.id = q.id RETURNING l.id, l.last_event_at
                )
                INSERT INTO stages_leadtransition (lead_id, name, field, source, target, actor,
                    reason, data, created_at)
                SELECT id, 'qualify', 'stage', 'lead', 'mql', 'scoring', '', '{}', last_event_at
                FROM upd
                """,
                [rules.mql_threshold, sdrs, sdrs],
            )
            qualified = cursor.rowcount
            cursor.execute("SELECT stage, count(*) FROM stages_lead GROUP BY 1 ORDER BY 2 DESC")
            stages = ", ".join(f"{stage} {n:,}" for stage, n in cursor.fetchall())
            cursor.execute("ANALYZE stages_lead")
        self.notes.append(
            f"first rescore of the generated history: {seconds:.1f} s; then {qualified:,} leads "
            f"it put over the MQL rule were qualified in bulk. Leads by stage: {stages}"
        )
        with self._conn() as conn:
            conn.execute("UPDATE bench_meta SET info = info || ', settled'")

    def _rescore_once(self, label: str) -> float:
        from scoring.models import RescoreRun
        from scoring.services import rescore_progress, rescore_start

        started = time.perf_counter()
        run = rescore_start(reason=RescoreRun.Reason.RULES)
        while True:
            state = rescore_progress(run.pk)
            self.progress(label, state["done"], state["total"] or 1)
            if state["finished"]:
                break
            if time.perf_counter() - started > TIMEOUT:
                raise RuntimeError("the rescore did not finish within an hour")
            time.sleep(0.05)
        return time.perf_counter() - started

    # -- queue pages --

    def _session_cookie(self, user) -> str:
        from django.conf import settings
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore

        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"

    def _page_runs(
        self, path: str, cookie: str, seconds: float | None = None
    ) -> list[dict[str, Any]]:
        """The scale's runs of one signed-in client loading a page back to back (for the
        scale's seconds, or `seconds`); a page that answers anything but 200 stops the bench."""
        results = []
        for _ in range(self.scale.runs):
            result = self.load(
                {
                    "port": self.stack.ports["web"],
                    "path": path,
                    "method": "GET",
                    "bodies": [],
                    "cookie": cookie,
                    "clients": 1,
                    "duration": seconds or self.scale.page_seconds,
                },
                "pages",
            )
            if result["ok"] < result["requests"] - result["errors"]:
                raise RuntimeError(f"{path} answered {result['statuses']}")
            results.append(result)
        return results

    def vacuum(self) -> None:
        """VACUUM (ANALYZE) the leads, which the generator's bulk qualify and every rescore
        rewrite: a server may run without autovacuum (this machine's does), and the queue pages
        would then be timed over every dead version of every lead."""
        with self._conn() as conn:
            conn.execute("VACUUM (ANALYZE) stages_lead")

    def pages(self) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from leadflow.workspaces.views import LIST_SIZE
        from stages import selectors
        from stages.models import Lead

        step("queue pages")
        self.vacuum()
        users = self.users()
        marketer = users["marketer"][0]
        sdr = max(users["sdr"], key=lambda u: Lead.objects.filter(owner=u).count())
        ae = max(users["ae"], key=lambda u: Lead.objects.filter(owner=u).count())
        mqls = Lead.objects.filter(stage="mql").count()
        cursors = {"first page": None}
        with connection.cursor() as cursor:
            for label, share in (("deep page (middle)", 0.5), ("deep page (last)", 1.0)):
                offset = max(0, int(mqls * share) - 50)
                cursor.execute(
                    "SELECT became_mql_at, id FROM stages_lead WHERE stage = 'mql'"
                    " ORDER BY became_mql_at DESC, id DESC OFFSET %s LIMIT 1",
                    [offset],
                )
                row = cursor.fetchone()
                if row:
                    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
                    micros = (row[0] - epoch) // dt.timedelta(microseconds=1)
                    cursors[f"{label}, row {offset:,}"] = f"{micros}_{row[1]}"
        pages = []
        for label, cursor_value in cursors.items():
            path = "/queues/mql/" + (f"?after={cursor_value}" if cursor_value else "")
            pages.append(
                (
                    f"MQL queue, {label}",
                    path,
                    marketer,
                    lambda c=cursor_value: selectors.mql_queue(cursor=c),
                )
            )
        size = LIST_SIZE  # the rows the page shows, as its bare SQL must
        pages.append(
            (
                "SDR my work (4 lists)",
                "/work/",
                sdr,
                lambda: selectors.sdr_work(user=sdr, size=size),
            )
        )
        pages.append(("AE my deals", "/deals/", ae, lambda: selectors.ae_deals(user=ae, size=size)))
        costs: list[str] = []
        for label, path, user, select in pages:
            cookie = self._session_cookie(user)
            with CaptureQueriesContext(connection) as captured:
                select()
            statements = [q["sql"] for q in captured.captured_queries]
            floors = []
            from .floors import sql_time

            for _ in range(self.scale.runs):
                times = [sql_time(self.db, s, repeat=30) for s in statements]
                per = [sum(parts) for parts in zip(*times, strict=True)]
                per.sort()
                floors.append(per[int(len(per) * 0.95) - 1] * 1000)
            p50s, p95s, cpu_web, cpu_pg = [], [], [], []
            for result in self._page_runs(path, cookie):
                p50s.append(result["p50_ms"])
                p95s.append(result["p95_ms"])
                cpu_web.append(result["cpu"].get("web", 0.0) / max(1, result["ok"]) * 1000)
                cpu_pg.append(result["cpu"].get("postgres", 0.0) / max(1, result["ok"]) * 1000)
            floor = statistics.median(floors)
            costs.append(
                f"{label} {statistics.median(cpu_web):.0f} + {statistics.median(cpu_pg):.0f}"
            )
            self.figures.append(
                Figure(label, "p50 over HTTP", p50s, "ms", floor=None, target="", note="")
            )
            self.figures.append(
                Figure(
                    label,
                    "p95 over HTTP",
                    p95s,
                    "ms",
                    floor=floor,
                    floor_label=f"p95 of its bare SQL ({len(statements)} statements)",
                    target="≤ 30 ms",
                    bound=(30, "max"),
                )
            )
        self.notes.append(
            f"queue pages: {mqls:,} MQLs; one client, back to back, signed in by a session "
            "cookie; the floor is the selector's own SQL, captured and run bare with psycopg"
        )
        self.notes.append(
            "queue pages, CPU ms a request (gunicorn worker + PostgreSQL): " + "; ".join(costs)
        )

    # -- full rescore --

    def rescore(self) -> None:
        from scoring.models import ScoringRule

        from .floors import sql_time
        from .rules import CHANGED_RULE

        step("full rescore after a rule change")
        rule = ScoringRule.objects.get(name=CHANGED_RULE)
        base = rule.points
        seconds = []
        for n in range(self.scale.runs):
            rule.points = base - 1 if n % 2 == 0 else base
            rule.save()
            seconds.append(self._rescore_once(f"rescore {n + 1}/{self.scale.runs}"))
        if rule.points != base:
            rule.points = base
            rule.save()
        floor_sql = (
            "SELECT count(*) FROM (SELECT lead_id, count(*), max(occurred_at) FROM tracking_event"
            " WHERE lead_id IS NOT NULL GROUP BY lead_id) x"
        )
        floor = statistics.median(sql_time(self.db, floor_sql, repeat=self.scale.runs))
        with self._conn() as conn:
            events = conn.execute("SELECT count(*) FROM tracking_event").fetchone()[0]
            leads = conn.execute("SELECT count(*) FROM stages_lead").fetchone()[0]
        needed = 20_000_000 / 60
        self.figures.append(
            Figure(
                "full rescore after a rule change",
                f"seconds, {leads:,} leads / {events:,} events",
                seconds,
                "s",
                floor=floor,
                floor_label="one GROUP BY lead over the events",
                target="≤ 60 s at 1 M / 20 M",
                bound=(60, "max") if events >= 15_000_000 else None,
            )
        )
        self.figures.append(
            Figure(
                "full rescore after a rule change",
                "events scored a second",
                [events / s for s in seconds],
                "",
                floor=events / floor,
                floor_label="(the GROUP BY)",
                target=f"≥ {needed:,.0f} (20 M in 60 s)",
                bound=(needed, "min"),
            )
        )

    # -- ingest --

    def ingest_batch(self) -> None:
        from .floors import copy_floor, copy_payloads, floor_table_create, floor_table_drop
        from .load import STAMP
        from .payloads import batch_bodies

        step("/v1/batch, 100 events a call")
        bodies = batch_bodies(self.user_ids)
        spec = {
            "port": self.stack.ports["web"],
            "path": "/v1/batch",
            "bodies": bodies,
            "key": self.key,
            "clients": CLIENTS,
            "duration": self.scale.seconds,
            "events_per_request": 100,
        }
        self.warm(spec, "batch")
        results = [self.load(spec, "batch", profile=n == 0) for n in range(self.scale.runs)]
        floor_table_create(self.db)
        try:
            payloads = copy_payloads(bodies, STAMP.decode())
            copies = [
                copy_floor(
                    self.db,
                    payloads,
                    stamp=STAMP.decode(),
                    clients=CLIENTS,
                    duration=self.scale.seconds,
                )
                for _ in range(self.scale.runs)
            ]
            self.stack.gunicorn_start("floor", "bench.floors:app")
            self.warm({**spec, "port": self.stack.ports["floor"]}, "batch floor")
            handler = [
                self.load({**spec, "port": self.stack.ports["floor"]}, "batch floor")
                for _ in range(self.scale.runs)
            ]
            self.stack.stop("floor")
        finally:
            floor_table_drop(self.db)
        self._check(results, "/v1/batch")
        self.figures.append(
            Figure(
                "batch ingest `/v1/batch` (100 events a call)",
                f"events/s stored, {CLIENTS} clients",
                [r["events_per_s"] for r in results],
                floor=statistics.median(r["events_per_s"] for r in handler),
                floor_label="bare COPY handler",
                target="≥ 40,000",
                bound=(40_000, "min"),
            )
        )
        self.figures.append(
            Figure(
                "batch ingest `/v1/batch` (100 events a call)",
                "events/s vs COPY straight into PostgreSQL",
                [r["events_per_s"] for r in results],
                floor=statistics.median(c["rows_per_s"] for c in copies),
                floor_label="psycopg COPY, same rows",
            )
        )
        self.figures.append(
            Figure(
                "batch ingest `/v1/batch` (100 events a call)",
                "p99 of a call",
                [r["p99_ms"] for r in results],
                "ms",
                floor=statistics.median(c["p99_ms"] for c in copies),
                floor_label="p99 of one COPY of the rows",
            )
        )
        self._client_note("batch", results)
        self.notes.append(self._cpu_note("/v1/batch", results, 100))
        self.notes.append(self._cpu_note("/v1/batch, bare COPY handler", handler, 100))

    def ingest_track(self) -> None:
        from .floors import floor_table_create, floor_table_drop
        from .payloads import track_bodies

        step("/v1/track, one event a call")
        spec = {
            "port": self.stack.ports["web"],
            "path": "/v1/track",
            "bodies": track_bodies(self.user_ids),
            "key": self.key,
            "clients": CLIENTS,
            "duration": self.scale.seconds,
        }
        self.warm(spec, "track")
        results = [self.load(spec, "track", profile=n == 0) for n in range(self.scale.runs)]
        floor_table_create(self.db)
        try:
            self.stack.gunicorn_start("floor", "bench.floors:app")
            self.warm({**spec, "port": self.stack.ports["floor"]}, "track floor")
            handler = [
                self.load({**spec, "port": self.stack.ports["floor"]}, "track floor")
                for _ in range(self.scale.runs)
            ]
            self.stack.stop("floor")
        finally:
            floor_table_drop(self.db)
        self._check(results, "/v1/track")
        path = "single-event ingest `/v1/track`"
        self.figures.append(
            Figure(
                path,
                f"requests/s, {CLIENTS} clients",
                [r["rps"] for r in results],
                floor=statistics.median(r["rps"] for r in handler),
                floor_label="bare INSERT handler",
                target="≥ 1,500",
                bound=(1_500, "min"),
            )
        )
        self.figures.append(
            Figure(
                path,
                "p50",
                [r["p50_ms"] for r in results],
                "ms",
                floor=statistics.median(r["p50_ms"] for r in handler),
                floor_label="bare INSERT handler",
            )
        )
        self.figures.append(
            Figure(
                path,
                "p99",
                [r["p99_ms"] for r in results],
                "ms",
                floor=statistics.median(r["p99_ms"] for r in handler),
                floor_label="bare INSERT handler",
                target="< 20 ms",
                bound=(20, "max"),
            )
        )
        self._client_note("track", results)
        self.notes.append(self._cpu_note("/v1/track", results, 1))
        self.notes.append(self._cpu_note("/v1/track, bare INSERT handler", handler, 1))

    def _check(self, results: list[dict[str, Any]], path: str) -> None:
        for result in results:
            bad = {k: v for k, v in result["statuses"].items() if not k.startswith("2")}
            if bad or result["errors"]:
                self.notes.append(
                    f"{path}: {result['errors']} connection errors, answers {result['statuses']}"
                )

    def _client_note(self, name: str, results: list[dict[str, Any]]) -> None:
        share = statistics.median(r["client_cpu_share"] for r in results)
        self.notes.append(
            f"{name}: the load generator itself took {share:.0%} of one core "
            f"(of the machine's {os.cpu_count()})"
        )

    def warm(self, spec: dict[str, Any], label: str) -> None:
        """A short load that is not measured, so that every server process has made its first
        connections, prepared its statements and filled its caches before the runs that are."""
        self.load({**spec, "duration": WARM_SECONDS}, f"{label} warm-up")

    def load(self, spec: dict[str, Any], label: str, *, profile: bool = False) -> dict[str, Any]:
        """Run the load generator in its own process; return its summary."""
        spy = None
        if profile and self.args.profile:
            spy = self._spy_start(label, spec["duration"])
        self.progress(label, 0, 1)
        before = self._cpu()
        answer = subprocess.run(
            [PYTHON, "-m", "bench.load"],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
            timeout=spec["duration"] + 120,
        )
        if answer.returncode != 0:
            raise RuntimeError(f"the load generator failed: {answer.stderr[-2000:]}")
        self.progress(label, 1, 1)
        after = self._cpu()
        if spy is not None:
            self._spy_finish(label, spy)
        result = json.loads(answer.stdout)
        cpu = {k: after[k] - before.get(k, 0.0) for k in after if not k.startswith("pg")}
        cpu["postgres"] = sum(after[k] - before.get(k, 0.0) for k in after if k.startswith("pg"))
        result["cpu"] = cpu
        return result

    def _cpu(self) -> dict[str, float]:
        """CPU seconds used so far by the web processes, the worker, the floor handler and the
        PostgreSQL backends of the bench's database: on a shared machine, what a request costs
        is steadier than how long it waits for a core."""
        tick = os.sysconf("SC_CLK_TCK")
        out = {}
        for name in ("web", "worker", "floor"):
            if name in self.stack.processes:
                out[name] = sum(_cpu_seconds(pid, tick) for pid in self._tree(name))
        with self._conn() as conn:
            pids = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                )
            ]
        # Per backend: one that started during a run counts whole, one that ended is lost.
        for pid in pids:
            out[f"pg{pid}"] = _cpu_seconds(pid, tick)
        return out

    def _cpu_note(self, name: str, results: list[dict[str, Any]], events_each: int) -> str:
        """CPU per 1,000 events of the median run, by process kind."""
        ordered = sorted(results, key=lambda r: r["events_per_s"] or r["rps"])
        middle = ordered[len(ordered) // 2]
        events = middle["ok"] * events_each
        if not events:
            return ""
        parts = [
            f"{kind} {seconds / events * 1000:.2f}"
            for kind, seconds in middle["cpu"].items()
            if seconds > 0
        ]
        return f"{name}: CPU s per 1,000 events: " + ", ".join(parts)

    # -- freshness --

    def freshness(self) -> None:
        from stages.models import StageRules

        from .payloads import batch_bodies

        step("freshness under a steady load")
        threshold = StageRules.current().mql_threshold
        with self._conn() as conn:
            probes = conn.execute(
                """
                SELECT l.id, c.user_id, l.score + 40 >= %s FROM stages_lead l
                JOIN people_contact c ON c.id = l.contact_id
                WHERE l.stage = 'lead' AND c.user_id <> '' AND c.company <> ''
                    AND c.job_title <> '' AND l.became_mql_at IS NULL
                    AND l.disqualified_at IS NULL
                ORDER BY (l.score + 40 >= %s) DESC, random() LIMIT 2000
                """,
                [threshold, threshold],
            ).fetchall()
        probe_users = {user_id for _, user_id, _ in probes}
        background = [u for u in self.user_ids if u not in probe_users]
        bodies = batch_bodies(background)
        for rate in (1_000, 10_000):
            p50s, p95s, rates, lost, qualified_share, scored = [], [], [], 0, [], 0
            for _ in range(self.scale.runs):
                take, probes = (
                    probes[: int(self.scale.fresh_seconds * 4)],
                    probes[int(self.scale.fresh_seconds * 4) :],
                )
                if not take:
                    break
                latencies, missed, achieved, mql = self._fresh_run(rate, bodies, take)
                if latencies:
                    p50s.append(percentile(latencies, 50))
                    p95s.append(percentile(latencies, 95))
                    scored += len(latencies)
                rates.append(achieved)
                lost += missed
                qualified_share.append(mql)
            label = f"event → score and stage, steady {rate:,} events/s"
            bound = 2 if rate == 1_000 else 10
            self.figures.append(Figure(label, "p50", p50s, "s"))
            self.figures.append(
                Figure(label, "p95", p95s, "s", target=f"≤ {bound} s", bound=(bound, "max"))
            )
            self.notes.append(
                f"freshness at {rate:,} events/s: the server stored "
                f"{statistics.median(rates):,.0f} events/s (batches of 100 on a fixed schedule); "
                f"{scored} probes timed, {lost} not scored within 60 s; a probe is a /v1/track "
                "'Demo Requested' "
                f"(+40) for a known lead, 4 a second, timed until its score (and, for the "
                f"{statistics.median(qualified_share or [0]):.0%} it puts over the MQL rule, its "
                "stage) is stored, polled every 50 ms"
            )

    def _fresh_run(
        self, rate: int, bodies: list[str], probes: list[tuple[int, str, bool]]
    ) -> tuple[list[float], int, float, float]:
        import http.client

        spec = {
            "port": self.stack.ports["web"],
            "path": "/v1/batch",
            "bodies": bodies,
            "key": self.key,
            "rate": rate / 100,
            "duration": self.scale.fresh_seconds,
            "events_per_request": 100,
        }
        holder: dict[str, Any] = {}
        load = threading.Thread(target=lambda: holder.update(self.load(spec, f"steady {rate}/s")))
        load.start()
        import base64

        auth = "Basic " + base64.b64encode(f"{self.key}:".encode()).decode()
        sent: dict[int, tuple[float, bool]] = {}
        latencies: list[float] = []
        sending = threading.Event()
        sending.set()
        # Watched while they are sent: a probe is timed when its score shows, not when the load
        # ends.
        watcher = threading.Thread(target=self._fresh_watch, args=(sent, latencies, sending))
        watcher.start()
        refused = 0
        interval = 0.25
        began = time.monotonic()
        for n, (lead_id, user_id, qualifies) in enumerate(probes):
            at = began + 1 + n * interval
            time.sleep(max(0.0, at - time.monotonic()))
            if time.monotonic() - began > self.scale.fresh_seconds:
                break
            body = json.dumps(
                {
                    "messageId": f"probe-{uuid.uuid4().hex}",
                    "userId": user_id,
                    "type": "track",
                    "event": "Demo Requested",
                }
            )
            sent_at = time.time()
            conn = http.client.HTTPConnection("127.0.0.1", self.stack.ports["web"], timeout=60)
            try:
                conn.request(
                    "POST",
                    "/v1/track",
                    body,
                    {"Content-Type": "application/json", "Authorization": auth},
                )
                answer = conn.getresponse()
                answer.read()
            except OSError:
                refused += 1  # counted as not scored
                continue
            finally:
                conn.close()
            if answer.status == 200:
                sent[lead_id] = (sent_at, qualifies)
            else:
                refused += 1
        sending.clear()
        watcher.join()
        load.join()
        mql = sum(1 for _, q in sent.values() if q) / len(sent) if sent else 0.0
        missed = len(sent) - len(latencies) + refused
        return latencies, missed, holder.get("events_per_s", 0.0), mql

    def _fresh_watch(
        self, sent: dict[int, tuple[float, bool]], latencies: list[float], sending: threading.Event
    ) -> None:
        """Poll the probes' leads every 50 ms while they are sent, and up to 60 s after the last:
        a probe's latency runs from its send to the first poll that sees its score (and stage)."""
        done: set[int] = set()
        deadline = None
        with self._conn() as conn:
            while True:
                pending = {k: v for k, v in list(sent.items()) if k not in done}
                if not sending.is_set():
                    deadline = deadline or time.monotonic() + 60
                    if not pending or time.monotonic() > deadline:
                        return
                if pending:
                    rows = conn.execute(
                        "SELECT id, extract(epoch FROM scored_at), stage FROM stages_lead"
                        " WHERE id = ANY(%s)",
                        [list(pending)],
                    ).fetchall()
                    now = time.time()
                    for lead_id, scored, stage in rows:
                        sent_at, qualifies = pending[lead_id]
                        if (
                            scored is not None
                            and float(scored) >= sent_at
                            and (stage == "mql" or not qualifies)
                        ):
                            latencies.append(now - sent_at)
                            done.add(lead_id)
                time.sleep(0.05)

    # -- reports --

    def reports(self) -> None:
        """The funnel of the last 90 days in process beside its bare SQL, each report section
        over HTTP (its CSV export, one request a section) for several periods beside its bare
        SQL, and the whole reports page (every section at once)."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        from leadflow.reports import queries
        from leadflow.reports.services import journeys_refresh, visitor_days_refresh

        from .floors import sql_time

        step("funnel report")
        # The nightly pass counts the visitors of past days (only today's are counted live);
        # the journeys are built by then too, if the generator's history left them out.
        started = time.perf_counter()
        visitor_days_refresh()
        # Once a database: the ingest runs before made journeys of their own, a few among all.
        written = 0
        if "journeys" not in (self._meta() or ""):
            written = journeys_refresh()
            with self._conn() as conn:
                conn.execute("UPDATE bench_meta SET info = info || ', journeys'")
        self.notes.append(
            f"funnel rollups brought up to date as the nightly pass does ({written:,} journeys "
            f"built) in {time.perf_counter() - started:.1f} s"
        )
        today = timezone.localdate()
        period = queries.Period(today - dt.timedelta(days=89), today)
        with CaptureQueriesContext(connection) as captured:
            queries.funnel(period)
        statements = [q["sql"] for q in captured.captured_queries]
        floors, values = [], []
        for _ in range(self.scale.runs):
            times = [sql_time(self.db, s, repeat=20) for s in statements]
            floors.append(statistics.median(sum(parts) for parts in zip(*times, strict=True)))
            runs = []
            for _ in range(20):
                started = time.perf_counter()
                queries.funnel(period)
                runs.append(time.perf_counter() - started)
            values.append(statistics.median(runs) * 1000)
        self.figures.append(
            Figure(
                "funnel report",
                "the last 90 days, in process (median of 20)",
                values,
                "ms",
                floor=statistics.median(floors) * 1000,
                floor_label=f"its bare SQL ({len(statements)} statements)",
                target="≤ 100 ms at 1 M leads",
                bound=(100, "max"),
            )
        )
        cookie = self._session_cookie(self.users()["marketer"][0])
        self._report_sections(cookie)
        runs = self._page_runs("/reports/", cookie)
        p50s = [result["p50_ms"] for result in runs]
        p95s = [result["p95_ms"] for result in runs]
        self.figures.append(Figure("reports page, every section", "p50 over HTTP", p50s, "ms"))
        self.figures.append(
            Figure(
                "reports page, every section",
                "p95 over HTTP",
                p95s,
                "ms",
                target="≤ 100 ms a report",
            )
        )

    def _report_sections(self, cookie: str) -> None:
        """Each section's CSV export over HTTP, over 30, 90 and 365 days up to today: one
        figure a section at its slowest period (p95), beside the bare SQL of that section and
        period; a note gives p50 / p95 / floor at every period."""
        from django.utils import timezone

        from leadflow.reports.tables import SECTIONS

        today = timezone.localdate()
        for key in SECTIONS:
            step(f"report section {key}")
            measured = []
            for days in (30, 90, 365):
                start = today - dt.timedelta(days=days - 1)
                path = f"/reports/{key}.csv?period=custom&start={start}&end={today}"
                runs = self._page_runs(path, cookie, seconds=self.scale.page_seconds / 2)
                floor, statements = self._report_floor(key, start, today)
                p50s = [result["p50_ms"] for result in runs]
                p95s = [result["p95_ms"] for result in runs]
                measured.append((days, p50s, p95s, floor, statements))
            days, _, p95s, floor, statements = max(measured, key=lambda m: statistics.median(m[2]))
            self.figures.append(
                Figure(
                    f"report: {key}",
                    f"p95 over HTTP (CSV), slowest period: {days} days",
                    p95s,
                    "ms",
                    floor=floor,
                    floor_label=f"its bare SQL ({statements} statements)",
                    target="≤ 100 ms at 1 M leads",
                    bound=(100, "max"),
                )
            )
            self.notes.append(
                f"report section {key} (CSV export, p50 / p95 over HTTP, bare SQL), by period: "
                + "; ".join(
                    f"{d} days {statistics.median(a):.1f} / {statistics.median(b):.1f} / {f:.1f} ms"
                    for d, a, b, f, _ in measured
                )
            )

    def _report_floor(self, key: str, start: dt.date, end: dt.date) -> tuple[float, int]:
        """The bare SQL of one section and period: the statements it runs, each timed 10 times
        from a plain connection; the median of their sums in ms, and how many there are."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from leadflow.reports.queries import Period
        from leadflow.reports.tables import SECTIONS, Scope

        from .floors import sql_time

        with CaptureQueriesContext(connection) as captured:
            # The breakdowns by the page's default dimension, as a user first sees them.
            build = SECTIONS[key][1]
            build(Period(start, end), Scope(everything=True), dimension="first_touch_source")
        times = [sql_time(self.db, q["sql"], repeat=10) for q in captured.captured_queries]
        total = statistics.median(sum(parts) for parts in zip(*times, strict=True))
        return total * 1000, len(times)

    # -- not built yet --

    def not_built(self) -> None:
        self.figures.append(
            Figure(
                "CSV import",
                "",
                [],
                text="not built yet",
                target="≥ 50,000 rows/s; 1 M leads < 30 s",
            )
        )

    # -- memory --

    def _tree(self, name: str) -> list[int]:
        import psutil

        try:
            root = psutil.Process(self.stack.pid(name))
            return [root.pid, *(child.pid for child in root.children(recursive=True))]
        except (psutil.Error, KeyError):
            return []

    def memory_watch(self) -> None:
        """Read each process's peak resident memory (VmHWM) every second, while the run lasts."""
        self._watching = True

        def watch() -> None:
            while self._watching:
                for kind, name in (("web", "web"), ("worker", "worker")):
                    for pid in self._tree(name):
                        peak = _vm_hwm(pid)
                        if peak:
                            self.memory[kind][pid] = max(self.memory[kind].get(pid, 0), peak)
                time.sleep(1)

        self._watcher = threading.Thread(target=watch, daemon=True)
        self._watcher.start()

    def memory_report(self) -> None:
        self._watching = False
        self._watcher.join(timeout=5)
        for kind, name, bound in (("web", "web", 150), ("worker", "worker", 300)):
            root = self.stack.pid(name)
            children = {pid: kb for pid, kb in self.memory[kind].items() if pid != root}
            peaks = [kb / 1024 for kb in children.values()] or [0.0]
            label = (
                "web process (gunicorn worker)" if kind == "web" else "worker (Celery pool process)"
            )
            self.figures.append(
                Figure(
                    "memory",
                    f"peak RSS of a {label}, over the run",
                    [max(peaks)],
                    "MB",
                    target=f"≤ {bound} MB",
                    bound=(bound, "max"),
                )
            )
            parent = self.memory[kind].get(root, 0) / 1024
            self.notes.append(
                f"memory, {kind}: {len(children)} processes, peaks "
                + ", ".join(f"{p:.0f}" for p in sorted(peaks))
                + f" MB; the {'gunicorn master' if kind == 'web' else 'Celery main process'} "
                f"{parent:.0f} MB"
            )

    # -- profiles --

    def _spy_start(self, label: str, seconds: float) -> tuple[subprocess.Popen, Path]:
        out = self.stack.logs / f"spy-{label.replace(' ', '-')}.txt"
        process = subprocess.Popen(
            [
                str(Path(PYTHON).parent / "py-spy"),
                "record",
                "--pid",
                str(self.stack.pid("web")),
                "--subprocesses",
                "--duration",
                str(int(seconds)),
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(out),
                "--nonblocking",
                "--idle",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return process, out

    def _spy_finish(self, label: str, spy: tuple[subprocess.Popen, Path]) -> None:
        from .profile import summarize

        process, out = spy
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if out.exists():
            self.profile += f"**{label}** (gunicorn workers, {self.scale.seconds:.0f} s):\n\n"
            self.profile += summarize(out.read_text()) + "\n\n"

    def close(self) -> None:
        self._watching = False


def _interrupted(number: int, frame: object) -> None:
    raise SystemExit(128 + number)


def _cpu_seconds(pid: int, tick: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / tick


def _vm_hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0
