from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from leadflow.tracking.services import leads_attribute


class Command(BaseCommand):
    help = (
        "Set the first and last touch of every lead from its stored events (after a bulk load, "
        "or for history received before attribution existed). Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = leads_attribute()
        self.stdout.write(f"{count} leads have a first and a last touch.")
