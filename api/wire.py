"""restJson1 in and out: the request's members gathered from the body, the URI and the query
string, checked against the operation's input shape (unknown members, wrong types, required,
lengths and list/map sizes); AppFlow's error body and x-amzn-ErrorType header on the way out.

Messages name the member's path and what to do; they never echo a value, which may be a secret."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qs

from botocore.model import OperationModel, Shape
from django.http import HttpResponse

from api.service_model import error_statuses

MAX_BODY_BYTES = 1024 * 1024
JSON_TYPES = {
    "string": "a string", "integer": "a whole number", "long": "a whole number", "boolean": "true or false",
    "double": "a number", "float": "a number", "timestamp": "epoch seconds (a number)",
    "structure": "a JSON object", "map": "a JSON object", "list": "a JSON list", "blob": "a base64 string",
}


class ApiError(Exception):
    """An error in AppFlow's shape: `code` is the error shape's name (its HTTP status comes from
    the model), `message` what went wrong and what to do."""

    def __init__(self, code: str, message: str, *, status: int | None = None, headers: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or error_statuses().get(code, 400)
        self.headers = headers or {}


def invalid(*problems: str) -> ApiError:
    return ApiError("ValidationException", "; ".join(problems))


def json_response(data: Any, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(data, ensure_ascii=False), status=status,
                            content_type="application/json")
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def error_response(error: ApiError) -> HttpResponse:
    # botocore reads the code from x-amzn-ErrorType, and raises client.exceptions.<code>.
    return json_response({"message": error.message}, error.status,
                         {"x-amzn-ErrorType": error.code, **error.headers})


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise invalid("The request body is not UTF-8 text. Send JSON encoded as UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise invalid(f"The request body is not valid JSON: {exc.msg} at line {exc.lineno}, "
                      f"column {exc.colno}.") from None
    except ValueError as exc:
        raise invalid(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(value, dict):
        raise invalid("The request body must be a JSON object of the operation's members.")
    return value


def request_members(operation: OperationModel, body: dict[str, Any], labels: dict[str, str],
                    query: str) -> dict[str, Any]:
    """The operation's input: body members, plus the members the model places in the URI or the
    query string (ListTagsForResource's resourceArn, UntagResource's tagKeys)."""
    shape = operation.input_shape
    if shape is None:
        return {}
    params = dict(body)
    values = parse_qs(query, keep_blank_values=True)
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            params[name] = labels.get(wire, "")
        elif location == "querystring" and wire in values:
            params[name] = values[wire] if member.type_name == "list" else values[wire][-1]
        elif location == "header":
            params.pop(name, None)
    return params


def validate(shape: Shape | None, value: Any, path: str = "") -> list[str]:
    """Problems with `value` against `shape`, each naming the member's path."""
    if shape is None:
        return [] if value in ({}, None) else ["This operation takes no members."]
    where = path or "The request"
    kind = shape.type_name
    ok = {
        "structure": isinstance(value, dict), "map": isinstance(value, dict), "list": isinstance(value, list),
        "string": isinstance(value, str), "blob": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "long": isinstance(value, int) and not isinstance(value, bool),
        "double": isinstance(value, int | float) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "timestamp": isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value),
    }.get(kind, True)
    if not ok:
        return [f"{where}: must be {JSON_TYPES.get(kind, kind)}."]
    problems: list[str] = []
    limits = shape.metadata
    if kind == "structure":
        members = shape.members
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(f"{_join(path, name)}: is required.")
        for name, item in value.items():
            if name not in members:
                known = ", ".join(members) or "none"
                problems.append(f"{_join(path, name)}: is not a member of {shape.name} "
                                f"(its members: {known}).")
            elif item is not None:
                problems += validate(members[name], item, _join(path, name))
    elif kind == "list":
        problems += _size(where, len(value), limits, "items")
        for index, item in enumerate(value):
            problems += validate(shape.member, item, f"{path}[{index}]")
    elif kind == "map":
        problems += _size(where, len(value), limits, "entries")
        for key, item in value.items():
            problems += validate(shape.key, key, f"{path} key")
            problems += validate(shape.value, item, f"{path}.{key}")
    elif kind == "string":
        problems += _size(where, len(value), limits, "characters")
        if shape.enum and value not in shape.enum:
            problems.append(f"{where}: must be one of {', '.join(shape.enum)}.")
    elif kind in ("integer", "long") and (
        ("min" in limits and value < limits["min"]) or ("max" in limits and value > limits["max"])
    ):
        problems.append(f"{where}: must be from {limits.get('min', '')} to {limits.get('max', '')}.")
    return problems


def _size(where: str, size: int, limits: dict, unit: str) -> list[str]:
    if "min" in limits and size < limits["min"]:
        return [f"{where}: must have at least {limits['min']} {unit}."]
    if "max" in limits and size > limits["max"]:
        return [f"{where}: must have at most {limits['max']} {unit}."]
    return []


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
