"""The one explicit list of connectors: registry key -> dotted path, imported lazily.

The key is AppFlow's connectorType, or the connectorLabel for connectors that AppFlow models as
`CustomConnector`. Adding a connector means adding a line here; nothing is discovered by scanning.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

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


def connector_keys() -> list[str]:
    return list(CONNECTORS)


@cache
def get_connector_class(key: str) -> type[Connector]:
    try:
        dotted = CONNECTORS[key]
    except KeyError:
        known = ", ".join(sorted(CONNECTORS))
        raise ConnectorError(f'Unknown connector "{key}". Known connectors: {known}.') from None
    module_name, _, class_name = dotted.rpartition(".")
    return getattr(import_module(module_name), class_name)


def get_connector(key: str) -> Connector:
    return get_connector_class(key)()


def resolve_key(connector_type: str, connector_label: str | None = None) -> str:
    """The registry key for a document's connectorType (+ connectorLabel for CustomConnector)."""
    if connector_type == "CustomConnector":
        if not connector_label:
            raise ConnectorError("A CustomConnector needs a connectorLabel (for example LocalFiles).")
        return connector_label
    return connector_type
