from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadflow.tracking.models import WriteKey
from leadflow.tracking.services import WriteKeyError, writekey_revoke, writekey_rotate


class Command(BaseCommand):
    help = "Manage tracking write keys. `writekey create NAME` prints the new key as its last line."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a write key")
        create.add_argument("name")
        create.add_argument("--kind", choices=WriteKey.Kind.values, default=WriteKey.Kind.WEBSITE)
        sub.add_parser("list", help="list write keys")
        for action in ("rotate", "revoke"):
            sub.add_parser(action, help=f"{action} a key (by its current value)").add_argument(
                "key"
            )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "create":
            key = WriteKey.objects.create(name=options["name"], kind=options["kind"])
            self.stdout.write(f"Write key for {key.name} ({key.kind}):")
            self.stdout.write(key.key)
        elif action in ("rotate", "revoke"):
            source = WriteKey.objects.filter(key=options["key"]).first()
            if source is None:
                raise CommandError("no such write key")
            service = writekey_rotate if action == "rotate" else writekey_revoke
            try:
                source = service(source=source, by=None)
            except WriteKeyError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"{action}d the key of {source.name}:")
            self.stdout.write(source.key if action == "rotate" else "(revoked)")
        else:
            for key in WriteKey.objects.order_by("pk"):
                state = "revoked" if key.revoked_at else "active"
                self.stdout.write(f"{key.name}\t{key.kind}\t{state}\t{key.key}")
