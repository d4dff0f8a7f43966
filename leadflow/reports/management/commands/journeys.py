from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from leadflow.reports.services import (
    journey_days_rebuild,
    journeys_refresh,
    visitor_days_refresh,
)


class Command(BaseCommand):
    help = (
        "Recompute every lead's journey (the funnel reports' rollup) from its history, and the "
        "visitor counts of past days."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rebuild-days",
            action="store_true",
            help="also rebuild the day and duration rollups from the journeys (after a change of"
            " TIME_ZONE)",
        )

    def handle(self, *args: Any, rebuild_days: bool, **options: Any) -> None:
        started = time.perf_counter()
        written = journeys_refresh()
        visitor_days_refresh()
        if rebuild_days:
            journey_days_rebuild()
        self.stdout.write(f"{written} journeys refreshed in {time.perf_counter() - started:.1f} s")
