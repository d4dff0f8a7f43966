"""The snippet at /t.js and the demo website: a small SaaS site that tracks itself into leadflow."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import condition, require_http_methods, require_safe

from leadflow.people.demo.data import PASSWORD as DEMO_PASSWORD
from leadflow.people.demo.data import WRITE_KEY_NAME
from leadflow.tracking.models import WriteKey

from .forms import WhitePaperForm
from .snippet import snippet_get

# Sites embed the bare /t.js, so a new release must reach them within a day; `?v=<hash>` URLs
# (the demo site's) name one exact body and are cached for good.
CACHE_BARE = "public, max-age=86400, stale-while-revalidate=604800"
CACHE_VERSIONED = "public, max-age=31536000, immutable"


@gzip_page
@require_safe
@condition(etag_func=lambda request: snippet_get().etag)
def snippet(request: HttpRequest) -> HttpResponse:
    current = snippet_get()
    response = HttpResponse(current.body, content_type="text/javascript; charset=utf-8")
    versioned = request.GET.get("v") == current.version
    response["Cache-Control"] = CACHE_VERSIONED if versioned else CACHE_BARE
    # Any site may embed it, also with crossorigin="anonymous" and SRI, or under COEP.
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _demo_context(request: HttpRequest, page: str, **extra: object) -> dict[str, object]:
    key = (
        WriteKey.objects.filter(name=WRITE_KEY_NAME, revoked_at__isnull=True)
        .order_by("-created_at")
        .values_list("key", flat=True)
        .first()
    )
    return {
        "page": page,
        "write_key": key,
        "write_key_name": WRITE_KEY_NAME,
        "snippet_version": snippet_get().version,
        "demo_password": DEMO_PASSWORD,
        **extra,
    }


@require_safe
def demo_home(request: HttpRequest) -> HttpResponse:
    return render(request, "demo_site/home.html", _demo_context(request, "home"))


@require_safe
def demo_pricing(request: HttpRequest) -> HttpResponse:
    return render(request, "demo_site/pricing.html", _demo_context(request, "pricing"))


@require_http_methods(["GET", "HEAD", "POST"])
def demo_white_paper(request: HttpRequest) -> HttpResponse:
    # The site keeps nothing: the snippet has sent the form's identify and track on submit.
    form = WhitePaperForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return redirect("demo_site_thanks")
    context = _demo_context(request, "white_paper", form=form)
    return render(
        request, "demo_site/white_paper.html", context, status=400 if form.errors else 200
    )


@require_safe
def demo_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "demo_site/thanks.html", _demo_context(request, "white_paper"))
