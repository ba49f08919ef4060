"""Connector profile verbs: create-connector-profile, describe-connector-profiles,
delete-connector-profile, reset-connector-metadata-cache. Each takes the parsed options and
returns what to print."""

from __future__ import annotations

from typing import Any

from accounts import access
from connections import metadata, services
from connections.models import Connection
from console.errors import UserError
from flows.cli import shapes
from flows.cli.paging import keyset_page, request_fingerprint
from flows.cli.params import MAX_IDS, json_param


def profile_config(options: dict[str, Any]) -> Any:
    """The CLI gives connectorProfileConfig as JSON text (or file://); the HTTP API as a value."""
    config = options["connector_profile_config"]
    return json_param("--connector-profile-config", config) if isinstance(config, str) else config


def create_connector_profile(options: dict[str, Any]) -> dict[str, Any]:
    connector_type = options["connector_type"]
    properties, credentials = services.split_profile_config(connector_type, profile_config(options))
    connection = services.create_connection(
        name=options["connector_profile_name"],
        connector_type=connector_type,
        connector_label=options["connector_label"] or "",
        connection_mode=options["connection_mode"],
        properties=properties,
        credentials=credentials,
        user=options.get("user"),
    )
    return {"connectorProfileArn": shapes.connector_profile_arn(connection.name)}


def update_connector_profile(options: dict[str, Any]) -> dict[str, Any]:
    """The console's edit: the properties given replace the stored ones; secrets given replace
    theirs, secrets left out are kept (and a changed address clears them, as an edit does)."""
    connection = services.get_connection(options["connector_profile_name"])
    config = profile_config(options)
    properties, credentials = services.split_profile_config(connection.connector_type, config)
    connection = services.update_connection(
        connection,
        properties=properties,
        new_secrets=credentials,
        connection_mode=options.get("connection_mode"),
        user=options.get("user"),
    )
    return {"connectorProfileArn": shapes.connector_profile_arn(connection.name)}


def profile_for(user, connection: Connection) -> dict[str, Any]:
    """A connection as described; its settings only to those who may manage it ("use but not
    view": an Editor may name it in a flow without seeing where it points)."""
    profile = shapes.connector_profile(connection)
    if user is not None and not access.can(user, "manage_connection", connection):
        profile.pop("connectorProfileProperties", None)
    return profile


def describe_connector_profiles(options: dict[str, Any]) -> dict[str, Any]:
    names = options["connector_profile_names"] or []
    if len(names) > MAX_IDS:
        raise UserError(f"connectorProfileNames: at most {MAX_IDS} names at a time, not {len(names)}.")
    connections = Connection.objects.all()
    if options.get("user") is not None:
        connections = access.visible(options["user"], connections)
    if names:
        connections = connections.filter(name__in=names)
    if options["connector_type"]:
        connections = connections.filter(connector_type=options["connector_type"])
    if options["connector_label"]:
        connections = connections.filter(connector_label=options["connector_label"])
    page, token = keyset_page(
        connections,
        order=("name",),
        max_results=options["max_results"],
        next_token=options["next_token"],
        fingerprint=request_fingerprint(
            "DescribeConnectorProfiles", sorted(names), options["connector_type"], options["connector_label"]
        ),
    )
    return shapes.compact({
        "connectorProfileDetails": [profile_for(options.get("user"), connection) for connection in page],
        "nextToken": token,
    })


def delete_connector_profile(options: dict[str, Any]) -> None:
    connection = services.get_connection(options["connector_profile_name"])
    services.delete_connection(connection, force=bool(options["force_delete"]), user=options.get("user"))


def reset_connector_metadata_cache(options: dict[str, Any]) -> None:
    """Forget the connection's cached objects and fields (all of them, or only the fields of
    --connector-entity-name and/or the objects under --entities-path)."""
    connection = services.get_connection(options["connector_profile_name"])
    wanted_type = options.get("connector_type")
    if wanted_type and wanted_type.lower() != connection.connector_type.lower():
        raise UserError(f'connectorType: the connection "{connection.name}" is {connection.connector_type}, '
                        f"not {wanted_type}.")
    metadata.clear(connection, entity=options.get("connector_entity_name"),
                   parent=options.get("entities_path"))
