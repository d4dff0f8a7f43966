"""The write keys page: an admin creates, rotates and revokes the keys of each source."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from .forms import WriteKeyForm
from .models import WriteKey
from .ratelimit import keys_last_used
from .services import WriteKeyError, writekey_create, writekey_revoke, writekey_rotate


def _page(request: HttpRequest, form: WriteKeyForm, status: int = 200) -> HttpResponse:
    keys = list(
        WriteKey.objects.select_related("created_by", "revoked_by").order_by(
            F("revoked_at").desc(nulls_first=True), "name", "pk"
        )
    )
    used = keys_last_used(key.pk for key in keys)
    for key in keys:
        at = used.get(key.pk)
        key.last_used_at = dt.datetime.fromtimestamp(at, tz=dt.UTC) if at else None
    context = {"keys": keys, "form": form, "active": sum(key.is_active for key in keys)}
    return render(request, "tracking/keys.html", context, status=status)


@login_required
@permission_required("tracking.add_writekey", raise_exception=True)
@require_http_methods(["GET", "POST"])
def key_list(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, WriteKeyForm())
    form = WriteKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    key = writekey_create(
        name=form.cleaned_data["name"], kind=form.cleaned_data["kind"], by=request.user
    )
    messages.success(request, f"Write key created for {key.name}.")
    return redirect("write_keys")


@login_required
@permission_required(["tracking.add_writekey", "tracking.change_writekey"], raise_exception=True)
@require_POST
def key_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(WriteKey, pk=pk)
    try:
        writekey_rotate(source=source, by=request.user)
    except WriteKeyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"New key for {source.name}. The old one is revoked: update the senders."
        )
    return redirect("write_keys")


@login_required
@permission_required("tracking.change_writekey", raise_exception=True)
@require_POST
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(WriteKey, pk=pk)
    try:
        writekey_revoke(source=source, by=request.user)
    except WriteKeyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{source.name}'s key is revoked. Its events stay.")
    return redirect("write_keys")
