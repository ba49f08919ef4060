"""Demo CRM: the CRM bundled with Sluice (demo_saas/, under /demo-saas/), reached like any SaaS:
OAuth 2.0 with PKCE, a bearer token, a paged REST API with a modified-since filter."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

import pyarrow as pa

from connections import net
from connections.connectors.base import (
    ConfigField,
    ConnectionInfo,
    ConnectorError,
    Entity,
    EntityField,
    MissingAtSource,
    SourceBatch,
    Window,
)
from connections.connectors.saas import TEXT_TIME_ARROW_TYPES, SaasConnector

PAGE_SIZE = 500


class _Api:
    """Calls for one connection; on a 401 it asks for fresh credentials once and retries."""

    def __init__(self, conn: ConnectionInfo):
        self.conn = conn
        self.base = str(conn.properties.get("instanceUrl") or "").rstrip("/") + "/"
        self.token = str(conn.credentials.get("accessToken") or "")

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        url = self.base + path + (f"?{urlencode(params)}" if params else "")
        response = self._send(url)
        if response.status == 401 and self.conn.refresh is not None:
            self.token = str(self.conn.refresh(self.token).get("accessToken") or "")
            response = self._send(url)
        if response.status == 401:
            raise ConnectorError(
                "The Demo CRM refused the access token. Authorize the connection again (Re-authorize)."
            )
        if response.status == 404:
            raise ConnectorError(f"The Demo CRM has no {path} here: check the Demo CRM address.")
        if not response.ok:
            raise ConnectorError(f"The Demo CRM answered HTTP {response.status} for {path}.",
                                 permanent=response.status < 500)
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(f"The Demo CRM sent something that is not JSON for {path}: "
                                 "check the Demo CRM address.") from None

    def _send(self, url: str) -> net.Response:
        return net.request("GET", url, headers={"Authorization": f"Bearer {self.token}",
                                                "Accept": "application/json"})


def _instance_url(properties: Mapping[str, Any]) -> str:
    return str(properties.get("instanceUrl") or "").rstrip("/") + "/"


class DemoCrmConnector(SaasConnector):
    """Accounts, Contacts and Opportunities from the bundled Demo CRM (source only)."""

    connector_type: ClassVar[str] = "CustomConnector"
    connector_label: ClassVar[str] = "DemoCRM"
    properties_key: ClassVar[str] = "CustomConnector"
    display_name: ClassVar[str] = "Demo CRM"
    description: ClassVar[str] = (
        "The small CRM bundled with Sluice (under /demo-saas/): accounts, contacts and opportunities "
        "behind a real OAuth 2.0 consent page. Try connecting a SaaS without an outside account."
    )
    can_be_source: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "oauth2"
    oauth_scopes: ClassVar[tuple[str, ...]] = ("crm.read",)
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("instanceUrl", "url", "Demo CRM address",
                    help="Where the Demo CRM runs: this Sluice's address (as in your browser's "
                         "address bar) followed by /demo-saas/.", sends_credentials_to=True),
        ConfigField("clientId", "string", "Client ID",
                    help="From the Demo CRM's developer settings (open /demo-saas/)."),
        ConfigField("clientSecret", "secret", "Client secret", secret=True,
                    help="From the same page. Stored encrypted; Sluice never shows it again."),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")

    entity_key: ClassVar[str] = "entityName"
    oauth_address = staticmethod(_instance_url)
    oauth_paths: ClassVar[tuple[str, str]] = ("oauth/authorize", "oauth/token")

    @classmethod
    def check_source_values(cls, props: Mapping[str, Any]) -> list[tuple[str, str]]:
        if not props.get("entityName"):
            return [("entityName", "is required (Accounts, Contacts or Opportunities)")]
        return []

    def test(self, conn: ConnectionInfo) -> None:
        self.require_authorized(conn)
        _Api(conn).get("api/v1/me")

    def _objects(self, conn: ConnectionInfo) -> list[dict]:
        return list(_Api(conn).get("api/v1/objects").get("objects") or [])

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        return [Entity(o["name"], o["name"]) for o in self._objects(conn)]

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        for obj in self._objects(conn):
            if obj["name"] == entity:
                return [
                    EntityField(f["name"], f["type"], nullable=f["name"] != "id",
                                primary_key=f["name"] == "id",
                                timestamp_for_incremental=f["name"] == "modified_at")
                    for f in obj["fields"]
                ]
        raise MissingAtSource(f'The Demo CRM has no object "{entity}". It has Accounts, Contacts and '
                              "Opportunities.", entity=entity)

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        """Page through the object; the window's start is pushed down as modified_since (the
        engine re-applies the window and every filter)."""
        described = self.describe_entity(conn, entity)
        names = fields or [f.name for f in described]
        types = {f.name: f.data_type for f in described}
        unknown = [n for n in names if n not in types]
        if unknown:
            raise MissingAtSource(f"{entity} has no field {', '.join(unknown)}.", entity=entity,
                                  fields=unknown)
        schema = pa.schema([(n, TEXT_TIME_ARROW_TYPES.get(types[n], pa.string())) for n in names])
        api = _Api(conn)
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if window.start is not None:
            params["modified_since"] = window.start.isoformat()
        cursor: int | None = 0
        while cursor is not None:
            page = api.get(f"api/v1/objects/{entity}", {**params, "cursor": cursor})
            rows = page.get("records") or []
            table = pa.Table.from_pylist([{n: r.get(n) for n in names} for r in rows], schema=schema)
            yield SourceBatch(table=table, bytes_read=table.nbytes)
            cursor = page.get("next_cursor")
