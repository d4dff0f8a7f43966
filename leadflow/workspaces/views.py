"""The browser pages: each role's queue, the lead page and its actions, search."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadflow.people.roles import Role, user_role
from leadflow.people.services import MergeError, contacts_merge
from leadflow.tracking.models import Event
from leadflow.tracking.selectors import lead_attribution
from scoring.engine import ScoreResult
from scoring.services import lead_explain
from stages import selectors
from stages.models import (
    FIT_FIELDS,
    Attempt,
    DisqualifyReason,
    Lead,
    Notification,
    RepAvailability,
    StageRules,
    Status,
)
from stages.notifications import notifications_read
from stages.services import (
    TransitionError,
    available_actions,
    contact_source_direct,
    lead_assign,
    lead_transition,
    profile_problems,
    reps_by_load,
    users_with_role,
)

from . import rows
from .actions import ACTIONS, lead_actions
from .forms import (
    BULK_ACTIONS,
    SOURCE_CHOICES,
    AvailabilityForm,
    BulkForm,
    ContactNewForm,
    MergeForm,
    QueueFilterForm,
    SavedViewForm,
)
from .models import SavedView
from .selectors import leads_search

HOME_BY_ROLE = {
    Role.ADMIN: "mql_queue",
    Role.MARKETER: "mql_queue",
    Role.SDR: "my_work",
    Role.AE: "my_deals",
}
MQL_STATUSES = [Status.OPEN, Status.CONTACT_ATTEMPT, Status.NURTURING]
SECTIONS = [
    ("open", "Open MQLs", "New to you. Make the first touch before the SLA runs out."),
    ("attempting", "Contact attempts", "You reached out. Keep going until you connect."),
    ("nurture_due", "Nurtures due", "Bad timing last time; the follow-up day has come."),
    ("sql_attempting", "Sales-sourced SQLs", "Contacts sales found itself: book the meeting."),
]
# Choice lists the action forms render (the forms themselves only validate).
CHOICES = {
    "channel": Attempt.Channel.choices,
    "outcome": Attempt.Outcome.choices,
    "disqualify": DisqualifyReason.choices,
    "source": SOURCE_CHOICES,
}
ORIGINS = ("work", "deals", "lead")
SUMMARY_KEY = "workspaces:mql-summary"
SUMMARY_SECONDS = 60
SDR_LOAD_KEY = "workspaces:sdr-load"
SDR_LOAD_SECONDS = 10
NOTIFICATIONS_SHOWN = 100
WORK_SHORTCUTS = [
    ("a", "Log attempt"),
    ("b", "Bad timing: nurture"),
    ("m", "Book meeting"),
    ("d", "Disqualify"),
    ("r", "Reopen a nurture"),
]
# The rows a work list shows at first, and each "Show more" adds: a screenful. Four lists of 50
# rows made my work a 230 KB page, and the rows most of its time.
LIST_SIZE = 25
WORK_FORMS = rows.forms_for(rows.WORK_ACTIONS)
DEAL_FORMS = rows.forms_for(rows.DEAL_ACTIONS)
# The lead the page's action forms are rendered for: none, number 0 (app.js sets the row's).
FORM_LEAD = {"pk": 0, "name": "", "next_step": ""}
# Where each request's CSRF token goes in the action forms a process keeps rendered.
CSRF_MARK = "csrf-token-of-this-request"
_rendered_forms: dict[tuple[Any, ...], str] = {}
DEAL_SHORTCUTS = [
    ("n", "Next step"),
    ("w", "Win"),
    ("l", "Lose"),
    ("r", "Recycle"),
    ("h", "Hand back"),
]


def _lead_for(request: HttpRequest, pk: int) -> Lead:
    """The lead, if this user may see leads at all; 404 if there is none."""
    if not request.user.has_perm("stages.view_lead"):
        raise PermissionDenied("Your role cannot see leads.")
    return get_object_or_404(Lead.objects.select_related("contact", "owner", "sdr"), pk=pk)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    role = user_role(request.user)
    if role is None:
        raise PermissionDenied(
            "Your account has no role yet. Ask an admin to make you a marketer, an SDR or an AE."
        )
    return redirect(HOME_BY_ROLE[role])


def _queue_form(
    params: QueryDict, reps: Any = None, threshold: int | None = None
) -> QueueFilterForm:
    params = params.copy()
    params.pop("after", None)
    return QueueFilterForm(
        params,
        threshold=StageRules.current().mql_threshold if threshold is None else threshold,
        statuses=MQL_STATUSES,
        reps=users_with_role(Role.SDR) if reps is None else reps,
    )


def _sdrs_by_load() -> list[Any]:
    """The SDRs with their load, for the owner filter and the bulk assignment. The load counts
    every lead each one works: at a million leads that costs more than the rest of the page, and
    a few seconds of staleness in a list's numbers is harmless (a bulk assignment clears it)."""
    return cache.get_or_set(SDR_LOAD_KEY, lambda: list(reps_by_load(Role.SDR)), SDR_LOAD_SECONDS)


def _queue_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    reps = _sdrs_by_load()
    threshold = StageRules.current().mql_threshold  # a cache read: once a page
    form = _queue_form(request.GET, reps, threshold)
    form.is_valid()
    filters = form.filters()
    cursor = request.GET.get("after") or None
    page = selectors.mql_queue(cursor=cursor, **filters)
    page.items = rows.mql_rows(page.items)
    # The filters without the page: for "back to the start", saving a view and the next link.
    query = form.data.copy()
    for name in list(query):
        if not query[name] or name not in form.fields or name in form.errors:
            del query[name]
    summary = cache.get_or_set(SUMMARY_KEY, selectors.mql_summary, SUMMARY_SECONDS)
    return {
        "page": page,
        "form": form,
        "filters_query": query.urlencode(),
        "filtered": bool(query),
        "paged": bool(cursor),
        "summary": summary,
        "saved_views": SavedView.objects.filter(user=request.user, page="mql_queue"),
        "bulk_actions": BULK_ACTIONS,
        "choices": CHOICES,
        "assignees": reps,
        "threshold": threshold,
        **extra,
    }


@login_required
@permission_required("stages.qualify_lead", raise_exception=True)
@require_GET
def mql_queue(request: HttpRequest) -> HttpResponse:
    context = _queue_context(request)
    status = 400 if context["form"].errors else 200
    return render(request, "workspaces/mql_queue.html", context, status=status)


BULK_RUNS = {
    "assign": lambda lead, by, data: lead_assign(lead=lead, by=by, owner=data["owner"]),
    "recycle": lambda lead, by, data: lead_transition(
        lead=lead, name="recycle", by=by, reason=data["recycle_reason"]
    ),
    "disqualify": lambda lead, by, data: lead_transition(
        lead=lead, name="disqualify", by=by, reason=data["disqualify_reason"]
    ),
}
BULK_PERMS = {"assign": "assign_lead", "recycle": "recycle_lead", "disqualify": "disqualify_lead"}


@login_required
@permission_required("stages.qualify_lead", raise_exception=True)
@require_POST
def mql_bulk(request: HttpRequest) -> HttpResponse:
    """One action on the ticked MQLs, lead by lead through the services: each that may not be
    done is reported with its reason, and the others are done."""
    form = BulkForm(request.POST)
    form.fields["leads"].choices = [(pk, pk) for pk in request.POST.getlist("leads")]
    # Back to the queue with the filters it was posted from.
    filters = QueryDict(request.POST.get("query", "")).urlencode()
    back = redirect(f"{reverse('mql_queue')}?{filters}" if filters else reverse("mql_queue"))
    if not form.is_valid():
        problems = [error for errors in form.errors.values() for error in errors]
        messages.error(request, f"Nothing was done: {' '.join(problems)}")
        return back
    action = form.cleaned_data["action"]
    if not request.user.has_perm(f"stages.{BULK_PERMS[action]}"):
        raise PermissionDenied(f"Your role may not do this: {BULK_ACTIONS[action]}.")
    leads = Lead.objects.select_related("contact").in_bulk(form.cleaned_data["leads"])
    done, failed = 0, []
    for pk in form.cleaned_data["leads"]:
        lead = leads.get(pk)
        if lead is None:
            failed.append(f"lead #{pk} no longer exists")
            continue
        try:
            BULK_RUNS[action](lead, request.user, form.cleaned_data)
            done += 1
        except TransitionError as exc:
            failed.append(f"{lead}: {'; '.join(exc.problems)}")
    label = BULK_ACTIONS[action].split(" (")[0].lower()
    if done:
        cache.delete(SDR_LOAD_KEY)
        messages.success(request, f"{label.capitalize()}: {done} lead{pluralize(done)} done.")
    if failed:
        messages.error(
            request,
            f"{len(failed)} not done: "
            + " · ".join(failed[:10])
            + (" …" if len(failed) > 10 else ""),
        )
    return back


@login_required
@permission_required("stages.qualify_lead", raise_exception=True)
@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    query = QueryDict(request.POST.get("query", ""))
    clean = _queue_form(query)
    if form.is_valid() and clean.is_valid():
        SavedView.objects.update_or_create(
            user=request.user,
            page="mql_queue",
            name=form.cleaned_data["name"],
            defaults={"query": query.urlencode()},
        )
        messages.success(request, f"View “{form.cleaned_data['name']}” saved.")
    else:
        problems = [e for errors in (*form.errors.values(), *clean.errors.values()) for e in errors]
        messages.error(request, f"The view was not saved: {' '.join(problems)}")
    return redirect(f"{reverse('mql_queue')}?{query.urlencode()}")


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=pk, user=request.user)
    view.delete()
    messages.success(request, f"View “{view.name}” deleted.")
    return redirect("mql_queue")


def _work_context(
    request: HttpRequest,
    failed: dict[str, Any] | None = None,
    cursors: dict[str, str | None] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    sla_hours = StageRules.current().mql_sla_hours  # a cache read: once a page
    board = selectors.sdr_work(
        user=request.user, cursors=cursors, sla_hours=sla_hours, size=LIST_SIZE
    )
    sections = [
        {
            "key": key,
            "title": title,
            "hint": hint,
            "rows": rows.work_rows(
                board[key].items, section=key, sla_hours=sla_hours, failed=failed
            ),
            "next_cursor": board[key].next_cursor,
            "paged": bool(cursors and cursors.get(key)),
        }
        for key, title, hint in SECTIONS
    ]
    aes = list(users_with_role(Role.AE))
    return {
        "sections": sections,
        "action_forms": _action_forms(
            request, origin="work", forms=WORK_FORMS, section="open", ae_choices=aes
        ),
        "ae_choices": aes,
        "choices": CHOICES,
        "origin": "work",
        "failed": failed,
        "shortcuts": WORK_SHORTCUTS,
        **extra,
    }


def _action_forms(
    request: HttpRequest,
    *,
    origin: str,
    forms: list[rows.RowAction],
    section: str = "",
    ae_choices: list[Any] | None = None,
) -> SafeString:
    """The page's action forms, for no lead (`action_forms.html`). They cost as much to render
    as the rows, yet from one request to the next only their CSRF token changes (and the AEs to
    choose from): each process renders them once, with a mark for the token. Not in DEBUG,
    where the templates may change under a running server."""
    aes = ae_choices or []
    key = (origin, section, *((ae.pk, ae.get_full_name(), ae.get_username()) for ae in aes))
    html = None if settings.DEBUG else _rendered_forms.get(key)
    if html is None:
        if len(_rendered_forms) >= 32:  # the AEs changed many times: keep the latest only
            _rendered_forms.clear()
        context = {
            "forms": forms,
            "form_lead": FORM_LEAD,
            "choices": CHOICES,
            "ae_choices": aes,
            "origin": origin,
            "section": section,
            "csrf_token": CSRF_MARK,
        }
        html = render_to_string("workspaces/partials/action_forms.html", context)
        _rendered_forms[key] = html
    return SafeString(html.replace(CSRF_MARK, get_token(request)))


def _page_after(request: HttpRequest) -> str | None:
    """The `after` cursor of a list's next page, as the "Show more" link sends it."""
    return request.GET.get("after", "")[:200] or None


@login_required
@permission_required("stages.work_lead", raise_exception=True)
@require_GET
def my_work(request: HttpRequest) -> HttpResponse:
    key, cursor = request.GET.get("section", ""), _page_after(request)
    if key not in selectors.WORK_SECTIONS or not cursor:
        return render(request, "workspaces/work.html", _work_context(request))
    if not request.htmx:  # no script: the whole page, that list from the cursor on
        return render(
            request, "workspaces/work.html", _work_context(request, cursors={key: cursor})
        )
    sla_hours = StageRules.current().mql_sla_hours
    board = selectors.sdr_work(
        user=request.user,
        cursors={key: cursor},
        sections=[key],
        sla_hours=sla_hours,
        size=LIST_SIZE,
    )
    page = board[key]
    context = {
        "rows": rows.work_rows(page.items, section=key, sla_hours=sla_hours),
        "key": key,
        "next_cursor": page.next_cursor,
    }
    return render(request, "workspaces/partials/work_more.html", context)


def _deals_context(
    request: HttpRequest,
    failed: dict[str, Any] | None = None,
    cursor: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    page = selectors.ae_deals(user=request.user, cursor=cursor, size=LIST_SIZE)
    return {
        "deals": rows.deal_rows(page.items, failed=failed),
        "next_cursor": page.next_cursor,
        "paged": bool(cursor),
        "action_forms": _action_forms(request, origin="deals", forms=DEAL_FORMS),
        "choices": CHOICES,
        "origin": "deals",
        "failed": failed,
        "shortcuts": DEAL_SHORTCUTS,
        **extra,
    }


@login_required
@permission_required("stages.win_lead", raise_exception=True)
@require_GET
def my_deals(request: HttpRequest) -> HttpResponse:
    cursor = _page_after(request)
    if not (cursor and request.htmx):
        return render(request, "workspaces/deals.html", _deals_context(request, cursor=cursor))
    page = selectors.ae_deals(user=request.user, cursor=cursor, size=LIST_SIZE)
    context = {"rows": rows.deal_rows(page.items), "key": "deals", "next_cursor": page.next_cursor}
    return render(request, "workspaces/partials/deal_more.html", context)


def _breakdown(result: ScoreResult, lead: Lead) -> list[dict[str, Any]]:
    """The score's contributions grouped by rule, each with the events or field behind it."""
    event_ids = {c.event_id for c in result.contributions if c.event_id}
    events = Event.objects.in_bulk(event_ids) if event_ids else {}
    groups: dict[int, dict[str, Any]] = {}
    for contribution in result.contributions:
        group = groups.setdefault(
            contribution.rule_id,
            {"rule": contribution.rule_name, "kind": contribution.kind, "points": 0, "items": []},
        )
        group["points"] += contribution.counted
        if contribution.event_id:
            event = events.get(contribution.event_id)
            label = str(event) if event else f"event #{contribution.event_id}"
            at = event.occurred_at if event else None
        else:
            value = getattr(lead.contact, contribution.field, "")
            label = f"{FIT_FIELDS.get(contribution.field, contribution.field)}: {value}"
            at = None
        group["items"].append(
            {
                "label": label,
                "at": at,
                "points": contribution.counted,
                "decayed": contribution.decayed,
                "raw": contribution.points,
            }
        )
    return sorted(groups.values(), key=lambda g: (g["kind"] != "behaviour", -abs(g["points"])))


def _event_points(result: ScoreResult) -> dict[int, float]:
    """The points each event gives the score now (after decay and caps), by event id."""
    points: dict[int, float] = {}
    for contribution in result.contributions:
        if contribution.event_id is not None:
            points[contribution.event_id] = (
                points.get(contribution.event_id, 0.0) + contribution.counted
            )
    return points


def _lead_context(request: HttpRequest, lead: Lead, **extra: Any) -> dict[str, Any]:
    explained = lead_explain(lead=lead)
    actions = lead_actions(lead, request.user, available_actions(lead, request.user))
    return {
        "lead": lead,
        "contact": lead.contact,
        "actions": actions,
        "score": explained,
        "breakdown": _breakdown(explained, lead),
        "timeline": selectors.lead_timeline(lead=lead, points=_event_points(explained)),
        "owners": selectors.lead_owners(lead=lead),
        "may_edit_profile": not profile_problems(lead, request.user),
        "may_note": request.user.has_perm("stages.view_lead"),
        "attribution": lead_attribution(lead=lead),
        "ae_choices": users_with_role(Role.AE),
        "choices": CHOICES,
        "origin": "lead",
        **extra,
    }


@login_required
@require_GET
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _lead_for(request, pk)
    notifications_read(request.user, lead_id=lead.pk)  # seen: the lead is open
    return render(request, "workspaces/lead_detail.html", _lead_context(request, lead))


@login_required
@permission_required("people.merge_contact", raise_exception=True)
@require_POST
def contact_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Fold a duplicate contact, named by its email, into the contact of this lead."""
    lead = _lead_for(request, pk)
    form = MergeForm(request.POST, survivor=lead.contact)
    if form.is_valid():
        duplicate = form.cleaned_data["email"]
        try:
            contacts_merge(survivor_id=lead.contact_id, duplicate_id=duplicate.pk, by=request.user)
        except MergeError as exc:
            form.add_error("email", str(exc))
    if not form.errors:
        messages.success(request, f"{duplicate.email} was merged into {lead.contact}.")
        # The kept lead may be the duplicate's: show whichever now belongs to this contact.
        return redirect("lead_detail", Lead.objects.get(contact_id=lead.contact_id).pk)
    context = _lead_context(request, lead, merge_form=form)
    return render(request, "workspaces/lead_detail.html", context, status=400)


@login_required
@require_POST
def lead_do(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Make one action on a lead; answer with the page or the row it came from."""
    action = ACTIONS.get(name)
    if action is None:
        raise Http404("There is no such action.")
    lead = _lead_for(request, pk)
    if not request.user.has_perm(f"stages.{action.perm}"):
        raise PermissionDenied(f"Your role may not do this: {action.label}.")
    form = action.form(request.POST)
    status = 200
    if not form.is_valid():
        status = 400
    else:
        try:
            action.run(lead, request.user, form.cleaned_data)
        except TransitionError as exc:
            form.add_error(None, exc.problems)
            status = 409
    if status == 200:
        messages.success(request, action.message(lead, form.cleaned_data))
    else:
        problems = [error for errors in form.errors.values() for error in errors]
        messages.error(request, f"{action.label}: {'; '.join(problems)}")
    origin = request.POST.get("from", "lead")
    return _after_action(request, pk, origin if origin in ORIGINS else "lead", name, form, status)


def _after_action(
    request: HttpRequest, pk: int, origin: str, name: str, form: Any, status: int
) -> HttpResponse:
    failed = None if status == 200 else {"lead": pk, "name": name, "form": form}
    lead = _lead_for(request, pk)
    if origin == "work":
        if request.htmx:
            return _work_row(request, lead, failed, status)
        if failed:
            return render(
                request,
                "workspaces/work.html",
                _work_context(request, failed=failed),
                status=status,
            )
        return redirect("my_work")
    if origin == "deals":
        if request.htmx:
            return _deal_row(request, lead, failed, status)
        if failed:
            return render(
                request,
                "workspaces/deals.html",
                _deals_context(request, failed=failed),
                status=status,
            )
        return redirect("my_deals")
    if failed:
        return render(
            request,
            "workspaces/lead_detail.html",
            _lead_context(request, lead, failed=failed),
            status=status,
        )
    return redirect("lead_detail", pk)


def _work_row(
    request: HttpRequest, lead: Lead, failed: dict[str, Any] | None, status: int
) -> HttpResponse:
    """The row again where it stays, moved to the section it now belongs to, or gone."""
    context = _work_context(request, failed=failed)
    posted = request.POST.get("section", "")
    found = [
        (s["key"], row) for s in context["sections"] for row in s["rows"] if row["pk"] == lead.pk
    ]
    if not found:  # past the first page of its list (shown by "Show more"), or out of them all
        sla_hours = StageRules.current().mql_sla_hours
        board = selectors.sdr_work(user=request.user, lead_id=lead.pk, sla_hours=sla_hours)
        found = [
            (key, row)
            for key, page in board.items()
            for row in rows.work_rows(page.items, section=key, sla_hours=sla_hours, failed=failed)
        ]
    # Not found: the lead left your lists (another rep's now): its row goes, the toast says why.
    section, row = found[0] if found else (None, None)
    context.update(
        rows=[row] if row else [],
        # A failed action leaves the row where it was, its form open with the errors.
        section=posted if failed else section,
        stays=bool(failed) or section == posted,
        moved_to=None if failed or section == posted else section,
    )
    return render(request, "workspaces/partials/work_action.html", context, status=status)


def _deal_row(
    request: HttpRequest, lead: Lead, failed: dict[str, Any] | None, status: int
) -> HttpResponse:
    context = _deals_context(request, failed=failed)
    found = [row for row in context["deals"] if row["pk"] == lead.pk]
    if not found:
        page = selectors.ae_deals(user=request.user, lead_id=lead.pk)
        found = rows.deal_rows(page.items, failed=failed)
    context.update(rows=found[:1], stays=bool(found))
    return render(request, "workspaces/partials/deal_action.html", context, status=status)


@login_required
@permission_required("stages.source_direct_lead", raise_exception=True)
@require_http_methods(["GET", "POST"])
def lead_new(request: HttpRequest) -> HttpResponse:
    form = ContactNewForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                lead = contact_source_direct(by=request.user, **data)
            except TransitionError as exc:
                form.add_error(None, exc.problems)
            else:
                messages.success(request, f"{lead} entered as a sales-sourced SQL.")
                return redirect("lead_detail", lead.pk)
        status = 400
    existing = None
    if form.errors and form.data.get("email"):
        existing = (
            Lead.objects.select_related("contact")
            .filter(contact__email__iexact=form.data["email"].strip())
            .first()
        )
    context = {"form": form, "existing": existing}
    return render(request, "workspaces/lead_new.html", context, status=status)


@login_required
@permission_required("stages.view_lead", raise_exception=True)
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    results = leads_search(query=query) if query else []
    return render(request, "workspaces/search.html", {"query": query, "results": results})


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    notes = (
        Notification.objects.filter(user=request.user)
        .select_related("lead__contact")
        .order_by(F("read_at").desc(nulls_first=True), "-created_at")[:NOTIFICATIONS_SHOWN]
    )
    return render(request, "workspaces/notifications.html", {"notes": notes})


@login_required
@require_POST
def notifications_mark_read(request: HttpRequest) -> HttpResponse:
    marked = notifications_read(request.user)
    messages.success(request, f"{marked} notification{pluralize(marked)} marked as read.")
    return redirect("notifications")


def _team_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    teams = [
        {"role": role, "reps": list(reps_by_load(role).order_by("username"))}
        for role in (Role.SDR, Role.AE)
    ]
    return {"teams": teams, "may_edit": request.user.has_perm("stages.assign_lead"), **extra}


@login_required
@permission_required("stages.view_lead", raise_exception=True)
@require_GET
def team(request: HttpRequest) -> HttpResponse:
    """The reps, their load, capacity and availability: who the round-robin gives leads to."""
    return render(request, "workspaces/team.html", _team_context(request))


@login_required
@require_POST
def team_availability(request: HttpRequest, pk: int) -> HttpResponse:
    """Set a rep's capacity and away flag: a marketer or an admin for anyone, a rep for
    themselves (their away flag only)."""
    reps = get_user_model().objects.filter(groups__name__in=[Role.SDR, Role.AE], is_active=True)
    rep = get_object_or_404(reps.distinct(), pk=pk)
    manager = request.user.has_perm("stages.assign_lead")
    if not manager and rep.pk != request.user.pk:
        raise PermissionDenied("Only a marketer or an admin sets another rep's availability.")
    form = AvailabilityForm(request.POST)
    if not form.is_valid():
        problems = [error for errors in form.errors.values() for error in errors]
        messages.error(request, f"{rep.get_username()}: {' '.join(problems)}")
        return render(
            request, "workspaces/team.html", _team_context(request, failed=rep.pk), status=400
        )
    availability, _ = RepAvailability.objects.get_or_create(user=rep)
    availability.is_away = form.cleaned_data["is_away"]
    if manager:
        availability.capacity = form.cleaned_data["capacity"]
    availability.save()
    state = "away" if availability.is_away else "in"
    messages.success(
        request,
        f"{rep.get_username()} is {state}, capacity {availability.capacity or 'unlimited'}.",
    )
    return redirect("team")
