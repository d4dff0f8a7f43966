"""The reports page and its CSV exports."""

from __future__ import annotations

import csv
import io

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from leadflow.people.roles import Role, user_roles

from .forms import ReportForm
from .tables import SECTIONS, Scope, Section, sections_for


def _scope_for(request: HttpRequest) -> Scope:
    """What this user may see in the reports; PermissionDenied for a user with no report role."""
    user = request.user
    roles = user_roles(user)
    if user.is_superuser or roles & {Role.MARKETER.value, Role.ADMIN.value}:
        return Scope(everything=True)
    sdr_id = user.pk if Role.SDR.value in roles else None
    ae_id = user.pk if Role.AE.value in roles else None
    if sdr_id is None and ae_id is None:
        raise PermissionDenied("Your role cannot see reports.")
    return Scope(sdr_id=sdr_id, ae_id=ae_id)


def _build(keys: list[str], form: ReportForm, scope: Scope) -> list[Section]:
    data = form.cleaned_data
    return [SECTIONS[key][1](data["range"], scope, dimension=data["dimension"]) for key in keys]


@login_required
@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    scope = _scope_for(request)
    form = ReportForm(request.GET)
    keys = sections_for(scope)
    chosen = {
        "period": request.GET.get("period") or ("custom" if request.GET.get("start") else ""),
        "dimension": request.GET.get("dimension") or "first_touch_source",
    }
    if not form.is_valid():
        context = {"form": form, "sections": [], "scope": scope, "query": "", "chosen": chosen}
        return render(request, "reports/reports.html", context, status=400)
    chosen["period"] = form.cleaned_data["period"]
    context = {
        "chosen": chosen,
        "form": form,
        "period": form.cleaned_data["range"],
        "sections": _build(keys, form, scope),
        "scope": scope,
        "query": request.GET.urlencode(),
    }
    return render(request, "reports/reports.html", context)


@login_required
@require_GET
def report_csv(request: HttpRequest, section: str) -> HttpResponse:
    scope = _scope_for(request)
    if section not in SECTIONS:
        raise Http404("No such report.")
    if section not in sections_for(scope):
        raise PermissionDenied("Your role cannot see this report.")
    form = ReportForm(request.GET)
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    (built,) = _build([section], form, scope)
    period = form.cleaned_data["range"]
    out = io.StringIO()
    writer = csv.writer(out)
    for n, table in enumerate(built.tables):
        if n:
            writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.columns)
        writer.writerows(_csv_safe(row) for row in table.rows)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    filename = f"leadflow-{section}-{period.start}-{period.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_safe(row: list[str]) -> list[str]:
    # Campaign names come from website visitors: a cell starting with = + - @ would run as a
    # formula in a spreadsheet. Negative numbers never occur in these tables.
    return ["'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell for cell in row]
