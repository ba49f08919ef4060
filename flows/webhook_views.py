"""The event webhook (public, signed) and its settings on the flow page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from console.errors import UserError
from flows import events
from flows.models import Flow


@csrf_exempt  # a machine calls it; the HMAC signature is its proof, not a session
@login_not_required
@require_POST
def receive(request: HttpRequest, token: str) -> HttpResponse:
    answer = events.receive(token, request.headers, request.body)
    return JsonResponse(answer.body, status=answer.status)


@require_POST
def rotate_key(request: HttpRequest, name: str) -> HttpResponse:
    """Shows the new key on the page it renders, once: it is not put in a message (the session
    or a cookie would keep it) and there is no redirect to lose it in."""
    from flows.views import flow_detail

    flow = get_object_or_404(Flow, name=name)
    try:
        secret = events.rotate_secret(flow, user=request.user)
    except UserError as exc:
        for error in exc.errors:
            messages.error(request, error)
        return redirect("flows:detail", name=name)
    response = flow_detail(request, name, new_secret=secret)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def settings(request: HttpRequest, name: str) -> HttpResponse:
    flow = get_object_or_404(Flow, name=name)
    try:
        seconds = int(request.POST.get("dedupe_seconds") or 0)
    except ValueError:
        seconds = 0
    try:
        events.configure(flow, idempotency_key=request.POST.get("idempotency_key", ""),
                         dedupe_seconds=seconds, user=request.user)
    except UserError as exc:
        for error in exc.errors:
            messages.error(request, error)
    else:
        messages.success(request, "Webhook settings saved.")
    return redirect("flows:detail", name=name)
