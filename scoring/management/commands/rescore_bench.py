"""Time a full rescore on generated leads and events, beside the floor of one aggregate pass.

The data comes from the benchmark's generator (`bench.generate`, run from the checkout); the
whole benchmark, with the rescore through real Celery workers, is `make bench`. This command
times the chunks in threads of one process, to look at the scoring statements alone.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from leadflow.tracking.models import Event, WriteKey
from scoring.models import RescoreRun, ScoringRule
from scoring.services import rescore_chunk, rescore_create
from stages.models import Lead, StageRules

FLOOR = f"SELECT count(*) FROM (SELECT lead_id, count(*) FROM {Event._meta.db_table} GROUP BY 1) x"


class Command(BaseCommand):
    help = (
        "Generate leads and events in an empty database (bench.generate), install rules that "
        "use every option, and time a full rescore beside one bare aggregate pass."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, default=50_000)
        parser.add_argument("--events", type=int, default=1_000_000)
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
        try:
            from bench.generate import django_conninfo, generate
            from bench.rules import bench_rules_install
        except ImportError:
            raise CommandError("run it from the checkout: it needs the bench/ package") from None
        if not Lead.objects.exists():
            source, _ = WriteKey.objects.get_or_create(name="Benchmark")
            result = generate(
                django_conninfo(),
                leads=options["leads"],
                events=options["events"],
                source_id=source.pk,
                sdr_ids=[],
                ae_ids=[],
            )
            self.stdout.write(
                f"generated {result.leads} leads and {result.events} events in "
                f"{result.seconds:.0f} s"
            )
        if not ScoringRule.objects.exists():
            bench_rules_install()
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
