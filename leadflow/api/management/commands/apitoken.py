from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadflow.api.models import ApiToken


class Command(BaseCommand):
    help = "Issue a personal API token for USERNAME; the token is the last line printed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user called {username!r}")
        token = ApiToken.issue(user=user, name=name)
        self.stdout.write(f"API token for {username} (shown once, keep it safe):")
        self.stdout.write(token)
