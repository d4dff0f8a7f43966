"""The tracking API skips the middleware that only pages need."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, ResolverMatch, resolve

from . import views

PREFIX = "/v1/"


class TrackingFastPath:
    """Send /v1/ calls straight to their view, past sessions, authentication, messages, CSRF
    (the views are csrf_exempt and read no cookie), htmx and the rest.

    It sits right after SecurityMiddleware (and WhiteNoise), which still see every call: HTTPS
    redirect and HSTS apply as everywhere. A website's tracking calls are most of the requests a
    busy install serves; the middleware they skip was about 150 µs of CPU each.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(PREFIX) and (match := _tracking_match(request.path_info)):
            request.resolver_match = match
            return match.func(request, *match.args, **match.kwargs)
        return self.get_response(request)


@functools.lru_cache(maxsize=64)
def _tracking_match(path: str) -> ResolverMatch | None:
    """The match of a tracking API path (None: another page, or the site's own 404), resolved
    once a process: the URL resolver walks every pattern of the site on each call."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match if match.func in (views.single, views.batch) else None
