"""Who is calling the REST API: the session user, or a personal token as a Bearer."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from django.utils import timezone

from .models import ApiToken, token_hash


class TokenError(Exception):
    pass


def api_user(request: HttpRequest) -> AbstractBaseUser | AnonymousUser:
    header = request.headers.get("Authorization", "")
    if not header:
        return request.user
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("send the token as: Authorization: Bearer <token>")
    found = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(token.strip()), user__is_active=True)
        .first()
    )
    if found is None:
        raise TokenError("invalid API token")
    ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
    return found.user
