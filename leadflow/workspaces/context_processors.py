from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from leadflow.people.roles import user_role, user_roles
from stages.notifications import unread_count


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The signed-in user's roles, for the navigation bar."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_roles": user_roles(user),
        "nav_role": user_role(user),
        "nav_unread": lambda: unread_count(user),  # only pages that show the bar ask
    }
