"""The console's own pages: home, login/logout, and the health check for load balancers."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from accounts import access
from connections.models import Connection
from flows.models import Execution
from flows.views import flows_with_last_run

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


class LogoutView(auth_views.LogoutView):
    """Django's logout: POST only, so a link or an image cannot sign anyone out."""
