"""Sample Helpdesk tickets, read through the Sluice connector SDK.

Everything comes from `sluice_sdk`: the interface, and `request`, Sluice's guarded HTTP client
(SSRF checks on every hop, each call counted as the run's API calls). A connector that opened
its own sockets would bypass both."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

import pyarrow as pa

from sluice_sdk import (
    ConfigField,
    ConnectionInfo,
    Connector,
    ConnectorError,
    Entity,
    EntityField,
    MissingAtSource,
    SourceBatch,
    Window,
    request,
)

PAGE_SIZE = 50
FIELDS = (
    EntityField("id", "string", nullable=False, primary_key=True, filter_operators=("EQUAL_TO",)),
    EntityField("subject", "string"),
    EntityField("status", "string", filter_operators=("EQUAL_TO",)),
    EntityField("priority", "integer"),
    EntityField("updated_at", "datetime", timestamp_for_incremental=True),
)
ARROW = {"string": pa.string(), "integer": pa.int64(), "datetime": pa.string()}


class SampleHelpdeskConnector(Connector):
    """Tickets of a Sample Helpdesk account (source only)."""

    connector_type: ClassVar[str] = "CustomConnector"
    connector_label: ClassVar[str] = "SampleHelpdesk"
    properties_key: ClassVar[str] = "CustomConnector"
    requires_sdk: ClassVar[str] = "1.0"
    display_name: ClassVar[str] = "Sample Helpdesk"
    description: ClassVar[str] = "Tickets from a Sample Helpdesk account, read with its API key."
    can_be_source: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "api_key"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("instanceUrl", "url", "Helpdesk address",
                    help="Your helpdesk's address, e.g. https://acme.helpdesk.example/.",
                    sends_credentials_to=True),
        ConfigField("apiKey", "secret", "API key", secret=True,
                    help="From the helpdesk's Settings > API. Stored encrypted; never shown again."),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    filter_operators: ClassVar[tuple[str, ...]] = ("PROJECTION", "EQUAL_TO", "NO_OP")
    pushdown_operators: ClassVar[tuple[str, ...]] = ("EQUAL_TO",)

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        if not isinstance(props, Mapping):
            return [("", "must be a JSON object")]
        if props.get("entityName") != "tickets":
            return [("entityName", "must be tickets (the one object Sample Helpdesk offers)")]
        return []

    def test(self, conn: ConnectionInfo) -> None:
        _get(conn, "api/v1/me", {})

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        return [Entity("tickets", "Tickets")]

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        if entity != "tickets":
            raise MissingAtSource(f'Sample Helpdesk has no object "{entity}"; it has tickets.', entity=entity)
        return list(FIELDS)

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        """Page through tickets by cursor; the window's start is sent as updated_since and an
        EQUAL_TO filter on status as status= (the engine re-applies both)."""
        described = {f.name: f for f in self.describe_entity(conn, entity)}
        names = fields or list(described)
        unknown = [n for n in names if n not in described]
        if unknown:
            raise MissingAtSource(f"tickets have no field {', '.join(unknown)}.", entity=entity,
                                  fields=unknown)
        schema = pa.schema([(n, ARROW[described[n].data_type]) for n in names])
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if window.start is not None:
            params["updated_since"] = window.start.isoformat()
        for f in filters:
            if f["field"] == "status" and f["operator"] == "EQUAL_TO" and f["values"]:
                params["status"] = f["values"][0]
        cursor = ""
        while True:
            page, size = _get(conn, "api/v1/tickets", {**params, **({"cursor": cursor} if cursor else {})})
            rows = page["tickets"]
            table = pa.Table.from_pylist([{n: r.get(n) for n in names} for r in rows], schema=schema)
            yield SourceBatch(table=table, bytes_read=size)
            cursor = page.get("next_cursor") or ""
            if not cursor:
                return


def _get(conn: ConnectionInfo, path: str, params: Mapping[str, Any]) -> tuple[Any, int]:
    base = str(conn.properties.get("instanceUrl") or "").rstrip("/") + "/"
    url = base + path + (f"?{urlencode(params)}" if params else "")
    response = request("GET", url, headers={"Authorization": f"Bearer {conn.credentials.get('apiKey', '')}",
                                            "Accept": "application/json"})
    if response.status == 401:
        raise ConnectorError("Sample Helpdesk refused the API key. Enter a current key (Settings > API).")
    if response.status == 429:
        wait = float(response.headers.get("retry-after") or 1)
        raise ConnectorError("Sample Helpdesk asked to slow down.", permanent=False, retry_after=wait)
    if not response.ok:
        raise ConnectorError(f"Sample Helpdesk answered HTTP {response.status} for {path}.",
                             permanent=response.status < 500)
    try:
        return json.loads(response.body), len(response.body)
    except ValueError:
        raise ConnectorError(f"Sample Helpdesk sent something that is not JSON for {path}: "
                             "check the helpdesk address.") from None
