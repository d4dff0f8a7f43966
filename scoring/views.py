"""The scoring rules page: admins edit a draft of the rules, see what it would do, publish it.

Every view needs the admin's permissions on the rules; anonymous visitors go to the login page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from stages.models import StageRules

from . import drafts, engine
from .forms import GroupForm, PublishForm, RuleForm, StageRulesForm
from .models import RescoreRun, RuleGroup, RulesVersion, ScoringRule
from .services import rescore_progress
from .whatif import whatif_compute

EDIT = ["scoring.change_scoringrule", "stages.change_stagerules"]
HISTORY = ["scoring.view_rulesversion"]
WHATIF_SECONDS = 300


def _edit(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    return login_required(permission_required(EDIT, raise_exception=True)(view))


def _history(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    return login_required(permission_required(HISTORY, raise_exception=True)(view))


def _run_shown(request: HttpRequest) -> RescoreRun | None:
    """The rescore to follow on the page: the one just published, or one still running."""
    run_id = request.GET.get("run", "")
    if run_id.isdigit():
        run = RescoreRun.objects.filter(pk=int(run_id)).first()
        if run is not None:
            return run
    since = timezone.now() - dt.timedelta(days=1)
    return RescoreRun.objects.filter(
        reason=RescoreRun.Reason.RULES, finished_at__isnull=True, created_at__gte=since
    ).first()


@_edit
@require_GET
def rules_page(request: HttpRequest) -> HttpResponse:
    draft = drafts.draft_current()
    live = drafts.snapshot_live()
    data = drafts.merged(draft, live) if draft else live
    run = _run_shown(request)
    context: dict[str, Any] = {
        "draft": draft,
        "ruleset": drafts.ruleset_view(data, base=live if draft else None),
        "changes": drafts.changes_between(live, data) if draft else [],
        "moved": draft is not None and not drafts.same_rules(draft.base, live),
        "problems": drafts.draft_problems(data) if draft else [],
        "publish_form": PublishForm(),
        "run": run,
        "progress": rescore_progress(run.pk) if run else None,
        "version": RulesVersion.objects.filter(rescore_run=run).first() if run else None,
        "latest": RulesVersion.objects.select_related("published_by").first(),
    }
    return render(request, "scoring/rules.html", context)


@_edit
@require_GET
def whatif(request: HttpRequest) -> HttpResponse:
    draft = drafts.draft_current()
    result = None
    if draft is not None:
        live = drafts.snapshot_live()
        data = drafts.merged(draft, live)
        # Scoring every lead takes a while on a big base: reloading the page reuses the last
        # answer for the same draft for a few minutes, and "Recompute" asks for a new one.
        digest = hashlib.sha256(
            json.dumps([data, live["stage_rules"]], sort_keys=True, default=str).encode()
        ).hexdigest()
        key = f"scoring:whatif:{digest}"
        result = None if request.GET.get("fresh") else cache.get(key)
        if result is None:
            result = whatif_compute(data=data, now=timezone.now())
            cache.set(key, result, WHATIF_SECONDS)
    # The panel for htmx; a page of its own without JavaScript.
    template = "scoring/partials/whatif.html" if request.htmx else "scoring/whatif.html"
    return render(request, template, {"whatif": result, "draft": draft})


def _rule_page(
    request: HttpRequest, form: RuleForm, *, key: str | None, status: int = 200
) -> HttpResponse:
    context = {"form": form, "key": key, "kind": form.instance.kind}
    return render(request, "scoring/rule_form.html", context, status=status)


@_edit
@require_http_methods(["GET", "POST"])
def rule_new(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in (engine.BEHAVIOUR, engine.FIT):
        raise Http404("No such kind of rule.")
    data, _ = drafts.ruleset_current()
    instance = ScoringRule(kind=kind)
    if request.method == "GET":
        form = RuleForm(instance=instance, data_set=data, key=None)
        return _rule_page(request, form, key=None)
    form = RuleForm(request.POST, instance=instance, data_set=data, key=None)
    if not form.is_valid():
        return _rule_page(request, form, key=None, status=400)
    drafts.draft_rule_save(by=request.user, key=None, spec=form.spec())
    messages.success(request, f"Rule “{form.spec()['name']}” added to the draft.")
    return redirect("scoring_rules")


@_edit
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, key: str) -> HttpResponse:
    data, _ = drafts.ruleset_current()
    spec = drafts.find(data, "rules", key)
    if spec is None:
        raise Http404("No such rule in the draft.")
    instance = drafts.rule_instance(spec)
    initial = {"group_key": spec["group"]}
    if request.method == "GET":
        form = RuleForm(instance=instance, initial=initial, data_set=data, key=key)
        return _rule_page(request, form, key=key)
    form = RuleForm(request.POST, instance=instance, initial=initial, data_set=data, key=key)
    if not form.is_valid():
        return _rule_page(request, form, key=key, status=400)
    try:
        drafts.draft_rule_save(by=request.user, key=key, spec=form.spec())
    except drafts.DraftError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Rule “{form.spec()['name']}” changed in the draft.")
    return redirect("scoring_rules")


@_edit
@require_POST
def rule_toggle(request: HttpRequest, key: str) -> HttpResponse:
    try:
        rule = drafts.draft_rule_toggle(by=request.user, key=key)
    except drafts.DraftError as exc:
        messages.error(request, str(exc))
    else:
        state = "active" if rule["is_active"] else "inactive"
        messages.success(request, f"Rule “{rule['name']}” is {state} in the draft.")
    return redirect("scoring_rules")


@_edit
@require_POST
def rule_delete(request: HttpRequest, key: str) -> HttpResponse:
    try:
        rule = drafts.draft_rule_delete(by=request.user, key=key)
    except drafts.DraftError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Rule “{rule['name']}” deleted from the draft.")
    return redirect("scoring_rules")


def _group_page(
    request: HttpRequest, form: GroupForm, *, key: str | None, status: int = 200
) -> HttpResponse:
    return render(request, "scoring/group_form.html", {"form": form, "key": key}, status=status)


@_edit
@require_http_methods(["GET", "POST"])
def group_edit(request: HttpRequest, key: str | None = None) -> HttpResponse:
    data, _ = drafts.ruleset_current()
    instance = RuleGroup()
    if key is not None:
        spec = drafts.find(data, "groups", key)
        if spec is None:
            raise Http404("No such group in the draft.")
        instance = RuleGroup(name=spec["name"], max_points=spec["max_points"])
    if request.method == "GET":
        return _group_page(request, GroupForm(instance=instance, data_set=data, key=key), key=key)
    form = GroupForm(request.POST, instance=instance, data_set=data, key=key)
    if not form.is_valid():
        return _group_page(request, form, key=key, status=400)
    name, cap = form.cleaned_data["name"], form.cleaned_data["max_points"]
    try:
        drafts.draft_group_save(by=request.user, key=key, name=name, max_points=cap)
    except drafts.DraftError as exc:
        messages.error(request, str(exc))
    else:
        done = "added to" if key is None else "changed in"
        messages.success(request, f"Group “{name}” {done} the draft.")
    return redirect("scoring_rules")


@_edit
@require_POST
def group_delete(request: HttpRequest, key: str) -> HttpResponse:
    try:
        group = drafts.draft_group_delete(by=request.user, key=key)
    except drafts.DraftError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Group “{group['name']}” deleted from the draft; its rules stay, ungrouped."
        )
    return redirect("scoring_rules")


@_edit
@require_http_methods(["GET", "POST"])
def stage_edit(request: HttpRequest) -> HttpResponse:
    data, _ = drafts.ruleset_current()
    instance = StageRules(**data["stage_rules"])
    if request.method == "GET":
        form = StageRulesForm(instance=instance)
        return render(request, "scoring/stage_form.html", {"form": form})
    form = StageRulesForm(request.POST, instance=instance)
    if not form.is_valid():
        return render(request, "scoring/stage_form.html", {"form": form}, status=400)
    drafts.draft_stage_save(by=request.user, values=form.values())
    messages.success(request, "Stage rules changed in the draft.")
    return redirect("scoring_rules")


@_edit
@require_POST
def publish(request: HttpRequest) -> HttpResponse:
    form = PublishForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        version = drafts.rules_publish(by=request.user, note=note)
    except drafts.DraftError as exc:
        messages.error(request, str(exc))
        return redirect("scoring_rules")
    if version.rescore_run_id is None:
        messages.success(request, f"Version {version.number} published. No score changes.")
        return redirect("scoring_rules")
    messages.success(request, f"Version {version.number} published. Rescoring every lead.")
    return redirect(f"{reverse('scoring_rules')}?run={version.rescore_run_id}")


@_edit
@require_POST
def discard(request: HttpRequest) -> HttpResponse:
    if drafts.draft_discard():
        messages.success(request, "Draft discarded. The live rules are unchanged.")
    return redirect("scoring_rules")


@_edit
@require_GET
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(RescoreRun, pk=pk)
    context = {
        "run": run,
        "progress": rescore_progress(run.pk),
        "version": RulesVersion.objects.filter(rescore_run=run).first(),
    }
    return render(request, "scoring/partials/progress.html", context)


@_history
@require_GET
def versions(request: HttpRequest) -> HttpResponse:
    items = list(RulesVersion.objects.select_related("published_by").defer("snapshot"))
    latest = RulesVersion.objects.first()
    # The Django admin changes rules without a version: the next publish records them.
    outside = latest is not None and not drafts.same_rules(latest.snapshot, drafts.snapshot_live())
    return render(request, "scoring/versions.html", {"versions": items, "outside": outside})


@_history
@require_GET
def version_detail(request: HttpRequest, number: int) -> HttpResponse:
    version = get_object_or_404(RulesVersion.objects.select_related("published_by"), number=number)
    context = {
        "version": version,
        "ruleset": drafts.ruleset_view(version.snapshot),
        "previous": RulesVersion.objects.filter(number__lt=number).order_by("-number").first(),
        "next": RulesVersion.objects.filter(number__gt=number).order_by("number").first(),
        "is_live": drafts.same_rules(version.snapshot, drafts.snapshot_live()),
    }
    return render(request, "scoring/version_detail.html", context)


@_edit
@require_POST
def version_restore(request: HttpRequest, number: int) -> HttpResponse:
    version = get_object_or_404(RulesVersion, number=number)
    drafts.draft_from_version(version=version, by=request.user)
    messages.success(
        request,
        f"The draft now holds the rules of version {version.number}: check the what-if.",
    )
    return redirect("scoring_rules")
