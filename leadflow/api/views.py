"""The read API for leads: JSON, for a signed-in user or a personal API token."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from leadflow.people.services import MergeError, contacts_merge
from leadflow.workspaces.actions import ACTIONS
from leadflow.workspaces.forms import MergeForm
from stages.models import Lead, Stage
from stages.services import TransitionError

from .auth import TokenError, api_user

PAGE_SIZE = 100


def _csrf_rejected(request: HttpRequest) -> bool:
    return CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {}) is not None


def api_view(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """Authenticate (session or Bearer token) and require the permission to see leads.

    A token is not sent by browsers on their own, so token calls skip the CSRF check; a
    session call that writes must carry the CSRF token like any form.
    """

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        try:
            user = api_user(request)
        except TokenError as exc:
            return JsonResponse({"error": str(exc)}, status=401)
        if not user.is_authenticated:
            return JsonResponse({"error": "authentication required"}, status=401)
        if "Authorization" not in request.headers and _csrf_rejected(request):
            return JsonResponse({"error": "CSRF token missing or incorrect"}, status=403)
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


@require_http_methods(["GET", "POST"])
@api_view
def lead_transitions(request: HttpRequest, pk: int) -> JsonResponse:
    lead = Lead.objects.select_related("contact", "owner").filter(pk=pk).first()
    if lead is None:
        return JsonResponse({"error": "no such lead"}, status=404)
    if request.method == "POST":
        return _transition_make(request, lead)
    history = lead.transitions.select_related("by").order_by("created_at", "id")
    return JsonResponse(
        {
            "results": [
                {
                    "name": change.name,
                    "field": change.field,
                    "source": change.source,
                    "target": change.target,
                    "by": change.actor_label,
                    "reason": change.reason,
                    "data": change.data,
                    "at": change.created_at.isoformat(),
                }
                for change in history
            ]
        }
    )


def _transition_make(request: HttpRequest, lead: Lead) -> JsonResponse:
    """Make a transition (or log an attempt) with the same form and service as the pages."""
    body = _json_object(request)
    if isinstance(body, JsonResponse):
        return body
    action = ACTIONS.get(body.get("name"))
    if action is None:
        names = ", ".join(sorted(ACTIONS))
        return JsonResponse({"error": f"name must be one of {names}"}, status=400)
    if not request.user.has_perm(f"stages.{action.perm}"):
        return JsonResponse({"error": f"your role may not {action.label.lower()}"}, status=403)
    form = action.form({key: value for key, value in body.items() if key != "name"})
    if not form.is_valid():
        return JsonResponse({"error": "invalid fields", "fields": form.errors}, status=400)
    try:
        action.run(lead, request.user, form.cleaned_data)
    except TransitionError as exc:
        return JsonResponse({"error": str(exc), "problems": exc.problems}, status=409)
    lead = Lead.objects.select_related("contact", "owner").get(pk=lead.pk)
    return JsonResponse(lead_json(lead))


@require_http_methods(["POST"])
@api_view
def lead_merge(request: HttpRequest, pk: int) -> JsonResponse:
    """Fold the duplicate contact named by `email` into this lead's contact."""
    lead = Lead.objects.select_related("contact").filter(pk=pk).first()
    if lead is None:
        return JsonResponse({"error": "no such lead"}, status=404)
    if not request.user.has_perm("people.merge_contact"):
        return JsonResponse({"error": "your role may not merge contacts"}, status=403)
    body = _json_object(request)
    if isinstance(body, JsonResponse):
        return body
    form = MergeForm(body, survivor=lead.contact)
    if not form.is_valid():
        return JsonResponse({"error": "invalid fields", "fields": form.errors}, status=400)
    try:
        contacts_merge(
            survivor_id=lead.contact_id, duplicate_id=form.cleaned_data["email"].pk, by=request.user
        )
    except MergeError as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    kept = Lead.objects.select_related("contact", "owner").get(contact_id=lead.contact_id)
    return JsonResponse(lead_json(kept))


def _json_object(request: HttpRequest) -> dict[str, Any] | JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, ValueError):
        return JsonResponse({"error": "body is not valid JSON"}, status=400)
    if not isinstance(body, dict):
        return JsonResponse({"error": "body must be a JSON object"}, status=400)
    return body


@require_GET
def openapi(request: HttpRequest) -> JsonResponse:
    """The OpenAPI description of this API (public: it holds no data)."""
    return JsonResponse(OPENAPI)


_LEAD = {
    "type": "object",
    "required": ["id", "email", "stage", "status", "score", "owner"],
    "properties": {
        "id": {"type": "integer"},
        "email": {"type": "string"},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "company": {"type": "string"},
        "job_title": {"type": "string"},
        "stage": {"type": "string", "enum": Stage.values},
        "status": {"type": "string"},
        "score": {"type": "integer"},
        "behaviour_score": {"type": "integer"},
        "fit_score": {"type": "integer"},
        "owner": {"type": ["string", "null"]},
        "source": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "stage_changed_at": {"type": "string", "format": "date-time"},
    },
}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}
_ERRORS = {
    str(code): {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for code, text in [(401, "not authenticated"), (403, "role may not see leads")]
}
_ID = {"name": "pk", "in": "path", "required": True, "schema": {"type": "integer"}}


def _ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "leadflow", "version": "1"},
    "components": {
        "securitySchemes": {
            "token": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
        },
        "schemas": {"Lead": _LEAD, "Error": _ERROR},
    },
    "security": [{"token": []}, {"session": []}],
    "paths": {
        "/api/v1/leads/": {
            "get": {
                "summary": "Leads, newest first, 100 a page",
                "parameters": [
                    {"name": "email", "in": "query", "schema": {"type": "string"}},
                    {"name": "stage", "in": "query", "schema": {"enum": Stage.values}},
                    {"name": "before", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {
                    "200": _ok(
                        {
                            "type": "object",
                            "properties": {
                                "results": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Lead"},
                                },
                                "next": {"type": ["string", "null"]},
                            },
                        }
                    ),
                    "400": {"description": "bad filter"},
                    **_ERRORS,
                },
            }
        },
        "/api/v1/leads/{pk}/": {
            "get": {
                "summary": "One lead",
                "parameters": [_ID],
                "responses": {
                    "200": _ok({"$ref": "#/components/schemas/Lead"}),
                    "404": {"description": "no such lead"},
                    **_ERRORS,
                },
            }
        },
        "/api/v1/leads/{pk}/transitions/": {
            "get": {
                "summary": "The lead's transition history, oldest first",
                "parameters": [_ID],
                "responses": {
                    "200": _ok({"type": "object", "properties": {"results": {"type": "array"}}}),
                    "404": {"description": "no such lead"},
                    **_ERRORS,
                },
            },
            "post": {
                "summary": "Make a transition, with the same rules as the pages",
                "description": (
                    "name is one of the actions (e.g. convert with meeting_at and ae, win with "
                    "deal_value, disqualify with reason, recycle with reason, nurture with "
                    "follow_up_on, attempt with channel and outcome). Answers the lead as it "
                    "is after the transition."
                ),
                "parameters": [_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {"name": {"type": "string"}},
                                "additionalProperties": True,
                            }
                        }
                    },
                },
                "responses": {
                    "200": _ok({"$ref": "#/components/schemas/Lead"}),
                    "400": {"description": "malformed body or invalid fields"},
                    "404": {"description": "no such lead"},
                    "409": {"description": "the transition is not possible now, with reasons"},
                    **_ERRORS,
                },
            },
        },
        "/api/v1/leads/{pk}/merge/": {
            "post": {
                "summary": "Merge the duplicate contact with this email into this lead's contact",
                "parameters": [_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["email"],
                                "properties": {"email": {"type": "string", "format": "email"}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _ok({"$ref": "#/components/schemas/Lead"}),
                    "400": {"description": "malformed body, unknown or same contact"},
                    "404": {"description": "no such lead"},
                    **_ERRORS,
                },
            }
        },
    },
}
