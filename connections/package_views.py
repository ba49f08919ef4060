""""Connector packages": the installed connector packages (entry point group `sluice.connectors`),
what each declares, and whether it is registered — with Register, Update and Unregister. Staff
only: registering puts a package's code in the credential path. The work is done by
connections/registrations.py, the same functions the CLI and the API call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from connections import registrations
from connections.connectors import packages
from connections.models import Connection, ConnectorRegistration
from console.errors import UserError

DOCS = "docs/connector-sdk.md"
DOCS_SECTION = "Installing and registering"


def staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Others get a 403 page that says why (not the admin's login form, which
    staff_member_required would show a signed-in person)."""

    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not (request.user.is_active and request.user.is_staff):
            return render(request, "connections/packages_forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return checked


@dataclass(frozen=True)
class PackageRow:
    """One connector label on the page: the installed package offering it, its registration, or both."""

    label: str
    installed: packages.InstalledConnector | None
    registration: ConnectorRegistration | None

    @property
    def state(self) -> str:
        if self.registration is None:
            return "not-registered"
        if self.installed is None or self.installed.package != self.registration.package:
            return "missing"
        if self.installed.version != self.registration.version:
            return "differs"
        return "registered"

    @property
    def declared(self) -> dict:
        return self.installed.declared if self.installed else {}


def package_rows() -> list[PackageRow]:
    """Installed packages and registrations side by side, by label: a registration whose package
    was uninstalled is shown too (it can only be unregistered, or the package installed again)."""
    installed = {item.label: item for item in registrations.available()}
    registered = {row.connector_label: row for row in registrations.registrations()}
    return [PackageRow(label, installed.get(label), registered.get(label))
            for label in sorted(installed.keys() | registered.keys())]


@staff_only
def package_list(request: HttpRequest) -> HttpResponse:
    return render(request, "connections/packages.html", {
        "rows": package_rows(), "group": packages.GROUP, "docs": DOCS, "docs_section": DOCS_SECTION})


def _by(request: HttpRequest) -> str:
    return request.user.get_username()


@staff_only
@require_POST
def package_register(request: HttpRequest, label: str) -> HttpResponse:
    try:
        row = registrations.register(label, by=_by(request))
    except UserError as exc:
        messages.error(request, " ".join(exc.errors))
    else:
        messages.success(request, f'"{label}" ({row.package} {row.version}) passed the checks and is '
                                  "registered: it is in the connections catalog now.")
    return redirect("connections:packages")


@staff_only
@require_POST
def package_update(request: HttpRequest, label: str) -> HttpResponse:
    try:
        before = registrations.registration(label).version
        row = registrations.update(label, by=_by(request))
    except UserError as exc:
        messages.error(request, " ".join(exc.errors))
    else:
        messages.success(request, f'"{label}" passed the checks again and now runs {row.package} '
                                  f"{row.version} (was {before}).")
    return redirect("connections:packages")


@staff_only
@require_http_methods(["GET", "POST"])
def package_unregister(request: HttpRequest, label: str) -> HttpResponse:
    """GET asks for confirmation (naming the connections that would stop it); POST unregisters."""
    try:
        row = registrations.registration(label)
    except UserError as exc:
        messages.error(request, " ".join(exc.errors))
        return redirect("connections:packages")
    errors: list[str] = []
    if request.method == "POST":
        try:
            registrations.unregister(label, by=_by(request))
        except UserError as exc:
            errors = exc.errors
        else:
            messages.success(request, f'"{label}" is unregistered: it is no longer a connector here. The '
                                      f"package {row.package} stays installed; pip uninstalls it.")
            return redirect("connections:packages")
    using = (Connection.objects.filter(connector_type="CustomConnector", connector_label=label)
             .order_by("name"))
    return render(request, "connections/package_unregister.html",
                  {"row": row, "using": using, "errors": errors}, status=409 if errors else 200)
