from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.utils import timezone

from scoring.models import RescoreRun
from scoring.services import rescore_chunk, rescore_create, rescore_progress, rescore_start


class Command(BaseCommand):
    help = (
        "Rescore every lead with the active rules, as a rule change does, and say how long it "
        "took. The chunks run in the Celery workers, or here with --threads."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunks", type=int, help="chunks of lead ids (default: settings)")
        parser.add_argument(
            "--threads", type=int, default=0, help="run the chunks here, this many at a time"
        )

    def handle(self, *args: Any, chunks: int | None, threads: int, **options: Any) -> None:
        started = time.perf_counter()
        if threads:
            run = rescore_create(reason=RescoreRun.Reason.MANUAL, chunks=chunks)
            run.as_of = timezone.now()
            run.save(update_fields=["as_of"])
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda n: _chunk(run.pk, n), range(run.chunks)))
        else:
            run = rescore_start(reason=RescoreRun.Reason.MANUAL, chunks=chunks)
            shown = -1
            while not (progress := rescore_progress(run.pk))["finished"]:
                if progress["done"] != shown:
                    shown = progress["done"]
                    self.stdout.write(f"  {shown}/{progress['total']} chunks")
                time.sleep(0.2)
        run.refresh_from_db()
        self.stdout.write(
            f"Rescore #{run.pk}: {run.chunks} chunks in {time.perf_counter() - started:.1f} s, "
            f"{run.qualified} leads qualified."
        )


def _chunk(run_id: int, index: int) -> int:
    try:
        return rescore_chunk(run_id=run_id, index=index)
    finally:
        connection.close()  # each thread has its own connection
