"""An OpenAPI 3.1 description of the API, generated from botocore's appflow service model (the
same model that routes and checks requests), so the two cannot disagree."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from botocore.model import OperationModel, Shape

from api.service_model import error_statuses, service_model

SCHEMA_REF = "#/components/schemas/"


def _schema(shape: Shape) -> dict[str, Any]:
    kind = shape.type_name
    limits = shape.metadata
    schema: dict[str, Any]
    if kind == "structure":
        schema = {
            "type": "object",
            "properties": {name: _ref(member) for name, member in shape.members.items()
                           if "location" not in member.serialization},
            "additionalProperties": False,
        }
        required = [name for name in shape.required_members
                    if "location" not in shape.members[name].serialization]
        if required:
            schema["required"] = required
    elif kind == "list":
        schema = {"type": "array", "items": _ref(shape.member)}
        schema |= {k: limits[m] for k, m in (("minItems", "min"), ("maxItems", "max")) if m in limits}
    elif kind == "map":
        schema = {"type": "object", "additionalProperties": _ref(shape.value)}
        sizes = (("minProperties", "min"), ("maxProperties", "max"))
        schema |= {k: limits[m] for k, m in sizes if m in limits}
    elif kind == "string":
        schema = {"type": "string"}
        if shape.enum:
            schema["enum"] = list(shape.enum)
        schema |= {k: limits[m] for k, m in (("minLength", "min"), ("maxLength", "max")) if m in limits}
    elif kind in ("integer", "long"):
        schema = {"type": "integer"}
        schema |= {k: limits[m] for k, m in (("minimum", "min"), ("maximum", "max")) if m in limits}
    elif kind in ("double", "float"):
        schema = {"type": "number"}
    elif kind == "boolean":
        schema = {"type": "boolean"}
    elif kind == "timestamp":
        schema = {"type": "number", "description": "epoch seconds"}
    else:  # blob
        schema = {"type": "string", "contentEncoding": "base64"}
    if shape.documentation and "description" not in schema:
        schema["description"] = _plain(shape.documentation)
    return schema


def _plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()[:500]


def _ref(shape: Shape) -> dict[str, str]:
    return {"$ref": SCHEMA_REF + shape.name}


def _collect(shape: Shape, found: dict[str, Shape]) -> None:
    if shape.name in found:
        return
    found[shape.name] = shape
    children = {
        "structure": lambda: list(shape.members.values()),
        "list": lambda: [shape.member],
        "map": lambda: [shape.key, shape.value],
    }.get(shape.type_name, list)()
    for child in children:
        _collect(child, found)


def _parameters(operation: OperationModel) -> list[dict[str, Any]]:
    shape = operation.input_shape
    parameters = []
    for name, member in (shape.members.items() if shape else []):
        location = member.serialization.get("location")
        if location in ("uri", "querystring", "header"):
            parameters.append({
                "name": member.serialization.get("name", name),
                "in": {"uri": "path", "querystring": "query", "header": "header"}[location],
                "required": location == "uri" or name in shape.required_members,
                "schema": _ref(member),
            })
    return parameters


def _operation(operation: OperationModel) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "operationId": operation.name,
        "summary": _plain(operation.documentation or "")[:200] or operation.name,
        "responses": {"200": {
            "description": "Success",
            "content": {"application/json": {"schema": _ref(operation.output_shape)}}
            if operation.output_shape else {"application/json": {"schema": {"type": "object"}}},
        }},
    }
    parameters = _parameters(operation)
    if parameters:
        entry["parameters"] = parameters
    shape = operation.input_shape
    if shape is not None and any("location" not in m.serialization for m in shape.members.values()):
        entry["requestBody"] = {"required": True,
                                "content": {"application/json": {"schema": _ref(shape)}}}
    by_status: dict[str, list[str]] = {}
    for error in operation.error_shapes:
        by_status.setdefault(str(error_statuses()[error.name]), []).append(error.name)
    for status, names in sorted(by_status.items()):
        schemas = [_ref(service_model().shape_for(name)) for name in names]
        entry["responses"][status] = {
            "description": ", ".join(names) + " (the x-amzn-ErrorType header names which)",
            "content": {"application/json": {
                "schema": schemas[0] if len(schemas) == 1 else {"oneOf": schemas}}},
        }
    return entry


@cache
def document() -> dict[str, Any]:
    model = service_model()
    paths: dict[str, dict[str, Any]] = {}
    shapes: dict[str, Shape] = {}
    for name in model.operation_names:
        operation = model.operation_model(name)
        path = operation.http["requestUri"].split("?")[0]
        paths.setdefault(path, {})[operation.http["method"].lower()] = _operation(operation)
        for shape in (operation.input_shape, operation.output_shape, *operation.error_shapes):
            if shape is not None:
                _collect(shape, shapes)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sluice: the Amazon AppFlow API",
            "version": model.api_version,
            "description": "Amazon AppFlow's API (botocore's appflow service model), served by Sluice. "
                           "Requests are signed with AWS Signature Version 4 for the service appflow. "
                           "See docs/api.md.",
        },
        "servers": [{"url": "/api/appflow"}],
        "security": [{"sigv4": []}],
        "paths": paths,
        "components": {
            "schemas": {name: _schema(shape) for name, shape in sorted(shapes.items())},
            "securitySchemes": {"sigv4": {
                "type": "apiKey", "in": "header", "name": "Authorization",
                "description": "AWS Signature Version 4 (AWS4-HMAC-SHA256) with a Sluice access key, "
                               "service appflow, region us-east-1.",
            }},
        },
    }
