"""Infor Nexus (source): purchase orders, invoices, packing lists (shipments), parties and any other
object type of its REST API (custom `$...` types included), with HMAC_1 request signing
(signing.py) and limit/offset paging (client.py).

Records are JSON documents: their `__metadata` gives `uid` (the key), `createTimestamp` and
`modifyTimestamp` (incremental runs: pushed down as OQL on modifyTimestamp); every other top-level
value is kept as the API sent it, as text (objects and lists as JSON text, so amounts stay exact)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import pyarrow as pa

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
from connections.connectors.saas import TEXT_TIME_ARROW_TYPES, VALUE_OPERATORS, SaasConnector

from .client import InforNexusApi, api_base

OPERATORS = ("PROJECTION", "BETWEEN", "EQUAL_TO", *VALUE_OPERATORS)  # AppFlow's InforNexusConnectorOperator
OBJECTS = {"OrderDetail": "Purchase orders", "InvoiceDetail": "Invoices",
           "PackingListDetail": "Shipments (packing lists)", "Party": "Parties"}
METADATA = (("uid", "string"), ("createTimestamp", "datetime"), ("modifyTimestamp", "datetime"))
TIME_FIELD = "modifyTimestamp"
_OBJECT = re.compile(r"^\$?[A-Za-z][A-Za-z0-9_]{0,99}$")


def oql_time(when: datetime) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def window_oql(window: Window) -> str:
    """The window as OQL on modifyTimestamp (start inclusive, end exclusive); 1=1 when open."""
    if window.is_open:
        return "1=1"
    if (window.field or TIME_FIELD) != TIME_FIELD:
        raise ConnectorError(f'The incremental timestamp field "{window.field}" (incrementalPullConfig.'
                             f"datetimeTypeFieldName) cannot be queried: use {TIME_FIELD}.")
    parts = []
    if window.start is not None:
        parts.append(f"{TIME_FIELD} >= '{oql_time(window.start)}'")
    if window.end is not None:
        parts.append(f"{TIME_FIELD} < '{oql_time(window.end)}'")
    return " AND ".join(parts)


def flatten(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as one row: the __metadata values first, the rest as text."""
    meta = record.get("__metadata") if isinstance(record.get("__metadata"), dict) else {}
    row: dict[str, Any] = {name: None if meta.get(name) is None else str(meta[name])
                           for name, _ in METADATA}
    for key, value in record.items():
        if key == "__metadata" or key in row:
            continue
        if value is None or isinstance(value, str):
            row[key] = value
        else:
            row[key] = json.dumps(value, ensure_ascii=False)
    return row


class InforNexusConnector(SaasConnector):
    """Infor Nexus as a source (AppFlow: source only)."""

    connector_type: ClassVar[str] = "Infornexus"  # AppFlow's enum spelling; the properties key differs
    properties_key: ClassVar[str] = "InforNexus"
    display_name: ClassVar[str] = "Infor Nexus"
    description: ClassVar[str] = (
        "Infor Nexus: purchase orders, invoices, packing lists, parties and any other object type of its "
        "REST API, with HMAC-signed requests. Incremental runs use modifyTimestamp."
    )
    can_be_source: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "api_key"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("accessKeyId", "string", "Access key ID", secret=True,
                    help="From your Infor Nexus administrator. Stored encrypted with the secrets."),
        ConfigField("userId", "string", "User ID", secret=True,
                    help="The Infor Nexus user the key belongs to. Stored encrypted with the secrets."),
        ConfigField("secretAccessKey", "secret", "Secret access key", secret=True,
                    help="Signs every request; never sent. Stored encrypted; Sluice never shows it again."),
        ConfigField("datakey", "secret", "Data key", secret=True,
                    help="Your application's data key. Stored encrypted."),
        ConfigField("instanceUrl", "string", "Instance",
                    help="Your Infor Nexus subdomain (the network of network.gtnexus.com) or address, e.g. "
                         "https://network.infornexus.com (the REST API is under /rest/3.1).",
                    sends_credentials_to=True),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    fastest_schedule_minutes: ClassVar[int] = 1  # AppFlow: up to one run a minute
    filter_operators: ClassVar[tuple[str, ...]] = OPERATORS

    @classmethod
    def check_source_values(cls, props: Mapping[str, Any]) -> list[tuple[str, str]]:
        name = props.get("object")
        if not isinstance(name, str) or not _OBJECT.match(name):
            return [("object", "must be an Infor Nexus object type, e.g. OrderDetail, InvoiceDetail, "
                               "PackingListDetail, Party or a custom $Type")]
        return []

    @classmethod
    def check_connection_properties(cls, properties: Mapping[str, Any]) -> list[str]:
        try:
            api_base(properties)
        except ConnectorError as exc:
            return [exc.message]
        return []

    def test(self, conn: ConnectionInfo) -> None:
        InforNexusApi(conn).get("OrderDetail/query", {"oql": "1=1", "limit": 1, "offset": 0},
                                "the purchase orders (OrderDetail)")

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        return [Entity(name, f"{label} [{name}]") for name, label in OBJECTS.items()]

    def _columns(self, api: InforNexusApi, entity: str) -> list[tuple[str, str]]:
        """The object's fields: the metadata ones, then every top-level key of a first page."""
        if not _OBJECT.match(entity or ""):
            raise MissingAtSource(f'"{entity[:80]}" is not an Infor Nexus object type.', entity=entity)
        body = api.get(f"{entity}/query", {"oql": "1=1", "limit": 20, "offset": 0}, f"{entity} (its fields)")
        rows = body.get("result") if isinstance(body, dict) else None
        columns = dict(METADATA)
        for record in rows if isinstance(rows, list) else []:
            for key in flatten(record) if isinstance(record, dict) else {}:
                columns.setdefault(key, "string")
        return list(columns.items())

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        return [EntityField(name, data_type, nullable=name != "uid", primary_key=name == "uid",
                            filter_operators=self.filter_operators,
                            timestamp_for_incremental=name == TIME_FIELD)
                for name, data_type in self._columns(InforNexusApi(conn), entity)]

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        api = InforNexusApi(conn)
        oql = window_oql(window)
        types = dict(METADATA)
        names = list(fields) if fields else [n for n, _ in self._columns(api, entity)]
        schema = pa.schema([(n, TEXT_TIME_ARROW_TYPES[types.get(n, "string")]) for n in names])
        for rows in api.query(entity, oql, entity):
            flat = [flatten(r) for r in rows]
            table = pa.Table.from_pylist([{n: f.get(n) for n in names} for f in flat], schema=schema)
            yield SourceBatch(table=table, bytes_read=len(json.dumps(rows, ensure_ascii=False).encode()))
