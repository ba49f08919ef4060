"""Read-only connection pages. Credentials are never read here: only whether they are set."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from connections import services
from connections.connectors.base import ConnectorError
from connections.connectors.registry import get_connector_class
from connections.models import Connection
from console.errors import NotFound

PAGE_SIZE = 50


def connection_list(request: HttpRequest) -> HttpResponse:
    connections = Connection.objects.annotate(flow_count=Count("flows")).order_by("name")
    page = Paginator(connections, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "connections/list.html", {"page": page, "connections": page.object_list})


def visible_properties(connection: Connection) -> list[tuple[str, object]]:
    """The plain properties, minus anything the connector calls secret: secrets belong in the
    encrypted credentials, but a property saved by hand must not leak one either."""
    try:
        secret = get_connector_class(connection.connector_key).secret_field_names()
    except ConnectorError:
        secret = frozenset()
    return [(key, value) for key, value in sorted(connection.properties.items()) if key not in secret]


def connection_detail(request: HttpRequest, name: str) -> HttpResponse:
    try:
        connection = services.get_connection(name)
    except NotFound as exc:
        raise Http404(exc.errors[0]) from None
    context = {
        "connection": connection,
        "properties": visible_properties(connection),
        "flows": connection.flows.order_by("name"),
    }
    return render(request, "connections/detail.html", context)
