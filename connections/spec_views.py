"""A connection's versioned text setting (Generic REST's spec, Connector.versioned_field) in the
console: "Check spec" on the connection form (validate, save nothing), its problems listed beside
the editor with their line numbers, and the export of the current spec or a kept version as a file.

A spec holds no secrets (genericrest/spec.py refuses one that does), so exporting it hands out
nothing the connection keeps encrypted; a spec that no longer passes today's checks (saved before
them) is not exported until it is edited and saved again."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.utils.text import slugify

from connections.connectors.base import Connector
from connections.models import Connection

CHECK = "check_spec"  # the name of the form's "Check spec" button
_LINE = re.compile(r"^line (\d+): (.*)$", re.DOTALL)


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str


def split_problems(connector_cls: type[Connector], errors: list[str]) -> tuple[list[Problem], list[str]]:
    """(problems of the versioned field, with their lines; every other error) from a list of errors
    as services give them ("spec: line 7: streams[0].paging.type: ...")."""
    name = connector_cls.versioned_field
    if not name:
        return [], list(errors)
    problems, others = [], []
    for error in errors:
        if not error.startswith(f"{name}: "):
            others.append(error)
            continue
        text = error.removeprefix(f"{name}: ")
        found = _LINE.match(text)
        problems.append(Problem(int(found.group(1)), found.group(2)) if found else Problem(None, text))
    return problems, others


def check(connector_cls: type[Connector], text: str) -> list[str]:
    """The versioned field's problems as services would report them, without saving or testing."""
    name = connector_cls.versioned_field
    return [p for p in connector_cls.check_connection_properties({name: text}) if p.startswith(f"{name}: ")]


def export(request: HttpRequest, name: str) -> HttpResponse:
    """The connection's spec as a file: the current one, or `?version=N` of those kept."""
    from connections.views import _connection_or_404, _connector_or_404

    connection: Connection = _connection_or_404(name)
    connector_cls = _connector_or_404(connection.connector_key)
    field = connector_cls.versioned_field
    if not field:
        raise Http404(f"A {connector_cls.display_name} connection has no spec to export.")
    number = request.GET.get("version", "")
    if number:
        if not number.isdigit():
            raise Http404("version: give the number of a kept version, e.g. ?version=2.")
        version = get_object_or_404(connection.spec_versions, number=int(number))
        text, suffix = version.text, f"-v{version.number}"
    else:
        text, suffix = str(connection.properties.get(field) or ""), ""
    if not text:
        raise Http404("This connection has no spec yet.")
    if check(connector_cls, text):
        return HttpResponse("This spec does not pass the checks Sluice makes today (it may hold a secret): "
                            "edit the connection, correct the spec and save it, then export.",
                            status=409, content_type="text/plain; charset=utf-8")
    is_json = text.lstrip().startswith("{")
    filename = f"{slugify(connection.name) or 'connection'}-spec{suffix}.{'json' if is_json else 'yaml'}"
    response = HttpResponse(text, content_type="application/json" if is_json else "application/yaml")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
