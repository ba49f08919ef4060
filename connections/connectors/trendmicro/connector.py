"""Trend Micro (source): Cloud One Workload Security or a Deep Security Manager through the Deep
Security API, with an API secret key (`api-secret-key` header, `api-version: v1`).

Computers, policies and anti-malware / intrusion-prevention / firewall events, each read with its
search endpoint paged by ID (client.py). Events' incremental windows are pushed down as a date range
on logDate (start inclusive, end exclusive); computers and policies have no time field to window on.
Dates arrive as epoch milliseconds and are written as ISO 8601 UTC text."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
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

from .client import REGIONS, TrendMicroApi, api_base
from .objects import OBJECTS, TrendObject

OPERATORS = ("PROJECTION", "EQUAL_TO", *VALUE_OPERATORS)  # AppFlow's TrendmicroConnectorOperator
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(when: datetime) -> int:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return (when - EPOCH) // timedelta(milliseconds=1)


def iso_time(value: Any) -> str | None:
    """Epoch milliseconds (the API's dates) as ISO 8601 UTC with milliseconds; None for the API's
    0 / null ("never")."""
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return None
    when = EPOCH + timedelta(milliseconds=int(value))
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def cell(value: Any, data_type: str) -> Any:
    if value is None:
        return None
    if data_type == "datetime":
        return iso_time(value)
    if data_type == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)  # tags, ruleIDs, spywareItems ...
    return str(value)


def window_criteria(obj: TrendObject, window: Window) -> list[dict]:
    """The incremental window as the API's date-range search criterion on the object's time field."""
    if window.is_open:
        return []
    field = window.field or obj.time_field
    if obj.time_field is None:
        raise ConnectorError(f"Trend Micro {obj.label.lower()} have no time field to read incrementally: run "
                             "the flow as a full (Complete) transfer, or read an events object.")
    if field != obj.time_field:
        raise ConnectorError(f'The incremental timestamp field "{field}" (incrementalPullConfig.'
                             f"datetimeTypeFieldName) cannot be searched on: use {obj.time_field}.")
    criterion: dict[str, Any] = {"fieldName": field}
    if window.start is not None:
        criterion.update(firstDate=epoch_ms(window.start), firstDateInclusive=True)
    if window.end is not None:
        criterion.update(lastDate=epoch_ms(window.end), lastDateInclusive=False)
    return [criterion]


class TrendMicroConnector(SaasConnector):
    """Trend Micro as a source (AppFlow: source only, at most one scheduled run an hour)."""

    connector_type: ClassVar[str] = "Trendmicro"
    properties_key: ClassVar[str] = "Trendmicro"
    display_name: ClassVar[str] = "Trend Micro"
    description: ClassVar[str] = (
        "Trend Micro Cloud One Workload Security (or Deep Security): computers, policies and anti-malware, "
        "intrusion prevention and firewall events. Incremental runs use the events' logDate."
    )
    can_be_source: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "api_key"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("apiSecretKey", "secret", "API secret key", secret=True,
                    help="Cloud One: Administration > API Keys. Stored encrypted; Sluice never shows it "
                         "again."),
        ConfigField("region", "choice", "Cloud One region", required=False, choices=REGIONS, default="us-1",
                    help="The region of your Cloud One account (the us-1 of workload.us-1.cloudone."
                         "trendmicro.com).", sends_credentials_to=True),
        ConfigField("apiUrl", "url", "API address (optional)", required=False,
                    help="Instead of the region: a Deep Security Manager's API, e.g. https://dsm.example.com:4119/api.",
                    sends_credentials_to=True),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    fastest_schedule_minutes: ClassVar[int] = 60  # AppFlow: at most one scheduled run an hour
    filter_operators: ClassVar[tuple[str, ...]] = OPERATORS

    @classmethod
    def check_source_values(cls, props: Mapping[str, Any]) -> list[tuple[str, str]]:
        name = props.get("object")
        if name not in OBJECTS:
            return [("object", f"must be one of {', '.join(OBJECTS)}")]
        return []

    @classmethod
    def check_connection_properties(cls, properties: Mapping[str, Any]) -> list[str]:
        try:
            api_base(properties)
        except ConnectorError as exc:
            return [exc.message]
        return []

    def test(self, conn: ConnectionInfo) -> None:
        TrendMicroApi(conn).search("policies", [], "the list of policies", max_items=1)

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        return [Entity(o.name, o.label) for o in OBJECTS.values()]

    def _object(self, entity: str) -> TrendObject:
        try:
            return OBJECTS[entity]
        except KeyError:
            raise MissingAtSource(f'Trend Micro has no object "{entity[:80]}" (known: {", ".join(OBJECTS)}).',
                                  entity=entity) from None

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        obj = self._object(entity)
        return [EntityField(name, data_type, nullable=name != obj.id_key, primary_key=name == obj.id_key,
                            filter_operators=self.filter_operators,
                            timestamp_for_incremental=name == obj.time_field)
                for name, data_type in obj.fields]

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        obj = self._object(entity)
        types = dict(obj.fields)
        names = list(fields) if fields else list(types)
        unknown = [n for n in names if n not in types]
        if unknown:
            raise MissingAtSource(f"Trend Micro {obj.label.lower()} have no field {', '.join(unknown)}.",
                                  entity=entity, fields=unknown)
        criteria = window_criteria(obj, window)
        api = TrendMicroApi(conn)
        schema = pa.schema([(n, TEXT_TIME_ARROW_TYPES[types[n]]) for n in names])
        for rows in api.pages(obj.resource, obj.list_key, obj.id_key, criteria, obj.name):
            table = pa.Table.from_pylist([{n: cell(r.get(n), types[n]) for n in names} for r in rows],
                                         schema=schema)
            yield SourceBatch(table=table, bytes_read=len(json.dumps(rows, ensure_ascii=False).encode()))
