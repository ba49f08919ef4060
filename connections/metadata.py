"""What a connection offers: its entities (objects, tables, folders) and their fields.

The wizard asks for these; a SaaS connector answers with API calls the user's quota pays for.
This is the one place the console asks, so caching and "Refresh fields" (AppFlow's
ResetConnectorMetadataCache) belong here.
"""

from __future__ import annotations

from connections.connectors.base import ConnectorError, Entity, EntityField
from connections.connectors.registry import get_connector
from connections.models import Connection
from connections.oauth.tokens import runtime_info


def entities(connection: Connection, parent: str | None = None, *, refresh: bool = False) -> list[Entity]:
    """The entities under `parent` (None: the top level). Raises ConnectorError with a message a
    person can act on."""
    connector = get_connector(connection.connector_key)
    return list(connector.list_entities(runtime_info(connection), parent))


def fields(connection: Connection, entity: str, *, refresh: bool = False) -> list[EntityField]:
    """The fields of one entity, with types and what the source can filter on."""
    if not entity:
        raise ConnectorError("Choose an object first.")
    connector = get_connector(connection.connector_key)
    return list(connector.describe_entity(runtime_info(connection), entity))
