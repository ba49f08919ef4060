"""Where a run reads, writes and puts refused records: the flow document's connector settings
turned into engine Endpoints with the decrypted connection (OAuth tokens refreshed first). The run,
the wizard's preview and a retry of rejected records all find their connections this one way."""

from __future__ import annotations

from connections.connectors import rejects as rejected
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.connectors.registry import get_connector, resolve_key
from connections.models import Connection
from connections.oauth.tokens import runtime_info
from flows.engine import Endpoint


def endpoint(config: dict) -> Endpoint:
    key = resolve_key(config["connectorType"], config.get("connectorLabel"))
    name = config.get("connectorProfileName")
    if name:
        connection = Connection.objects.filter(name=name).first()
        if connection is None:
            raise ConnectorError(f'The connection "{name}" no longer exists. Create it again, then rerun.')
        info = runtime_info(connection)  # OAuth tokens refreshed before they expire
    else:
        info = ConnectionInfo(name="", connector_type=config["connectorType"], label=key)
    return Endpoint(connector=get_connector(key), connection=info)


def rejects_endpoint(destination_config: dict, destination: Endpoint) -> Endpoint | None:
    """Where refused records go (see connections/connectors/rejects.py), or None."""
    props = next(iter((destination_config.get("destinationConnectorProperties") or {}).values()), None)
    config = props.get("errorHandlingConfig") if isinstance(props, dict) else None
    if not rejected.wanted(config):
        return None
    name = config.get("connectorProfileName")
    if name:
        connection = Connection.objects.filter(name=name).first()
        if connection is None or connection.connector_key not in rejected.REJECT_CONNECTORS:
            raise ConnectorError(
                f'errorHandlingConfig.connectorProfileName: "{name}" is not an S3 or Local files connection.'
            )
        return Endpoint(get_connector(connection.connector_key), connection.info())
    if destination.connector.key() in rejected.REJECT_CONNECTORS:
        return destination
    return Endpoint(get_connector("S3"), ConnectionInfo(name="", connector_type="S3"))
