"""The four roles of leadflow, as auth groups with permissions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.db import models


class Role(models.TextChoices):
    MARKETER = "marketer", "Marketer"
    SDR = "sdr", "SDR"
    AE = "ae", "AE"
    ADMIN = "admin", "Admin"


LEAD_PERMISSIONS = {
    "view_lead": "Can see leads",
    "qualify_lead": "Can qualify a lead as MQL",
    "convert_lead": "Can convert an MQL to SQL (book a meeting)",
    "source_direct_lead": "Can enter a sales-sourced contact as SQL",
    "win_lead": "Can win a deal",
    "disqualify_lead": "Can disqualify a lead",
    "recycle_lead": "Can recycle a lead back to the Lead stage",
    "work_lead": "Can log attempts and move MQL and SQL work statuses",
    "hand_back_lead": "Can hand an SQL back to its SDR",
    "act_on_any_lead": "Can act on leads owned by someone else",
    "assign_lead": "Can assign leads to reps",
}

ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.MARKETER: [
        "stages.view_lead",
        "stages.qualify_lead",
        "stages.disqualify_lead",
        "stages.recycle_lead",
        "stages.act_on_any_lead",
        "stages.assign_lead",
        "people.merge_contact",
    ],
    Role.SDR: [
        "stages.view_lead",
        "stages.convert_lead",
        "stages.source_direct_lead",
        "stages.disqualify_lead",
        "stages.recycle_lead",
        "stages.work_lead",
    ],
    Role.AE: [
        "stages.view_lead",
        "stages.source_direct_lead",
        "stages.win_lead",
        "stages.disqualify_lead",
        "stages.recycle_lead",
        "stages.hand_back_lead",
    ],
    Role.ADMIN: [
        *(f"stages.{codename}" for codename in LEAD_PERMISSIONS),
        "people.merge_contact",
        "stages.change_stagerules",
        "stages.view_stagerules",
        "scoring.add_scoringrule",
        "scoring.change_scoringrule",
        "scoring.delete_scoringrule",
        "scoring.view_scoringrule",
        "scoring.add_rulegroup",
        "scoring.change_rulegroup",
        "scoring.delete_rulegroup",
        "scoring.view_rulegroup",
        "scoring.view_rescorerun",
        "scoring.view_rulesversion",
        "tracking.add_writekey",
        "tracking.change_writekey",
        "tracking.view_writekey",
        "auth.add_user",
        "auth.change_user",
        "auth.view_user",
    ],
}


def roles_ensure(**kwargs: Any) -> None:
    """Create the role groups and give each exactly its permissions (safe to run again)."""
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        perms = []
        for name in names:
            app_label, codename = name.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                perms.append(perm)
        group.permissions.set(perms)


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_leadflow_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._leadflow_roles = cached
    return cached


def user_role(user: AbstractBaseUser | AnonymousUser) -> Role | None:
    """The user's main role: the one whose workspace is their home page."""
    roles = user_roles(user)
    for role in (Role.ADMIN, Role.MARKETER, Role.SDR, Role.AE):
        if role.value in roles:
            return role
    return None
