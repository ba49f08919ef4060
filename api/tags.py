"""Tags of flows and connections, by ARN (TagResource, UntagResource, ListTagsForResource; the CLI's
tag verbs call these too). A flow's tags live in its document, so tagging saves a new version
through the flow service; a connection's live in ConnectionTag. AppFlow's rules: at most 50 tags,
keys 1-128 characters not starting with "aws:", values at most 256."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django.db import transaction

from api.models import ConnectionTag
from api.service_model import service_model
from connections import services as connection_services
from connections.models import Connection
from console.errors import UserError
from flows import services as flow_services
from flows.cli.shapes import ARN_PREFIX
from flows.models import Flow

MAX_TAGS = 50


def resource(arn: str) -> Flow | Connection:
    kind, _, name = arn.removeprefix(ARN_PREFIX).partition("/")
    if not arn.startswith(ARN_PREFIX) or kind not in ("flow", "connectorprofile") or not name:
        raise UserError(f'resourceArn: "{arn}" is not the ARN of a Sluice flow or connection '
                        f'({ARN_PREFIX}flow/NAME or {ARN_PREFIX}connectorprofile/NAME).')
    if kind == "flow":
        return flow_services.get_flow(name)
    return connection_services.get_connection(name)


def list_tags(arn: str) -> dict[str, str]:
    target = resource(arn)
    if isinstance(target, Flow):
        return dict(target.definition.get("tags") or {})
    return dict(ConnectionTag.objects.filter(connection=target).values_list("key", "value"))


@cache
def _patterns() -> tuple[re.Pattern, re.Pattern]:
    """AppFlow's TagKey and TagValue patterns, from the service model."""
    model = service_model()
    return (re.compile(model.shape_for("TagKey").metadata["pattern"]),
            re.compile(model.shape_for("TagValue").metadata["pattern"]))


def _check(tags: dict[str, Any]) -> None:
    errors = []
    key_pattern, value_pattern = _patterns()
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:") or not key_pattern.fullmatch(key):
            errors.append(f'tags: the key "{key[:40]}" must be 1-128 letters, digits and + - = . _ : / '
                          'and not start with "aws:".')
        if not isinstance(value, str) or len(value) > 256 or not value_pattern.fullmatch(value):
            errors.append(f"tags.{key[:40]}: the value must be at most 256 letters, digits, spaces "
                          "and _ . : / = + - @.")
    if len(tags) > MAX_TAGS:
        errors.append(f"tags: a resource has at most {MAX_TAGS} tags; this would make {len(tags)}.")
    if errors:
        raise UserError(*errors)


@transaction.atomic
def tag(arn: str, tags: dict[str, str], *, user=None) -> None:
    target = resource(arn)
    merged = {**list_tags(arn), **tags}
    _check(merged)
    _save(target, merged, user)


@transaction.atomic
def untag(arn: str, keys: list[str], *, user=None) -> None:
    target = resource(arn)
    current = list_tags(arn)
    remaining = {k: v for k, v in current.items() if k not in set(keys)}
    if remaining != current:
        _save(target, remaining, user)


def _save(target: Flow | Connection, tags: dict[str, str], user) -> None:
    if isinstance(target, Flow):
        document = {k: v for k, v in target.definition.items() if k != "tags"}
        if tags:
            document["tags"] = tags
        flow_services.update_flow(target, document, user=user)
        return
    ConnectionTag.objects.filter(connection=target).exclude(key__in=list(tags)).delete()
    for key, value in tags.items():
        ConnectionTag.objects.update_or_create(connection=target, key=key, defaults={"value": value})


def tag_resource(options: dict[str, Any]) -> None:
    tag(options["resource_arn"], options["tags"] or {}, user=options.get("user"))


def untag_resource(options: dict[str, Any]) -> None:
    untag(options["resource_arn"], list(options["tag_keys"] or []), user=options.get("user"))


def list_tags_for_resource(options: dict[str, Any]) -> dict[str, Any]:
    return {"tags": list_tags(options["resource_arn"])}
