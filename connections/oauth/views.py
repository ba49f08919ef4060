"""The one pair of OAuth 2.0 views every OAuth connector uses: start (from the connection form or
the Re-authorize button) -> the provider's consent page -> callback.

The callback answers 403 and stores nothing for a missing, unknown, replayed or foreign state; it
sends Referrer-Policy: no-referrer so the code in its URL goes nowhere, and always redirects or
renders without echoing the code."""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from connections import services
from connections.audit import client_address
from connections.connectors.base import Connector, ConnectorError
from connections.connectors.registry import get_connector_class
from connections.forms import NAME_FIELD, ConnectionForm
from connections.oauth import flow
from console.errors import NotFound, UserError


def redirect_uri(request: HttpRequest, key: str) -> str:
    """Fixed per deployment (SLUICE_BASE_URL), so it can be registered with the provider."""
    path = reverse("connections:oauth_callback", args=[key])
    if settings.SLUICE_BASE_URL:
        return f"{settings.SLUICE_BASE_URL}{path}"
    return request.build_absolute_uri(path)


def oauth_connector(key: str) -> type[Connector]:
    try:
        cls = get_connector_class(key)
    except ConnectorError as exc:
        raise Http404(exc.message) from None
    if cls.auth_kind not in ("oauth2", "per_connection"):
        raise Http404(f"{cls.display_name} does not use OAuth 2.0.")
    return cls


def not_oauth(connector_cls: type[Connector], properties) -> str | None:
    """Why a connection with these properties cannot go through the consent page, or None (a
    connector whose auth kind each connection decides: Generic REST's spec says oauth2 or not)."""
    if connector_cls.auth_kind_for(properties) == "oauth2":
        return None
    return (f"This {connector_cls.display_name} connection does not use OAuth 2.0 authorization code: "
            "nothing to authorize.")


def _session_key(request: HttpRequest) -> str:
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key or ""


@sensitive_post_parameters()
@require_POST
def oauth_start(request: HttpRequest, key: str) -> HttpResponse:
    from connections.views import form_page, safe_next

    connector_cls = oauth_connector(key)
    common = {"user": request.user, "session_key": _session_key(request),
              "redirect_uri": redirect_uri(request, key), "return_to": safe_next(request)}
    if request.POST.get("connection"):
        try:
            connection = services.get_connection(request.POST["connection"])
        except NotFound as exc:
            raise Http404(exc.errors[0]) from None
        if why := not_oauth(connector_cls, connection.properties):
            raise Http404(why)
        return redirect(flow.begin(connector_cls, connection=connection, **common))
    form = ConnectionForm(connector_cls, request.POST)
    if not form.is_valid():
        return form_page(request, form, connector_cls, status=400)
    if why := not_oauth(connector_cls, form.properties()):
        return form_page(request, form, connector_cls, errors=[why], status=400)
    try:
        url = flow.begin(
            connector_cls, name=form.cleaned_data[NAME_FIELD],
            connection_mode=form.cleaned_data["connection_mode"], properties=form.properties(),
            client_secret=str(form.credentials().get("clientSecret") or ""), **common,
        )
    except UserError as exc:
        return form_page(request, form, connector_cls, errors=exc.errors, status=400)
    return redirect(url)


def oauth_switch(request: HttpRequest, connector_cls: type[Connector], connection, form) -> HttpResponse:
    """An edit that switches an existing connection to OAuth 2.0 (SAP OData, a Generic REST spec):
    on to the consent page with the edited settings; the connection keeps its old ones, and its
    flows keep working, until the provider has issued tokens (flow.complete saves both)."""
    from connections.views import form_page

    try:
        url = flow.begin(
            connector_cls, connection=connection, properties=form.properties(),
            connection_mode=form.cleaned_data["connection_mode"],
            client_secret=str(form.credentials().get("clientSecret") or ""),
            user=request.user, session_key=_session_key(request),
            redirect_uri=redirect_uri(request, connector_cls.key()),
        )
    except UserError as exc:
        return form_page(request, form, connector_cls, connection=connection, errors=exc.errors, status=400)
    return redirect(url)


def no_referrer(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        return response

    return wrapper


@no_referrer
@never_cache
@require_GET
@sensitive_variables("code")
def oauth_callback(request: HttpRequest, key: str) -> HttpResponse:
    connector_cls = oauth_connector(key)
    pending = flow.claim(request.GET.get("state", ""), key=key, user=request.user,
                         session_key=request.session.session_key or "")
    if pending is None or not_oauth(connector_cls, pending.properties):
        return render(request, "connections/oauth_forbidden.html", {"connector": connector_cls}, status=403)
    back = _back_to_form(pending, key)
    error = request.GET.get("error")
    if error == "access_denied":
        messages.warning(request, f"Authorization was cancelled at {connector_cls.display_name}. "
                                  "Nothing was saved; you can try again.")
        return redirect(back)
    code = request.GET.get("code", "")
    if error or not code:
        context = {"connector": connector_cls, "error": error or "no code",
                   "description": request.GET.get("error_description", "")[:300], "back": back}
        return render(request, "connections/oauth_error.html", context, status=400)
    try:
        connection = flow.complete(pending, connector_cls, code=code, user=request.user,
                                   address=client_address(request))
    except UserError as exc:
        context = {"connector": connector_cls, "errors": exc.errors, "back": back}
        return render(request, "connections/oauth_error.html", context, status=400)
    messages.success(request, f'The connection "{connection.name}" is authorized and works.')
    if pending.return_to:
        # Back where the person came from (the flow wizard), with the new connection chosen.
        back_to = pending.return_to
        joiner = "&" if "?" in back_to else "?"
        return redirect(f"{back_to}{joiner}{urlencode({'connection': connection.name})}")
    return redirect("connections:detail", connection.name)


def _back_to_form(pending, key: str) -> str:
    """Where "try again" goes: the connection (Re-authorize) or the form, refilled with what was
    typed except secrets."""
    if pending.connection_id:
        return reverse("connections:detail", args=[pending.connection.name])
    initial = {NAME_FIELD: pending.name, "connection_mode": pending.connection_mode, **pending.properties}
    if pending.return_to:
        initial["next"] = pending.return_to
    return reverse("connections:create", args=[key]) + "?" + urlencode(initial)
