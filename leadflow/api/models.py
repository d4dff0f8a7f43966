from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token. Only its hash is stored; the token is shown once, at creation."""

    PREFIX = "lf_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True, default="")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} {self.name}".strip()

    @classmethod
    def issue(cls, *, user: settings.AUTH_USER_MODEL, name: str = "") -> str:
        """Create a token for `user` and return it in clear, the only time it exists so."""
        token = cls.PREFIX + secrets.token_urlsafe(32)
        cls.objects.create(user=user, name=name, key_hash=token_hash(token))
        return token
