"""AppFlow's wire contract, read from botocore's service model (appflow/2020-08-23), never typed by
hand: which operation a method + path is, the members each takes, and each error's HTTP status."""

from __future__ import annotations

import re
from functools import cache

import botocore.loaders
from botocore.model import OperationModel, ServiceModel

SERVICE = "appflow"


@cache
def service_model() -> ServiceModel:
    return ServiceModel(botocore.loaders.Loader().load_service_model(SERVICE, "service-2"), SERVICE)


@cache
def _routes() -> list[tuple[str, re.Pattern, str]]:
    """(method, path pattern, operation name); `{label}` becomes a named group for one segment
    (greedy `{label+}` may span slashes; no AppFlow path has one today)."""
    routes = []
    model = service_model()
    for name in model.operation_names:
        http = model.operation_model(name).http
        path = http["requestUri"].split("?")[0]
        escaped = re.escape(path).replace(r"\{", "{").replace(r"\}", "}")
        pattern = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", escaped)
        # A label is one path segment in the model, but botocore percent-encodes "/" in it
        # (%2F) and the server sees it decoded: an ARN label may hold slashes.
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>.+)", pattern)
        routes.append((http["method"], re.compile(f"^{pattern}$"), name))
    return routes


def route(method: str, path: str) -> tuple[OperationModel | None, dict[str, str], list[str]]:
    """The operation for `method` `path` (the path below /api/appflow), its URI labels, and the
    methods that path accepts (to tell "no such operation" from "wrong method")."""
    allowed = []
    for route_method, pattern, name in _routes():
        match = pattern.match(path)
        if match:
            if route_method == method:
                return service_model().operation_model(name), match.groupdict(), []
            allowed.append(route_method)
    return None, {}, allowed


@cache
def error_statuses() -> dict[str, int]:
    """Error code -> HTTP status, from the error shapes (ValidationException -> 400, ...)."""
    statuses = {}
    model = service_model()
    for name in model.shape_names:
        shape = model.shape_for(name)
        if shape.metadata.get("exception"):
            statuses[name] = shape.metadata.get("error", {}).get("httpStatusCode", 400)
    return statuses


def is_read_only(operation: OperationModel) -> bool:
    """Describe/List operations change nothing: a replayed signature there is harmless."""
    return operation.name.startswith(("Describe", "List"))
