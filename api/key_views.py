"""The Access keys page: a user's keys for the HTTP API. A new key's secret is in the answer to the
POST that created it, once: never stored in the session, never shown again."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from api import keys
from api.models import AccessKey
from console.errors import UserError


@never_cache  # the page that shows a new secret must not be kept by a browser or a proxy
@require_http_methods(["GET", "POST"])
def key_list(request: HttpRequest) -> HttpResponse:
    created = secret = None
    if request.method == "POST":
        try:
            created, secret = keys.create_key(request.user, request.POST.get("description", "").strip())
        except UserError as exc:
            messages.error(request, "; ".join(exc.errors))
            return redirect("access-keys")
    context = {
        "keys": AccessKey.objects.filter(user=request.user),
        "created": created,
        "secret": secret,
        "endpoint": request.build_absolute_uri("/api/appflow"),
    }
    return render(request, "api/access_keys.html", context)


@require_POST
def key_action(request: HttpRequest, access_key_id: str, action: str) -> HttpResponse:
    try:
        key = keys.get_key(access_key_id, user=request.user)
    except UserError as exc:
        messages.error(request, "; ".join(exc.errors))
        return redirect("access-keys")
    if action == "delete":
        keys.delete_key(key)
        messages.success(request, f"Deleted the access key {access_key_id}.")
    else:
        keys.set_active(key, action == "activate")
        messages.success(request, f"The access key {access_key_id} is now {key.status.lower()}.")
    return redirect("access-keys")
