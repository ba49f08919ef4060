"""The one explicit list of connectors: registry key -> dotted path, imported lazily.

The key is AppFlow's connectorType, or the connectorLabel for connectors that AppFlow models as
`CustomConnector`. Adding a built-in connector means adding a line here; nothing is discovered by
scanning. The other connectors are the installed packages an admin registered
(connections/registrations.py, which plugs itself in with `use_registered` when Django starts):
a package that is installed but not registered is not a connector here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import import_module
from typing import NamedTuple

from .base import Connector, ConnectorError

CONNECTORS: dict[str, str] = {
    "LocalFiles": "connections.connectors.localfiles.LocalFilesConnector",
    "DemoCRM": "connections.connectors.democrm.DemoCrmConnector",
    "PostgreSQL": "connections.connectors.postgresql.PostgreSQLConnector",
    "MySQL": "connections.connectors.mysql.MySQLConnector",
    "S3": "connections.connectors.s3.S3Connector",
    "Redshift": "connections.connectors.redshift.RedshiftConnector",
    "Snowflake": "connections.connectors.snowflake.SnowflakeConnector",
    "Upsolver": "connections.connectors.upsolver.UpsolverConnector",
    "Salesforce": "connections.connectors.salesforce.SalesforceConnector",
    "Slack": "connections.connectors.slack.SlackConnector",
    "Zendesk": "connections.connectors.zendesk.ZendeskConnector",
    "Servicenow": "connections.connectors.servicenow.ServiceNowConnector",
    "Pardot": "connections.connectors.pardot.PardotConnector",
    "Googleanalytics": "connections.connectors.googleanalytics.GoogleAnalyticsConnector",
    "Marketo": "connections.connectors.marketo.MarketoConnector",
    "Amplitude": "connections.connectors.amplitude.AmplitudeConnector",
    "Singular": "connections.connectors.singular.SingularConnector",
    "Veeva": "connections.connectors.veeva.VeevaConnector",
    "SAPOData": "connections.connectors.sapodata.SAPODataConnector",
    "Datadog": "connections.connectors.datadog.DatadogConnector",
    "Dynatrace": "connections.connectors.dynatrace.DynatraceConnector",
    "Trendmicro": "connections.connectors.trendmicro.TrendMicroConnector",
    "Infornexus": "connections.connectors.infornexus.InforNexusConnector",
    "GenericREST": "connections.connectors.genericrest.GenericRestConnector",
    "EventBridge": "connections.connectors.eventbridge.EventBridgeConnector",
}


class Registered(NamedTuple):
    """The registered custom connectors: their labels in order, and a class by label (None when
    there is no such registration)."""

    labels: Callable[[], list[str]]
    load: Callable[[str], type[Connector] | None]


_registered: Registered | None = None  # none without Django (the engine's benchmarks, unit tests)


def use_registered(registered: Registered | None) -> None:
    global _registered
    _registered = registered


def connector_keys() -> list[str]:
    """The built-in connectors, then the registered ones."""
    custom = _registered.labels() if _registered else []
    return list(CONNECTORS) + [label for label in custom if label not in CONNECTORS]


def get_connector_class(key: str) -> type[Connector]:
    if key not in CONNECTORS and _registered is not None:
        cls = _registered.load(key)
        if cls is not None:
            return cls
    return _built_in(key)


@cache
def _built_in(key: str) -> type[Connector]:
    try:
        dotted = CONNECTORS[key]
    except KeyError:
        known = ", ".join(sorted(connector_keys()))
        raise ConnectorError(f'Unknown connector "{key}". Known connectors: {known}.') from None
    module_name, _, class_name = dotted.rpartition(".")
    return getattr(import_module(module_name), class_name)


# Tests that swap CONNECTORS forget the built-in classes imported so far this way.
get_connector_class.cache_clear = _built_in.cache_clear  # type: ignore[attr-defined]


def get_connector(key: str) -> Connector:
    return get_connector_class(key)()


def resolve_key(connector_type: str, connector_label: str | None = None) -> str:
    """The registry key for a document's connectorType (+ connectorLabel for CustomConnector)."""
    if connector_type == "CustomConnector":
        if not connector_label:
            raise ConnectorError("A CustomConnector needs a connectorLabel (for example LocalFiles).")
        return connector_label
    return connector_type
