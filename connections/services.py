"""State changes of connections. The only place that turns requests into Connection rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction

from connections.connectors.base import ConnectorError
from connections.connectors.registry import get_connector_class, resolve_key
from connections.models import Connection
from console.errors import Conflict, NotFound, QuotaExceeded, UserError


def split_profile_config(connector_type: str, config: Mapping[str, Any]) -> tuple[dict, dict]:
    """AppFlow's connectorProfileConfig -> (properties, credentials).

    Properties and credentials sit under a key named after the connector; custom connectors nest
    them once more (profileProperties, and credentialsMap or an auth-kind block)."""
    if not isinstance(config, Mapping):
        raise UserError("connectorProfileConfig: must be a JSON object")

    def block(name: str) -> dict:
        value = config.get(name) or {}
        if not isinstance(value, Mapping):
            raise UserError(f"connectorProfileConfig.{name}: must be a JSON object")
        if len(value) > 1:
            raise UserError(f"connectorProfileConfig.{name}: must have one key, the connector type")
        inner = next(iter(value.values()), {}) or {}
        if not isinstance(inner, Mapping):
            raise UserError(f"connectorProfileConfig.{name}.{next(iter(value))}: must be a JSON object")
        return dict(inner)

    properties = block("connectorProfileProperties")
    credentials = block("connectorProfileCredentials")
    if connector_type == "CustomConnector":
        properties = dict(properties.get("profileProperties") or {})
        custom = credentials.get("custom") or {}
        credentials = dict(custom.get("credentialsMap") or {}) or {
            k: v for k, v in credentials.items() if k != "authenticationType"
        }
        # Flatten oauth2 / basic / apiKey blocks: connectors name their secret fields directly.
        for kind in ("oauth2", "basic", "apiKey"):
            if isinstance(credentials.get(kind), Mapping):
                credentials.update(credentials.pop(kind))
    return properties, credentials


def check_fields(connector_cls, properties: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
    errors = []
    for field in connector_cls.config_fields:
        source = credentials if field.secret else properties
        if field.required and source.get(field.name) in (None, ""):
            errors.append(f"{field.name}: is required ({field.label or field.name})")
        if field.choices and source.get(field.name) not in (None, "", *field.choices):
            errors.append(f"{field.name}: must be one of {', '.join(field.choices)}")
    known = {f.name for f in connector_cls.config_fields}
    for name in [*properties, *credentials]:
        if name not in known:
            errors.append(f"{name}: is not a setting of the {connector_cls.display_name} connector")
    if errors:
        raise UserError(*errors)


@transaction.atomic
def create_connection(
    *,
    name: str,
    connector_type: str,
    connector_label: str = "",
    connection_mode: str = "Public",
    properties: Mapping[str, Any],
    credentials: Mapping[str, Any] | None = None,
    user=None,
) -> Connection:
    """Validate, test (as AppFlow does on create) and save a connection."""
    try:
        connector_cls = get_connector_class(resolve_key(connector_type, connector_label))
    except ConnectorError as exc:
        raise UserError(f"connectorType: {exc.message}") from None
    if not name or len(name) > 256:
        raise UserError("connectorProfileName: is required, at most 256 characters")
    if connection_mode not in Connection.Mode.values:
        raise UserError(f"connectionMode: must be Public or Private, not {connection_mode!r}")
    if Connection.objects.filter(name=name).exists():
        raise Conflict(f'A connection named "{name}" already exists.')
    if Connection.objects.count() >= settings.SLUICE_MAX_CONNECTIONS:
        raise QuotaExceeded(
            f"You have reached the limit of {settings.SLUICE_MAX_CONNECTIONS} connections. "
            "Delete one you no longer use, or raise SLUICE_MAX_CONNECTIONS."
        )
    credentials = dict(credentials or {})
    check_fields(connector_cls, properties, credentials)
    connection = Connection(
        name=name,
        connector_type=connector_type,
        connector_label=connector_label if connector_type == "CustomConnector" else "",
        connection_mode=connection_mode,
        properties=dict(properties),
        created_by=user,
    )
    connection.credentials = credentials
    try:
        connector_cls().test(connection.info())
    except ConnectorError as exc:
        raise UserError(f"The connection test failed: {exc.message}") from None
    connection.save()
    return connection


def get_connection(name: str) -> Connection:
    try:
        return Connection.objects.get(name=name)
    except Connection.DoesNotExist:
        raise NotFound(f'No connection named "{name}".') from None


@transaction.atomic
def delete_connection(connection: Connection, *, force: bool = False) -> None:
    users = list(connection.flows.values_list("name", flat=True))
    if users and not force:
        raise Conflict(
            f'The connection "{connection.name}" is used by the flows {", ".join(users)}. '
            "Delete those flows first, or force the delete (those flows are then suspended)."
        )
    for flow in connection.flows.all():
        flow.status = flow.Status.SUSPENDED
        flow.status_message = f'Its connection "{connection.name}" was deleted.'
        flow.save(update_fields=["status", "status_message", "updated_at"])
    connection.delete()
