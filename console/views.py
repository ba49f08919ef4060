"""The console's own pages: home, login/logout, the health check for load balancers, and the
Demo CRM's one-click connection."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from accounts import access
from connections.models import Connection
from console.demo import begin_demo_crm_connection
from console.errors import UserError
from console.run_charts import dashboard_context
from flows.models import Execution
from flows.views import flows_with_last_run
from signin.forms import LockoutAuthenticationForm

HOME_FLOWS = 20
RECENT_EXECUTIONS = 10


def home(request: HttpRequest) -> HttpResponse:
    connections = access.visible(request.user, Connection.objects.all())
    flows = list(flows_with_last_run(request.user)[: HOME_FLOWS + 1])
    context = {
        "connections": connections[:HOME_FLOWS],
        "connection_count": connections.count(),
        "flows": flows[:HOME_FLOWS],
        "more_flows": len(flows) > HOME_FLOWS,
        "executions": access.visible(request.user, Execution.objects.select_related("flow", "started_by"))[
            :RECENT_EXECUTIONS],
        **dashboard_context(request),
    }
    return render(request, "console/home.html", context)


@login_not_required
@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """200 when the web process can reach its database; 503 otherwise (no details: it is public)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    authentication_form = LockoutAuthenticationForm

    def get_context_data(self, **kwargs):
        from django.conf import settings

        return {**super().get_context_data(**kwargs),
                "sso_name": settings.SLUICE_OIDC_PROVIDER_NAME if settings.SLUICE_OIDC_ISSUER else ""}


class LogoutView(auth_views.LogoutView):
    """Django's logout: POST only, so a link or an image cannot sign anyone out."""


@require_POST
def connect_demo(request: HttpRequest) -> HttpResponse:
    """The Demo CRM card's "Connect the demo": straight to the Demo CRM's consent page with the
    settings filled in (console/demo.py); the OAuth callback saves and tests the connection."""
    if not settings.SLUICE_DEMO_SAAS:
        raise Http404("The Demo CRM is off (SLUICE_DEMO_SAAS).")
    try:
        return redirect(begin_demo_crm_connection(request))
    except UserError as exc:
        for error in exc.errors:
            messages.error(request, error)
        return redirect("connections:list")
