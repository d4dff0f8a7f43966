from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from django.utils import timezone

from leadflow.people.demo import data
from leadflow.people.demo.load import demo_play, demo_setup
from leadflow.people.demo.plan import plan_build
from leadflow.people.models import Contact, Visitor
from leadflow.tracking.models import Event
from stages.models import Lead, Stage, Status


class Command(BaseCommand):
    help = (
        "Load the demo: a user for every role (password 'leadflow'), the demo scoring rules and "
        "90 days of leads and events. Safe to run again. The write key is the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--leads", type=int, default=2000, help="how many leads to make (default 2000)"
        )

    def handle(self, *args: Any, leads: int, **options: Any) -> None:
        if leads < 1:
            raise CommandError("--leads must be at least 1")
        started = time.perf_counter()
        users, key = demo_setup()
        if Lead.objects.exists() or Contact.objects.exists() or key.events.exists():
            # Never mix made-up people into a database that has people, the demo's or real ones.
            self.stdout.write("The database has leads already: no demo leads added.")
        else:
            # To the hour: the same seed then gives the same plan all hour long.
            end = timezone.now().replace(minute=0, second=0, microsecond=0)
            plan = plan_build(leads=leads, end=end)
            result = demo_play(plan=plan, source=key, users=users)
            self.stdout.write(
                f"Demo loaded in {time.perf_counter() - started:.1f} s: {result.messages} events "
                f"and {result.steps} actions of people and scoring over 90 days."
            )
            for step, problem in result.skipped:
                self.stderr.write(f"skipped {step.action} on {step.key}: {problem}")
        self._summary()
        usernames = ", ".join(username for username, *_ in data.USERS)
        self.stdout.write(f"Users (demo password '{data.PASSWORD}'): {usernames}")
        self.stdout.write(f"Tracking write key: {key.key}")

    def _summary(self) -> None:
        counts = {
            (row["stage"], row["status"]): row["n"]
            for row in Lead.objects.values("stage", "status").annotate(n=Count("pk"))
        }
        self.stdout.write("Leads by stage:")
        for stage in Stage:
            statuses = [(status, n) for (s, status), n in counts.items() if s == stage]
            total = sum(n for _, n in statuses)
            detail = ", ".join(
                f"{Status(status).label.lower()} {n}" for status, n in sorted(statuses) if status
            )
            detail = f"  ({detail})" if detail else ""
            self.stdout.write(f"  {stage.label:<13}{total:>6}{detail}")
        anonymous = Visitor.objects.filter(contact__isnull=True).count()
        self.stdout.write(f"Anonymous visitors: {anonymous}; events: {Event.objects.count()}")
