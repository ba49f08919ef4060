"""Connection pages: the catalog, one connection, create / edit / copy / delete, and the test
button. Views parse, call one service function, render. Secrets are never read here: only whether
they are set; forms never render a secret's value back."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access
from connections import catalog, metadata, services, spec_views
from connections.audit import client_address
from connections.connectors.base import Connector, ConnectorError
from connections.connectors.registry import get_connector_class
from connections.forms import NAME_FIELD, ConnectionForm
from connections.models import Connection, ConnectionTest
from console.errors import NotFound, UserError

PAGE_SIZE = 50
CHANGES_SHOWN = 10


def connection_list(request: HttpRequest) -> HttpResponse:
    """"Manage connections": the catalog of connectors (searchable, filtered by role and
    authentication), then the connections (of one connector when one is chosen)."""
    entries = catalog.entries(request.user)
    chosen_filters = catalog.read_filters(request.GET)
    shown = [e for e in entries if catalog.matches(e["cls"], e["key"], chosen_filters)]
    chosen = next((e for e in entries if e["key"] == request.GET.get("connector")), None)
    connections = access.visible(request.user, Connection.objects.annotate(flow_count=Count("flows")))
    connections = connections.order_by("name")
    if chosen:
        cls = chosen["cls"]
        connections = connections.filter(connector_type=cls.connector_type)
        if cls.connector_type == "CustomConnector":
            connections = connections.filter(connector_label=cls.connector_label)
    page = Paginator(connections, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "entries": shown,
        "connector_count": len(entries),
        "catalog_filters": chosen_filters,
        "roles": catalog.ROLES,
        "auth_kinds": catalog.AUTH_KINDS,
        "chosen": chosen,
        "page": page,
        "connections": page.object_list,
        "total": sum(e["count"] for e in entries),
        "limit": settings.SLUICE_MAX_CONNECTIONS,
        "demo_saas": settings.SLUICE_DEMO_SAAS,  # the Demo CRM card offers "Connect the demo"
    }
    return render(request, "connections/list.html", context)


def visible_properties(connection: Connection) -> list[tuple[str, object]]:
    """The plain properties, minus anything the connector calls secret: secrets belong in the
    encrypted credentials, but a property saved by hand must not leak one either."""
    try:
        secret = get_connector_class(connection.connector_key).secret_field_names()
    except ConnectorError:
        secret = frozenset()
    return [(key, value) for key, value in sorted(connection.properties.items()) if key not in secret]


def _connection_or_404(name: str) -> Connection:
    try:
        return services.get_connection(name)
    except NotFound as exc:
        raise Http404(exc.errors[0]) from None


def _connector_or_404(key: str) -> type[Connector]:
    try:
        return get_connector_class(key)
    except ConnectorError as exc:
        raise Http404(exc.message) from None


def connection_detail(request: HttpRequest, name: str) -> HttpResponse:
    connection = _connection_or_404(name)
    try:
        connector_cls = get_connector_class(connection.connector_key)
    except ConnectorError:
        connector_cls = None
    # each declared secret, set or not: a connection that chose one way to sign in (SAP OData's
    # Basic or OAuth2, a Generic REST spec's auth) keeps only that way's secrets
    stored = connection.credentials if connection.has_credentials else {}
    secret_names = [(name, stored.get(name) not in (None, ""))
                    for name in sorted(connector_cls.secret_field_names())] if connector_cls else []
    context = {
        "connection": connection,
        "connector": connector_cls,
        "auth_kind": connector_cls.auth_kind_for(connection.properties) if connector_cls else "",
        # the spec has its own card (Spec versions), laid out as written
        "properties": [(k, v) for k, v in visible_properties(connection)
                       if not (connector_cls and k == connector_cls.versioned_field)],
        "secret_names": secret_names,
        "flows": connection.flows.order_by("name"),
        "changes": connection.changes.select_related("user")[:CHANGES_SHOWN],
        "test": connection.tests.first(),
        "metadata_entries": metadata.cached_entries(connection),
        "metadata_max_age_minutes": settings.SLUICE_METADATA_MAX_AGE_SECONDS // 60,
        "spec_field": connector_cls.versioned_field if connector_cls else "",
        "spec_text": str(connection.properties.get(connector_cls.versioned_field) or "") if connector_cls
        and connector_cls.versioned_field else "",
        "versions_kept": services.SPEC_VERSIONS_KEPT,
        "spec_versions": connection.spec_versions.select_related("saved_by")[:services.SPEC_VERSIONS_KEPT],
    }
    return render(request, "connections/detail.html", context)


@require_POST
def connection_metadata_refresh(request: HttpRequest, name: str) -> HttpResponse:
    """"Refresh metadata" (AppFlow's ResetConnectorMetadataCache): forget the cached objects and
    fields; the next look in the wizard asks the service again."""
    connection = _connection_or_404(name)
    dropped = metadata.clear(connection)
    messages.success(request, f"Forgot {dropped} cached list{'s' if dropped != 1 else ''} of objects and "
                              "fields: the next flow you build or edit asks the service again.")
    return redirect("connections:detail", connection.name)


def form_page(request, form, connector_cls, *, connection=None, errors=(), status=200, checked=False):
    """The connection form. `checked`: the page answers "Check spec" (nothing was saved)."""
    from connections.oauth.views import redirect_uri

    auth_kind = connector_cls.auth_kind_for(form.typed_properties(connection))
    oauth = auth_kind == "oauth2"
    # a connector whose connections choose (SAP OData: Basic or OAuth 2.0) says before the choice
    # where the consent page sends the person back
    oauth_offered = not oauth and "oauth2" in connector_cls.offered_auth_kinds()
    spec_problems, errors = spec_views.split_problems(connector_cls, list(errors))
    context = {
        "auth_kind": auth_kind,
        "spec_problems": spec_problems,
        "spec_checked": checked,
        "spec_field": connector_cls.versioned_field,
        "form": form,
        "connector": connector_cls,
        "connection": connection,
        "errors": list(errors),
        "total": Connection.objects.count(),
        "limit": settings.SLUICE_MAX_CONNECTIONS,
        "oauth": oauth,
        "oauth_offered": oauth_offered,
        "redirect_uri": redirect_uri(request, connector_cls.key()) if oauth or oauth_offered else "",
        "next_url": safe_next(request),
    }
    return render(request, "connections/form.html", context, status=status)


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def connection_create(request: HttpRequest, key: str) -> HttpResponse:
    connector_cls = _connector_or_404(key)
    if request.method == "GET":
        # Plain settings may come in the query (the OAuth "try again" link); secrets never do.
        plain = {f.name for f in connector_cls.config_fields if not f.secret}
        plain |= {NAME_FIELD, "connection_mode"}
        initial = {k: v for k, v in request.GET.items() if k in plain}
        if request.GET.get("copy"):
            source = _connection_or_404(request.GET["copy"])
            initial = {**services.copy_settings(source), "connection_mode": source.connection_mode,
                       NAME_FIELD: f"{source.name}-copy"}
        return form_page(request, ConnectionForm(connector_cls, initial=initial), connector_cls)
    form = ConnectionForm(connector_cls, request.POST)
    if request.POST.get(spec_views.CHECK):
        return check_spec_page(request, form, connector_cls)
    if not form.is_valid():
        return form_page(request, form, connector_cls, status=400)
    if connector_cls.auth_kind != "oauth2" and connector_cls.auth_kind_for(form.properties()) == "oauth2":
        # The typed spec says OAuth 2.0 (Generic REST): on to the consent page, as the OAuth form does.
        from connections.oauth.views import oauth_start

        return oauth_start(request, key)
    try:
        connection = services.create_connection(
            name=form.cleaned_data[NAME_FIELD],
            connector_type=connector_cls.connector_type,
            connector_label=connector_cls.connector_label,
            connection_mode=form.cleaned_data["connection_mode"],
            properties=form.properties(),
            credentials=form.credentials(),
            user=request.user,
            address=client_address(request),
        )
    except UserError as exc:
        return form_page(request, form, connector_cls, errors=exc.errors, status=400)
    messages.success(request, f'The connection "{connection.name}" works and was saved.')
    back = safe_next(request)
    if back:
        # Back where the person came from (the flow wizard), with the new connection chosen.
        return redirect(f"{back}{'&' if '?' in back else '?'}{urlencode({'connection': connection.name})}")
    return redirect("connections:detail", connection.name)


def safe_next(request: HttpRequest) -> str:
    """The `next` of the query when it is a path on this site (never another host: no open redirect)."""
    target = request.GET.get("next", "")
    if (target.startswith("/") and not target.startswith("//") and "\\" not in target
            and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})):
        return target
    return ""


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def connection_edit(request: HttpRequest, name: str) -> HttpResponse:
    connection = _connection_or_404(name)
    connector_cls = _connector_or_404(connection.connector_key)
    if request.method == "GET":
        initial = {**connection.properties, "connection_mode": connection.connection_mode}
        form = ConnectionForm(connector_cls, initial=initial, editing=True)
        return form_page(request, form, connector_cls, connection=connection)
    form = ConnectionForm(connector_cls, request.POST, editing=True)
    if request.POST.get(spec_views.CHECK):
        return check_spec_page(request, form, connector_cls, connection)
    if not form.is_valid():
        return form_page(request, form, connector_cls, connection=connection, status=400)
    if (connector_cls.auth_kind_for(form.properties()) == "oauth2"
            and connector_cls.auth_kind_for(connection.properties) != "oauth2"):
        # Switched to OAuth 2.0: no token to test with yet, so on to the consent page, as a new
        # connection goes; the edit is saved once authorized.
        from connections.oauth.views import oauth_switch

        return oauth_switch(request, connector_cls, connection, form)
    try:
        connection = services.update_connection(
            connection,
            properties=form.properties(),
            new_secrets=form.credentials(),
            connection_mode=form.cleaned_data["connection_mode"],
            user=request.user,
            address=client_address(request),
        )
    except UserError as exc:
        return form_page(request, form, connector_cls, connection=connection, errors=exc.errors, status=400)
    if connection.status == Connection.Status.NEEDS_REAUTHORIZATION:
        messages.warning(request, f'The connection "{connection.name}" was updated. '
                                  f"{connection.status_message} Choose Re-authorize to connect it at the "
                                  "new address.")
    else:
        messages.success(request, f'The connection "{connection.name}" works and was updated.')
    return redirect("connections:detail", connection.name)


def check_spec_page(request, form, connector_cls, connection=None) -> HttpResponse:
    """ "Check spec": the spec's problems beside the editor, or that it has none; nothing is saved
    or tested, and the other fields keep what was typed (secrets excepted, never echoed)."""
    if not connector_cls.versioned_field:
        return form_page(request, form, connector_cls, connection=connection, status=400)
    # Shown again as typed, but unbound: the other fields are not judged by a check of the spec.
    plain = {f.name for f in connector_cls.config_fields if not f.secret} | {NAME_FIELD, "connection_mode"}
    form = ConnectionForm(connector_cls, initial={k: v for k, v in request.POST.items() if k in plain},
                          editing=connection is not None)
    problems = spec_views.check(connector_cls, str(request.POST.get(connector_cls.versioned_field) or ""))
    return form_page(request, form, connector_cls, connection=connection, errors=problems, checked=True,
                     status=200)


@require_http_methods(["GET", "POST"])
def connection_delete(request: HttpRequest, name: str) -> HttpResponse:
    connection = _connection_or_404(name)
    flows = list(connection.flows.order_by("name"))
    errors: list[str] = []
    if request.method == "POST":
        try:
            suspended = services.delete_connection(
                connection, force=bool(request.POST.get("force")), user=request.user,
                address=client_address(request),
            )
        except UserError as exc:
            errors = exc.errors
        else:
            note = f" These flows are suspended: {', '.join(suspended)}." if suspended else ""
            messages.success(request, f'The connection "{name}" was deleted.{note}')
            return redirect("connections:list")
    context = {"connection": connection, "flows": flows, "errors": errors,
               "cancel_url": reverse("connections:detail", args=[connection.name])}
    return render(request, "connections/delete.html", context, status=409 if errors else 200)


@require_POST
def connection_test(request: HttpRequest, name: str) -> HttpResponse:
    connection = _connection_or_404(name)
    test = services.start_connection_test(connection, user=request.user)
    if request.htmx:
        return render(request, "connections/_test.html", {"connection": connection, "test": test})
    return redirect("connections:detail", connection.name)


def connection_test_status(request: HttpRequest, name: str, test_id) -> HttpResponse:
    connection = _connection_or_404(name)
    test = get_object_or_404(ConnectionTest, pk=test_id, connection=connection)
    response = render(request, "connections/_test.html", {"connection": connection, "test": test})
    if test.done and request.htmx:
        # The status badge and "last test" facts changed too: reload the facts card.
        response["HX-Trigger"] = "connection-tested"
    return response


def connection_facts(request: HttpRequest, name: str) -> HttpResponse:
    connection = _connection_or_404(name)
    return render(request, "connections/_facts.html", {"connection": connection})
