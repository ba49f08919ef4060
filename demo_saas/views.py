"""The Demo CRM's pages and API: its home (the developer settings a real SaaS shows: client id and
secret, the redirect URIs registered), the consent page, the token endpoint, the REST API.

Off unless SLUICE_DEMO_SAAS is on (the embedded run turns it on): every view answers 404 then."""

from __future__ import annotations

import functools
from datetime import datetime

from authlib.oauth2 import OAuth2Error
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from demo_saas import data
from demo_saas.models import SCOPE
from demo_saas.oauth import ensure_client, require_token, server


def demo_enabled(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.SLUICE_DEMO_SAAS:
            raise Http404("The Demo CRM is not enabled here (SLUICE_DEMO_SAAS).")
        return view(request, *args, **kwargs)

    return wrapper


@demo_enabled
@never_cache
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    client = ensure_client()
    counts = {name: spec[0] for name, spec in data.OBJECTS.items()}
    return render(request, "demo_saas/home.html", {"client": client, "counts": counts})


@demo_enabled
@never_cache
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """The consent page: Allow gives Sluice a code, Deny sends it back with error=access_denied."""
    try:
        grant = server.get_consent_grant(request, end_user=request.user)
    except OAuth2Error as error:
        context = {"error": error.error, "description": error.description}
        return render(request, "demo_saas/error.html", context, status=400)
    if request.method == "GET":
        context = {"client": grant.client, "scopes": (grant.request.payload.scope or "").split()}
        return render(request, "demo_saas/consent.html", context)
    user = request.user if request.POST.get("decision") == "allow" else None
    return server.create_authorization_response(request, grant_user=user, grant=grant)


@demo_enabled
@login_not_required
@csrf_exempt
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    return server.create_token_response(request)


def _since(request: HttpRequest) -> datetime | None:
    raw = request.GET.get("modified_since")
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("modified_since: use an ISO 8601 time, e.g. 2024-03-01T00:00:00Z") from None


@demo_enabled
@login_not_required
@require_GET
@require_token(SCOPE)
def api_me(request: HttpRequest) -> JsonResponse:
    user = request.oauth_token.user
    return JsonResponse({"user": user.get_username(), "scope": request.oauth_token.scope})


@demo_enabled
@login_not_required
@require_GET
@require_token(SCOPE)
def api_objects(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"objects": [
        {"name": name, "count": spec[0], "fields": [{"name": f, "type": t} for f, t in spec[2]]}
        for name, spec in data.OBJECTS.items()
    ]})


@demo_enabled
@login_not_required
@require_GET
@require_token(SCOPE)
def api_records(request: HttpRequest, obj: str) -> JsonResponse:
    if obj not in data.OBJECTS:
        return JsonResponse({"error": "not_found", "message": f"No object {obj}."}, status=404)
    try:
        since = _since(request)
        cursor = int(request.GET.get("cursor") or 0)
        limit = int(request.GET.get("limit") or 200)
    except ValueError as exc:
        return JsonResponse({"error": "invalid_request", "message": str(exc)}, status=400)
    rows, next_cursor = data.page(obj, cursor=cursor, limit=limit, modified_since=since)
    return JsonResponse({"records": rows, "next_cursor": next_cursor})
