"""The read API for leads: JSON, for a signed-in user or a personal API token."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from stages.models import Lead, Stage

from .auth import TokenError, api_user

PAGE_SIZE = 100


def api_view(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """Authenticate (session or Bearer token) and require the permission to see leads."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        try:
            user = api_user(request)
        except TokenError as exc:
            return JsonResponse({"error": str(exc)}, status=401)
        if not user.is_authenticated:
            return JsonResponse({"error": "authentication required"}, status=401)
        if not user.has_perm("stages.view_lead"):
            return JsonResponse({"error": "your role may not see leads"}, status=403)
        request.user = user
        return view(request, *args, **kwargs)

    return wrapped


def lead_json(lead: Lead) -> dict[str, Any]:
    contact = lead.contact
    return {
        "id": lead.pk,
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "company": contact.company,
        "job_title": contact.job_title,
        "stage": lead.stage,
        "status": lead.status,
        "score": lead.score,
        "behaviour_score": lead.behaviour_score,
        "fit_score": lead.fit_score,
        "owner": lead.owner.get_username() if lead.owner else None,
        "source": lead.source,
        "created_at": lead.created_at.isoformat(),
        "stage_changed_at": lead.stage_changed_at.isoformat(),
    }


@require_GET
@api_view
def leads(request: HttpRequest) -> JsonResponse:
    qs = Lead.objects.select_related("contact", "owner").order_by("-id")
    if email := request.GET.get("email", "").strip():
        qs = qs.filter(contact__email=email.lower())
    if stage := request.GET.get("stage"):
        if stage not in Stage.values:
            return JsonResponse(
                {"error": f"stage must be one of {', '.join(Stage.values)}"}, status=400
            )
        qs = qs.filter(stage=stage)
    if before := request.GET.get("before"):
        if not before.isdigit():
            return JsonResponse({"error": "before must be a lead id"}, status=400)
        qs = qs.filter(pk__lt=int(before))
    page = list(qs[: PAGE_SIZE + 1])
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    return JsonResponse(
        {
            "results": [lead_json(lead) for lead in page],
            "next": f"?before={page[-1].pk}" if more else None,
        }
    )


@require_GET
@api_view
def lead_detail(request: HttpRequest, pk: int) -> JsonResponse:
    lead = Lead.objects.select_related("contact", "owner").filter(pk=pk).first()
    if lead is None:
        return JsonResponse({"error": "no such lead"}, status=404)
    return JsonResponse(lead_json(lead))
