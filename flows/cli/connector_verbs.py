"""Connector verbs: describe-connectors, describe-connector, list-connectors,
list-connector-entities, describe-connector-entity. What a connector is comes from its class
attributes (the registry); what a connection offers from connections/metadata.py."""

from __future__ import annotations

from typing import Any

from connections import metadata, registrations
from connections import services as connection_services
from connections.connectors.base import Connector, ConnectorError, EntityField
from connections.connectors.registry import CONNECTORS, connector_keys, get_connector_class
from console.errors import (
    ConnectorAuthenticationFailed,
    ConnectorServerFailed,
    NotFound,
    UserError,
)
from flows.cli import shapes
from flows.cli.paging import DEFAULT_MAX_RESULTS, decode_token, encode_token, request_fingerprint

CONNECTOR_VERSION = "1.0"
# AppFlow's field types, from Sluice's data types.
FIELD_TYPES = {"integer": "integer", "double": "double", "boolean": "boolean", "date": "date",
               "datetime": "datetime", "string": "string"}


def connector_arn(key: str) -> str:
    return f"{shapes.ARN_PREFIX}connector/{key}"


def connector_classes(connector_types: list[str] | None = None) -> list[type[Connector]]:
    """Every installed connector, in registry order; `connector_types` keeps those whose
    connectorType (or, for custom connectors, connectorLabel) is listed."""
    wanted = set(connector_types or ())
    classes = []
    for key in connector_keys():
        try:
            classes.append(get_connector_class(key))
        except ConnectorError:
            continue  # a registered package changed on disk: DescribeConnector says what to do
    return [c for c in classes
            if not wanted or c.connector_type in wanted or c.connector_label in wanted]


def connector_class(connector_type: str, connector_label: str | None = None) -> type[Connector]:
    if connector_type == "CustomConnector" and connector_label and connector_label not in CONNECTORS:
        try:
            return get_connector_class(connector_label)  # a registered package: why it cannot load
        except ConnectorError as exc:
            if registrations.ConnectorRegistration.objects.filter(connector_label=connector_label).exists():
                raise UserError(exc.message) from None
    for cls in connector_classes():
        if cls.connector_type == connector_type and (connector_type != "CustomConnector"
                                                     or cls.connector_label == connector_label):
            return cls
        if cls.connector_label and cls.connector_label == connector_type:
            return cls
    label = f" {connector_label}" if connector_label else ""
    raise NotFound(f"No connector {connector_type}{label}. ListConnectors shows the installed ones.")


def _registered(cls: type[Connector]) -> dict[str, Any]:
    """Who registered a package's connector, and which version: what AppFlow says of its custom
    connectors. Built-in connectors are Sluice's own, at CONNECTOR_VERSION."""
    if not cls.connector_label or cls.connector_label in CONNECTORS:
        return {"connectorOwner": "Sluice", "connectorVersion": CONNECTOR_VERSION}
    row = registrations.registration(cls.connector_label)
    return {"connectorOwner": row.package, "connectorVersion": row.version,
            "registeredAt": shapes.epoch(row.registered_at), "registeredBy": row.registered_by or None,
            "connectorDescription": row.description or cls.description}


def connector_detail(cls: type[Connector]) -> dict[str, Any]:
    return shapes.compact({
        "connectorDescription": cls.description,
        "connectorName": cls.display_name,
        **_registered(cls),
        "applicationType": cls.display_name,
        "connectorType": cls.connector_type,
        "connectorLabel": cls.connector_label or None,
        "connectorProvisioningType": "LAMBDA" if cls.connector_type == "CustomConnector" else None,
        "connectorModes": _modes(cls),
        "supportedDataTransferTypes": ["RECORD"],
    })


def _modes(cls: type[Connector]) -> list[str]:
    modes = (("SOURCE", cls.can_be_source), ("DESTINATION", cls.can_be_destination))
    return [mode for mode, ok in modes if ok]


def connector_configuration(cls: type[Connector]) -> dict[str, Any]:
    # every kind the connector's connections may use; none named (Generic REST): each
    # connection's spec chooses, so every kind is offered
    offered = cls.offered_auth_kinds()
    each = not offered
    return shapes.compact({
        "canUseAsSource": cls.can_be_source,
        "canUseAsDestination": cls.can_be_destination,
        "supportedTriggerTypes": list(cls.trigger_types),
        "supportedSchedulingFrequencies": ["BYMINUTE", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "ONCE"]
        if "Scheduled" in cls.trigger_types else None,
        "isPrivateLinkEnabled": False,
        "isPrivateLinkEndpointUrlRequired": False,
        "connectorType": cls.connector_type,
        "connectorLabel": cls.connector_label or None,
        "connectorDescription": cls.description,
        "connectorName": cls.display_name,
        **_registered(cls),
        "connectorArn": connector_arn(cls.key()),
        "connectorModes": _modes(cls),
        "authenticationConfig": {
            "isBasicAuthSupported": "basic" in offered or each,
            "isApiKeyAuthSupported": "api_key" in offered or each,
            "isOAuth2Supported": "oauth2" in offered or each,
            "isCustomAuthSupported": False,
        },
        # The connection's settings, with which are secret: the single source the console's form uses.
        "connectorRuntimeSettings": [
            shapes.compact({
                "key": field.name,
                "dataType": field.kind,
                "isRequired": field.required,
                "label": field.label or field.name,
                "description": field.help or None,
                "scope": "CONNECTOR_PROFILE",
                "connectorSuppliedValueOptions": list(field.choices) or None,
            })
            for field in cls.config_fields
        ],
        "supportedOperators": list(cls.filter_operators) or None,
        "supportedWriteOperations": list(cls.write_operations) or None,
        "supportedDataTransferTypes": ["RECORD"],
    })


def _page(items: list, key, options: dict[str, Any], operation: str,
          *filters: Any) -> tuple[list, str | None]:
    """A page of an in-memory list in a stable order (the registry's), with AppFlow's tokens."""
    fingerprint = request_fingerprint(operation, *filters)
    start = 0
    if options.get("next_token"):
        last = decode_token(options["next_token"], fingerprint)[0]
        keys = [key(item) for item in items]
        start = keys.index(last) + 1 if last in keys else len(items)
    size = options.get("max_results") or DEFAULT_MAX_RESULTS
    page = items[start:start + size]
    more = start + size < len(items)
    return page, encode_token(fingerprint, [key(page[-1])]) if more and page else None


def describe_connectors(options: dict[str, Any]) -> dict[str, Any]:
    types = options.get("connector_types") or []
    page, token = _page(connector_classes(types), Connector.key.__func__, options, "DescribeConnectors",
                        sorted(types))
    # connectorConfigurations is keyed by connectorType: the custom connectors (all "CustomConnector")
    # are told apart in `connectors`, by connectorLabel, as in AppFlow.
    configurations = {cls.connector_type: connector_configuration(cls) for cls in page
                      if cls.connector_type != "CustomConnector"}
    return shapes.compact({
        "connectorConfigurations": configurations,
        "connectors": [connector_detail(cls) for cls in page],
        "nextToken": token,
    })


def describe_connector(options: dict[str, Any]) -> dict[str, Any]:
    cls = connector_class(options["connector_type"], options.get("connector_label"))
    return {"connectorConfiguration": connector_configuration(cls)}


def list_connectors(options: dict[str, Any]) -> dict[str, Any]:
    page, token = _page(connector_classes(), Connector.key.__func__, options, "ListConnectors")
    return shapes.compact({"connectors": [connector_detail(cls) for cls in page], "nextToken": token})


def _connection(options: dict[str, Any]):
    name = options.get("connector_profile_name")
    if not name:
        raise UserError("connectorProfileName: is required: Sluice lists what one connection offers.")
    connection = connection_services.get_connection(name)
    wanted = options.get("connector_type")
    if wanted and wanted.lower() != connection.connector_type.lower():
        raise UserError(f'connectorType: the connection "{connection.name}" is {connection.connector_type}, '
                        f"not {wanted}.")
    return connection


def _connector_failed(exc: ConnectorError) -> UserError:
    # A permanent failure means the connection itself is broken (credentials refused, gone);
    # otherwise the application failed to answer and a retry may work.
    cls = ConnectorAuthenticationFailed if exc.permanent else ConnectorServerFailed
    return cls(exc.message)


def list_connector_entities(options: dict[str, Any]) -> dict[str, Any]:
    connection = _connection(options)
    parent = options.get("entities_path") or None
    try:
        entities = metadata.entities(connection, parent)
    except ConnectorError as exc:
        raise _connector_failed(exc) from None
    page, token = _page(entities, lambda e: e.name, options, "ListConnectorEntities", connection.name, parent)
    return shapes.compact({
        "connectorEntityMap": {"Objects": [
            shapes.compact({"name": e.name, "label": e.label or e.name, "hasNestedEntities": e.has_children})
            for e in page
        ]},
        "nextToken": token,
    })


def entity_field(field: EntityField, cls: type[Connector]) -> dict[str, Any]:
    return {
        "identifier": field.name,
        "label": field.name,
        "isPrimaryKey": field.primary_key,
        "supportedFieldTypeDetails": {"v1": shapes.compact({
            "fieldType": FIELD_TYPES.get(field.data_type, field.data_type),
            "filterOperators": list(field.filter_operators or cls.filter_operators),
        })},
        "sourceProperties": {
            "isRetrievable": True,
            "isQueryable": bool(field.filter_operators or cls.pushdown_operators),
            "isTimestampFieldForIncrementalQueries": field.timestamp_for_incremental,
        },
        "destinationProperties": {
            "isCreatable": cls.can_be_destination,
            "isNullable": field.nullable,
            "isUpsertable": field.upsert_key,
            "isUpdatable": cls.can_be_destination,
            "supportedWriteOperations": list(cls.write_operations),
        },
    }


def describe_connector_entity(options: dict[str, Any]) -> dict[str, Any]:
    connection = _connection(options)
    try:
        cls = get_connector_class(connection.connector_key)
        fields = metadata.fields(connection, options["connector_entity_name"])
    except ConnectorError as exc:
        raise _connector_failed(exc) from None
    return {"connectorEntityFields": [entity_field(field, cls) for field in fields]}
