from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from leadflow.tracking.models import WriteKey


class Command(BaseCommand):
    help = "Manage tracking write keys. `writekey create NAME` prints the new key as its last line."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a write key")
        create.add_argument("name")
        create.add_argument("--kind", choices=WriteKey.Kind.values, default=WriteKey.Kind.WEBSITE)
        sub.add_parser("list", help="list write keys")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "create":
            key = WriteKey.objects.create(name=options["name"], kind=options["kind"])
            self.stdout.write(f"Write key for {key.name} ({key.kind}):")
            self.stdout.write(key.key)
        else:
            for key in WriteKey.objects.order_by("pk"):
                state = "revoked" if key.revoked_at else "active"
                self.stdout.write(f"{key.name}\t{key.kind}\t{state}\t{key.key}")
