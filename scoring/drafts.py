"""Drafts and versions of the whole rule set: scoring rules, their groups and the stage rules.

Admins edit one shared draft of everything; publishing applies it to the live rules in one
transaction, records a version (who, when, a snapshot, what changed) and rescores every lead.

A rule set (a snapshot, or a draft's data) is plain JSON:

    {"groups": [{"key": "g3", "id": 3, "name": "Web", "max_points": 40}, ...],
     "rules": [{"key": "r12", "id": 12, "group": "g3", "name": ..., <RULE_FIELDS>}, ...],
     "stage_rules": {<STAGE_FIELDS>},
     "next": 1}

Live rules and groups have the keys "r<pk>" and "g<pk>"; those a draft adds have "rn<n>" and
"gn<n>" and no id until they are published.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max

from stages.models import FIT_FIELDS, StageRules

from . import engine
from .models import RescoreRun, RuleGroup, RulesDraft, RulesVersion, ScoringRule
from .services import rescore_start

User = AbstractBaseUser | AnonymousUser | None

BEHAVIOUR_FIELDS = [
    "event_type",
    "event_name",
    "url_match",
    "url",
    "property_key",
    "property_match",
    "property_value",
    "frequency",
    "period_days",
    "half_life_days",
]
FIT_RULE_FIELDS = ["field", "operator", "values", "min_value", "max_value"]
RULE_FIELDS = [
    "name",
    "kind",
    "points",
    "max_points",
    *BEHAVIOUR_FIELDS,
    *FIT_RULE_FIELDS,
    "is_active",
]
STAGE_FIELDS = [
    "mql_threshold",
    "mql_min_behaviour",
    "mql_min_fit",
    "mql_required_fields",
    "sql_required_fields",
    "auto_qualify",
    "mql_sla_hours",
]
# Stage rules that decide who is an MQL: changing them needs a rescore (and qualify) pass.
MQL_FIELDS = {
    "mql_threshold",
    "mql_min_behaviour",
    "mql_min_fit",
    "mql_required_fields",
    "auto_qualify",
}


class DraftError(Exception):
    """A draft operation that cannot be done, in words for the admin."""


# -- snapshots --


def _stage_row(*, lock: bool = False) -> StageRules:
    rows = StageRules.objects.select_for_update() if lock else StageRules.objects
    row, _ = rows.get_or_create(pk=1, defaults=StageRules.DEFAULTS)
    return row


def rule_spec(rule: ScoringRule) -> dict[str, Any]:
    spec: dict[str, Any] = {"key": f"r{rule.pk}", "id": rule.pk}
    spec.update({name: copy.copy(getattr(rule, name)) for name in RULE_FIELDS})
    spec["group"] = f"g{rule.group_id}" if rule.group_id else ""
    return spec


def snapshot_live() -> dict[str, Any]:
    """The live rule set, in a stable order (by id): equal snapshots mean equal rules."""
    groups = [
        {"key": f"g{g.pk}", "id": g.pk, "name": g.name, "max_points": g.max_points}
        for g in RuleGroup.objects.order_by("pk")
    ]
    rules = [rule_spec(rule) for rule in ScoringRule.objects.order_by("pk")]
    row = _stage_row()
    stage = {name: copy.copy(getattr(row, name)) for name in STAGE_FIELDS}
    return {"groups": groups, "rules": rules, "stage_rules": stage, "next": 1}


def same_rules(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two rule sets are the same rules (the counter of new keys aside)."""
    return all(a[part] == b[part] for part in ("groups", "rules", "stage_rules"))


def find(data: dict[str, Any], part: str, key: str) -> dict[str, Any] | None:
    return next((item for item in data[part] if item["key"] == key), None)


def engine_rules(data: dict[str, Any]) -> list[engine.Rule]:
    """The active rules of a rule set as the score maths takes them.

    Rules and groups a draft adds have no id yet: they get negative ones, which no live row has.
    """
    groups = {}
    for n, group in enumerate(data["groups"], start=1):
        groups[group["key"]] = (group["id"] or -n, group)
    rules = []
    for n, spec in enumerate(data["rules"], start=1):
        if not spec["is_active"]:
            continue
        group_id, group = groups.get(spec["group"], (None, None))
        rules.append(
            engine.Rule(
                id=spec["id"] or -n,
                **{name: spec[name] for name in RULE_FIELDS if name != "is_active"},
                group_id=group_id,
                group_name=group["name"] if group else "",
                group_max_points=group["max_points"] if group else None,
            )
        )
    return rules


def stage_rules_of(data: dict[str, Any]) -> StageRules:
    """The stage rules of a rule set, as an unsaved `StageRules` (for `score_problems`)."""
    return StageRules(**data["stage_rules"])


# -- reading the rule set for a page --


_KIND_LABELS = dict(ScoringRule.Kind.choices)


def _label(model: type, name: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(FIT_FIELDS.get(v, v) for v in value)
    field = model._meta.get_field(name)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


STAGE_LABELS = {
    "mql_required_fields": "fields required for MQL",
    "sql_required_fields": "fields required for SQL",
    "auto_qualify": "auto-qualify",
}


def _verbose(model: type, name: str) -> str:
    if model is StageRules and name in STAGE_LABELS:
        return STAGE_LABELS[name]
    return str(model._meta.get_field(name).verbose_name)


def rule_describe(spec: dict[str, Any]) -> str:
    """What the rule matches and how often, in a line."""
    parts = []
    if spec["kind"] == engine.BEHAVIOUR:
        if spec["event_type"]:
            parts.append(_label(ScoringRule, "event_type", spec["event_type"]).lower())
        if spec["event_name"]:
            parts.append(f"“{spec['event_name']}”")
        if spec["url_match"]:
            match = _label(ScoringRule, "url_match", spec["url_match"]).split(" (")[0]
            parts.append(f"{match} {spec['url']}")
        if spec["property_match"]:
            match = _label(ScoringRule, "property_match", spec["property_match"]).lower()
            value = f" “{spec['property_value']}”" if spec["property_value"] else ""
            parts.append(f"{spec['property_key']}: {match}{value}")
        often = _label(ScoringRule, "frequency", spec["frequency"]).lower()
        if spec["frequency"] == engine.PERIOD:
            often = f"once per {spec['period_days']} days"
        parts.append(often)
        if spec["half_life_days"]:
            parts.append(f"half-life {spec['half_life_days']} d")
    else:
        operator = spec["operator"]
        field = FIT_FIELDS.get(spec["field"], spec["field"] or "email")
        label = _label(ScoringRule, "operator", operator).lower()
        if operator in engine.EMAIL_OPERATORS:
            parts.append(label)
            if spec["values"]:
                parts.append(", ".join(spec["values"]))
        elif operator == engine.BETWEEN:
            low = spec["min_value"] if spec["min_value"] is not None else "…"
            high = spec["max_value"] if spec["max_value"] is not None else "…"
            parts.append(f"{field} between {low} and {high}")
        elif operator in (engine.CONTAINS, engine.IN):
            parts.append(f"{field} {label} {', '.join(spec['values'])}")
        else:
            parts.append(f"{field} {label}")
    return " · ".join(parts)


def ruleset_view(data: dict[str, Any], *, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The rule set arranged for a page; with `base`, each item says whether the draft added or
    edited it, and the items it deleted are listed."""
    groups = {g["key"]: g for g in data["groups"]}
    marks: dict[str, str] = {}
    if base is not None:
        before = {item["key"]: item for item in base["rules"] + base["groups"]}
        for item in data["rules"] + data["groups"]:
            old = before.get(item["key"])
            if old is None:
                marks[item["key"]] = "new"
            elif old != item:
                marks[item["key"]] = "edited"
    rules = []
    for spec in data["rules"]:
        group = groups.get(spec["group"])
        rules.append(
            {
                **spec,
                "describe": rule_describe(spec),
                "group_name": group["name"] if group else "",
                "mark": marks.get(spec["key"], ""),
            }
        )
    members: dict[str, int] = {}
    for spec in data["rules"]:
        if spec["group"]:
            members[spec["group"]] = members.get(spec["group"], 0) + 1
    stage = data["stage_rules"]
    return {
        "behaviour": [r for r in rules if r["kind"] == engine.BEHAVIOUR],
        "fit": [r for r in rules if r["kind"] == engine.FIT],
        "groups": [
            {**g, "rules": members.get(g["key"], 0), "mark": marks.get(g["key"], "")}
            for g in data["groups"]
        ],
        "stage": [
            {
                "name": name,
                "label": _verbose(StageRules, name),
                "value": _label(StageRules, name, stage[name]),
                "changed": base is not None and base["stage_rules"].get(name) != stage[name],
            }
            for name in STAGE_FIELDS
        ],
    }


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed from one rule set to the other, a sentence per rule, group or setting."""
    changes = []
    names = {g["key"]: g["name"] for g in before["groups"] + after["groups"]}
    old_groups = {g["key"]: g for g in before["groups"]}
    new_groups = {g["key"]: g for g in after["groups"]}
    for key, group in new_groups.items():
        old = old_groups.get(key)
        cap = f" (cap {group['max_points']})" if group["max_points"] is not None else ""
        if old is None:
            changes.append(f"Added group “{group['name']}”{cap}.")
        elif old != group:
            diffs = []
            if old["name"] != group["name"]:
                diffs.append(f"renamed “{group['name']}”")
            if old["max_points"] != group["max_points"]:
                diffs.append(
                    f"cap {_label(RuleGroup, 'max_points', old['max_points'])}"
                    f" → {_label(RuleGroup, 'max_points', group['max_points'])}"
                )
            changes.append(f"Group “{old['name']}”: {'; '.join(diffs)}.")
    for key, group in old_groups.items():
        if key not in new_groups:
            changes.append(f"Deleted group “{group['name']}”.")

    old_rules = {r["key"]: r for r in before["rules"]}
    new_rules = {r["key"]: r for r in after["rules"]}
    for key, rule in new_rules.items():
        old = old_rules.get(key)
        kind = _KIND_LABELS[rule["kind"]].lower()
        if old is None:
            state = "" if rule["is_active"] else ", inactive"
            changes.append(
                f"Added {kind} rule “{rule['name']}” ({rule['points']:+d}{state}): "
                f"{rule_describe(rule)}."
            )
            continue
        if old == rule:
            continue
        diffs = []
        for name in [*RULE_FIELDS, "group"]:
            if old.get(name) == rule.get(name) or name in ("is_active", "kind"):
                continue
            if name == "name":
                diffs.append(f"renamed “{rule['name']}”")
            elif name == "group":
                was = names.get(old["group"], "none") if old["group"] else "none"
                now = names.get(rule["group"], "none") if rule["group"] else "none"
                diffs.append(f"group {was} → {now}")
            else:
                diffs.append(
                    f"{_verbose(ScoringRule, name)} {_label(ScoringRule, name, old[name])}"
                    f" → {_label(ScoringRule, name, rule[name])}"
                )
        if old["is_active"] != rule["is_active"]:
            diffs.insert(0, "activated" if rule["is_active"] else "deactivated")
        changes.append(f"Rule “{old['name']}”: {'; '.join(diffs)}.")
    for key, rule in old_rules.items():
        if key not in new_rules:
            changes.append(f"Deleted rule “{rule['name']}” ({rule['points']:+d}).")

    for name in STAGE_FIELDS:
        old_value = before["stage_rules"].get(name)
        new_value = after["stage_rules"].get(name)
        if old_value != new_value:
            changes.append(
                f"{_verbose(StageRules, name)[:1].upper()}{_verbose(StageRules, name)[1:]}:"
                f" {_label(StageRules, name, old_value)} → {_label(StageRules, name, new_value)}."
            )
    return changes


# -- the draft --


def merged(draft: RulesDraft, live: dict[str, Any]) -> dict[str, Any]:
    """The live rules with the draft's changes on top: what publishing the draft makes live.

    The draft changes what differs from its base; rules, groups and settings it left alone take
    the live value, so that a change made elsewhere since the draft started is not undone.
    """
    base, data = draft.base, draft.data
    if same_rules(base, live):
        return data
    result: dict[str, Any] = {"next": data.get("next", 1)}
    for part in ("groups", "rules"):
        before = {item["key"]: item for item in base[part]}
        items = {item["key"]: item for item in live[part]}
        for item in data[part]:
            if before.get(item["key"]) != item:
                items[item["key"]] = item
        for key in set(before) - {item["key"] for item in data[part]}:
            items.pop(key, None)
        result[part] = list(items.values())
    result["stage_rules"] = {
        name: data["stage_rules"][name]
        if data["stage_rules"][name] != base["stage_rules"][name]
        else live["stage_rules"][name]
        for name in STAGE_FIELDS
    }
    return result


def draft_current() -> RulesDraft | None:
    return RulesDraft.objects.select_related("created_by", "updated_by").first()


def ruleset_current() -> tuple[dict[str, Any], RulesDraft | None]:
    """The rule set an admin edits: the draft's on top of the live one, or the live one."""
    draft = draft_current()
    live = snapshot_live()
    return (merged(draft, live) if draft else live), draft


def _draft_locked(by: User) -> RulesDraft:
    """The draft, locked for this transaction; started from the live rules if there is none."""
    draft = RulesDraft.objects.select_for_update().filter(pk=1).first()
    if draft is not None:
        return draft
    live = snapshot_live()
    author = by if getattr(by, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            RulesDraft.objects.create(
                pk=1, data=live, base=copy.deepcopy(live), created_by=author, updated_by=author
            )
    except IntegrityError:
        pass  # another admin started it a moment ago: edit theirs
    return RulesDraft.objects.select_for_update().get(pk=1)


@contextmanager
def draft_editing(*, by: User) -> Iterator[dict[str, Any]]:
    """Change the draft's data in place, one admin at a time; saved when the block ends."""
    with transaction.atomic():
        draft = _draft_locked(by)
        yield draft.data
        draft.updated_by = by if getattr(by, "is_authenticated", False) else None
        draft.save()


def _item(data: dict[str, Any], part: str, key: str) -> dict[str, Any]:
    """A rule or group of the draft to change; one added to the live rules since the draft
    started joins the draft."""
    item = find(data, part, key)
    if item is None:
        live = find(snapshot_live(), part, key)
        if live is None:
            noun = "rule" if part == "rules" else "group"
            raise DraftError(f"That {noun} is no longer in the draft.")
        item = live
        data[part].append(item)
    return item


def _new_key(data: dict[str, Any], prefix: str) -> str:
    n = data.get("next", 1)
    data["next"] = n + 1
    return f"{prefix}n{n}"


def draft_rule_save(*, by: User, key: str | None, spec: dict[str, Any]) -> str:
    """Add a rule to the draft (key None) or replace one; return its key."""
    with draft_editing(by=by) as data:
        if key is None:
            key = _new_key(data, "r")
            data["rules"].append({"key": key, "id": None, **spec})
            return key
        _item(data, "rules", key).update(spec)
        return key


def draft_rule_toggle(*, by: User, key: str) -> dict[str, Any]:
    with draft_editing(by=by) as data:
        rule = _item(data, "rules", key)
        rule["is_active"] = not rule["is_active"]
        return rule


def draft_rule_delete(*, by: User, key: str) -> dict[str, Any]:
    with draft_editing(by=by) as data:
        rule = find(data, "rules", key)
        if rule is None:
            raise DraftError("That rule is no longer in the draft.")
        data["rules"].remove(rule)
        return rule


def draft_group_save(*, by: User, key: str | None, name: str, max_points: int | None) -> str:
    with draft_editing(by=by) as data:
        if key is None:
            key = _new_key(data, "g")
            data["groups"].append({"key": key, "id": None, "name": name, "max_points": max_points})
            return key
        _item(data, "groups", key).update(name=name, max_points=max_points)
        return key


def draft_group_delete(*, by: User, key: str) -> dict[str, Any]:
    """Delete a group from the draft; its rules stay, each capped on its own."""
    with draft_editing(by=by) as data:
        group = find(data, "groups", key)
        if group is None:
            raise DraftError("That group is no longer in the draft.")
        data["groups"].remove(group)
        for rule in data["rules"]:
            if rule["group"] == key:
                rule["group"] = ""
        return group


def draft_stage_save(*, by: User, values: dict[str, Any]) -> None:
    with draft_editing(by=by) as data:
        data["stage_rules"].update({name: values[name] for name in STAGE_FIELDS})


def draft_discard() -> bool:
    deleted, _ = RulesDraft.objects.all().delete()
    return bool(deleted)


def draft_from_version(*, version: RulesVersion, by: User) -> RulesDraft:
    """Replace the draft with a version's rule set (to bring an earlier version back).

    Rules and groups deleted since that version come back as new ones.
    """
    data = copy.deepcopy(version.snapshot)
    live_rules = set(ScoringRule.objects.values_list("pk", flat=True))
    live_groups = set(RuleGroup.objects.values_list("pk", flat=True))
    data["next"] = 1
    renamed: dict[str, str] = {}
    for group in data["groups"]:
        if group["id"] not in live_groups:
            renamed[group["key"]] = _new_key(data, "g")
            group.update(key=renamed[group["key"]], id=None)
    for rule in data["rules"]:
        rule["group"] = renamed.get(rule["group"], rule["group"])
        if rule["id"] not in live_rules:
            rule.update(key=_new_key(data, "r"), id=None)
    with transaction.atomic():
        draft = _draft_locked(by)
        draft.data = data
        draft.base = snapshot_live()
        draft.updated_by = by if getattr(by, "is_authenticated", False) else None
        draft.save()
    return draft


# -- validation of a whole draft, and publishing --


def rule_instance(spec: dict[str, Any]) -> ScoringRule:
    """An unsaved rule with the spec's values (no group: a draft group may not exist yet)."""
    return ScoringRule(pk=spec.get("id"), **{name: spec[name] for name in RULE_FIELDS})


def group_kind_problem(data: dict[str, Any], *, key: str, kind: str, group: str) -> str | None:
    """The model's rule for groups, over the draft: a group holds rules of one kind."""
    if not group:
        return None
    for other in data["rules"]:
        if other["key"] != key and other["group"] == group and other["kind"] != kind:
            return f"The group holds {other['kind']} rules; keep kinds apart."
    return None


def draft_problems(data: dict[str, Any]) -> list[str]:
    """What stops this rule set from being published, each problem named by its rule."""
    from django.core.exceptions import ValidationError

    problems = []
    group_keys = {g["key"] for g in data["groups"]}
    names = [g["name"].casefold() for g in data["groups"]]
    for name in {n for n in names if names.count(n) > 1}:
        problems.append(f"Two groups are called “{name}”.")
    for spec in data["rules"]:
        try:
            rule_instance(spec).full_clean(validate_unique=False)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                where = "" if field == "__all__" else f"{field.replace('_', ' ')}: "
                problems += [f"Rule “{spec['name']}”: {where}{m}" for m in messages]
        if spec["group"] and spec["group"] not in group_keys:
            problems.append(f"Rule “{spec['name']}”: its group was deleted.")
        if problem := group_kind_problem(
            data, key=spec["key"], kind=spec["kind"], group=spec["group"]
        ):
            problems.append(f"Rule “{spec['name']}”: {problem}")
    stage = stage_rules_of(data)
    try:
        stage.full_clean(validate_unique=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            problems += [f"Stage rules, {field.replace('_', ' ')}: {m}" for m in messages]
    return problems


def _apply(data: dict[str, Any]) -> None:
    """Make the live rules what the rule set says: delete, update and create rows."""
    live_groups = {g.pk: g for g in RuleGroup.objects.select_for_update().order_by("pk")}
    kept = {g["id"] for g in data["groups"] if g["id"] in live_groups}
    RuleGroup.objects.filter(pk__in=set(live_groups) - kept).delete()
    # Renames may swap names: park the renamed groups on names of their own first.
    for spec in data["groups"]:
        group = live_groups.get(spec["id"])
        if group is not None and group.name != spec["name"]:
            group.name = f"~renaming {group.pk} {uuid.uuid4().hex}"
            RuleGroup.objects.filter(pk=group.pk).update(name=group.name)
    groups: dict[str, RuleGroup] = {}
    for spec in data["groups"]:
        group = live_groups.get(spec["id"]) or RuleGroup()
        if group.pk is None or (group.name, group.max_points) != (spec["name"], spec["max_points"]):
            group.name, group.max_points = spec["name"], spec["max_points"]
            group.save()
        groups[spec["key"]] = group

    live_rules = {r.pk: r for r in ScoringRule.objects.select_for_update().order_by("pk")}
    kept = {r["id"] for r in data["rules"] if r["id"] in live_rules}
    ScoringRule.objects.filter(pk__in=set(live_rules) - kept).delete()
    for spec in data["rules"]:
        rule = live_rules.get(spec["id"]) or ScoringRule()
        group = groups.get(spec["group"])
        values = {name: spec[name] for name in RULE_FIELDS}
        current = {name: getattr(rule, name) for name in RULE_FIELDS}
        if rule.pk is None or current != values or rule.group_id != (group and group.pk):
            for name, value in values.items():
                setattr(rule, name, value)
            rule.group = group
            rule.save()

    row = _stage_row(lock=True)
    values = {name: data["stage_rules"][name] for name in STAGE_FIELDS}
    if {name: getattr(row, name) for name in STAGE_FIELDS} != values:
        for name, value in values.items():
            setattr(row, name, value)
        row.save()
    # save() clears the cached stage rules at once; a worker may cache the old row again
    # before this commits, so clear it once more after.
    transaction.on_commit(lambda: cache.delete(StageRules.CACHE_KEY))


def _next_number() -> int:
    return (RulesVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1


def versions_sync() -> RulesVersion | None:
    """Record the live rules as a version if no version holds them: the rules before the first
    publish, or changes made elsewhere (the Django admin, a command). Call inside a transaction
    that holds the draft lock."""
    live = snapshot_live()
    latest = RulesVersion.objects.order_by("-number").first()
    if latest is not None and same_rules(latest.snapshot, live):
        return None
    if latest is None:
        note, changes = "The rules before the first change published from this page.", []
    else:
        note = "Changed outside this page (the Django admin or a command)."
        changes = changes_between(latest.snapshot, live)
    return RulesVersion.objects.create(
        number=_next_number(), note=note, snapshot=live, changes=changes
    )


def rules_publish(*, by: User, note: str = "") -> RulesVersion:
    """Apply the draft to the live rules, record the version and rescore every lead.

    One transaction: the rules, the stage rules, the version and the rescore run commit
    together; the workers start on the chunks once it has committed.
    """
    with transaction.atomic():
        draft = RulesDraft.objects.select_for_update().filter(pk=1).first()
        if draft is None:
            raise DraftError("There is no draft to publish: someone published or discarded it.")
        versions_sync()
        before = snapshot_live()
        data = merged(draft, before)
        if problems := draft_problems(data):
            raise DraftError("The draft cannot be published: " + " ".join(problems))
        _apply(data)
        after = snapshot_live()
        changes = changes_between(before, after)
        if not changes:
            raise DraftError("The draft changes nothing: discard it, or edit a rule first.")
        # The SLA or the SQL fields alone change no score and no MQL: no rescore for them.
        rescore = (before["rules"], before["groups"]) != (after["rules"], after["groups"]) or any(
            before["stage_rules"][name] != after["stage_rules"][name] for name in MQL_FIELDS
        )
        run = rescore_start(reason=RescoreRun.Reason.RULES, by=by) if rescore else None
        version = RulesVersion.objects.create(
            number=_next_number(),
            published_by=by if getattr(by, "is_authenticated", False) else None,
            note=note,
            snapshot=after,
            changes=changes,
            rescore_run=run,
        )
        draft.delete()
    return version
