"""Single sign-on (OpenID Connect) and the "Sessions" page with "Log out everywhere"."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

import audit
from accounts import people
from signin import oidc
from signin.mapping import parse_rules, teams_for
from signin.models import SingleSignOnIdentity
from signin.sessions import end_sessions, sessions_of

logger = logging.getLogger(__name__)
PENDING_KEY = "_sluice_oidc_pending"


def provider() -> oidc.Provider | None:
    if not settings.SLUICE_OIDC_ISSUER:
        return None
    return oidc.Provider(
        settings.SLUICE_OIDC_ISSUER,
        settings.SLUICE_OIDC_CLIENT_ID,
        settings.SLUICE_OIDC_CLIENT_SECRET,
        settings.SLUICE_OIDC_SCOPES,
    )


def redirect_uri(request: HttpRequest) -> str:
    path = reverse("signin:oidc-callback")
    return settings.SLUICE_BASE_URL + path if settings.SLUICE_BASE_URL else request.build_absolute_uri(path)


def _refuse(request: HttpRequest, message: str, *, name: str = "") -> HttpResponse:
    with transaction.atomic():
        audit.record(
            "user.sso_login", object_type="user", name=name or "(unknown)", outcome="refused", message=message
        )
    messages.error(request, message)
    return redirect("login")


@login_not_required
@never_cache
@require_safe
def oidc_start(request: HttpRequest) -> HttpResponse:
    configured = provider()
    if configured is None:
        return HttpResponseNotFound("Single sign-on is not configured (SLUICE_OIDC_ISSUER).")
    try:
        url, pending = oidc.authorization(configured, redirect_uri(request))
    except oidc.SignInRefused as exc:
        return _refuse(request, str(exc))
    next_url = request.GET.get("next", "")
    safe = url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure())
    # Several tabs may sign in at once: one pending sign-in per state.
    pendings = {
        **request.session.get(PENDING_KEY, {}),
        pending["state"]: {**pending, "next": next_url if safe else ""},
    }
    request.session[PENDING_KEY] = dict(list(pendings.items())[-5:])
    return redirect(url)


@login_not_required
@never_cache
@require_safe
def oidc_callback(request: HttpRequest) -> HttpResponse:
    configured = provider()
    if configured is None:
        return HttpResponseNotFound("Single sign-on is not configured (SLUICE_OIDC_ISSUER).")
    pendings = request.session.get(PENDING_KEY, {})
    pending = pendings.pop(request.GET.get("state", ""), None)
    request.session[PENDING_KEY] = pendings
    if pending is None:
        return _refuse(request, "This sign-in was not started here, or has been used already. Start again.")
    if request.GET.get("error"):
        return _refuse(
            request,
            "Sign-in was cancelled at the provider."
            if request.GET["error"] == "access_denied"
            else f"The provider refused the sign-in ({request.GET['error'][:60]}).",
        )
    try:
        claims = oidc.exchange(configured, pending, request.GET.get("code", ""), redirect_uri(request))
        email = oidc.allowed_email(claims, settings.SLUICE_OIDC_ALLOWED_DOMAINS)
    except oidc.SignInRefused as exc:
        return _refuse(request, str(exc))
    user = _user_for(configured.issuer, claims, email)
    if user is None:
        return _refuse(request, f"The Sluice account of {email} is deactivated.", name=email)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    with transaction.atomic():
        audit.record(
            "user.sso_login",
            user,
            object_type="user",
            name=user.get_username(),
            user=user,
            changes={"issuer": configured.issuer},
        )
    return redirect(pending.get("next") or settings.LOGIN_REDIRECT_URL)


@transaction.atomic
def _user_for(issuer: str, claims: dict, email: str):
    """The user this provider subject signs in as: linked before, else the user with this verified
    email, else a new user named by the email. None when that user is deactivated."""
    User = get_user_model()
    identity = (
        SingleSignOnIdentity.objects.select_related("user")
        .filter(issuer=issuer, subject=claims["sub"])
        .first()
    )
    if identity is None:
        user = User.objects.filter(email__iexact=email).order_by("pk").first()
        if user is None:
            user = User.objects.create_user(email[:150], email=email)  # no password: sign-in by SSO only
            audit.record(
                "user.create",
                user,
                object_type="user",
                name=user.get_username(),
                message="created at first single sign-on",
            )
        identity = SingleSignOnIdentity(issuer=issuer, subject=claims["sub"], user=user)
    identity.email = email
    identity.teams = teams_for(claims, parse_rules(settings.SLUICE_OIDC_TEAM_MAPPING))
    identity.save()
    if not identity.user.is_active:
        return None
    # Recorded as the installation's doing ("system"): the configured mapping decides, not a person.
    with audit.acting_as(None, via="system", address=audit.current_actor().address):
        people.apply_sso_teams(identity.user, identity.teams)
    return identity.user


@require_safe
def session_page(request: HttpRequest) -> HttpResponse:
    context = {
        "session_count": len(sessions_of(request.user)),
        "idle_hours": round(settings.SESSION_COOKIE_AGE / 3600, 1),
        "sso": request.user.sso_identities.first(),
    }
    return render(request, "signin/sessions.html", context)


@require_POST
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    user = request.user
    with transaction.atomic():
        ended = end_sessions(user)
        audit.record(
            "user.logout_everywhere",
            user,
            object_type="user",
            name=user.get_username(),
            changes={"sessions ended": ended},
        )
    request.session.flush()
    messages.success(
        request,
        f"Logged out everywhere: {ended} session{'s' if ended != 1 else ''} ended, "
        "this one included. Log in again to continue.",
    )
    return redirect("login")
