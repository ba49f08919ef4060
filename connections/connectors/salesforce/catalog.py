"""Objects and fields of an org, from describe-global (`sobjects/`) and the object describe
(`sobjects/<object>/describe/`), and the conversion of Salesforce values to Sluice types."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from connections.connectors.base import Entity, EntityField, MissingAtSource
from connections.connectors.saas import VALUE_OPERATORS

from . import soql, streaming
from .client import SalesforceApi

# Salesforce field type -> Sluice data type (anything else is text)
TYPES = {
    "boolean": "boolean",
    "int": "integer",
    "long": "integer",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "date": "date",
    "datetime": "datetime",
}
# Compound fields: read as JSON text through REST; Bulk API 2.0 cannot read them.
COMPOUND = frozenset({"address", "location"})
ARROW_TYPES = {
    "string": pa.string(),
    "integer": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
}
INCREMENTAL_FIELDS = ("LastModifiedDate", "SystemModstamp", "CreatedDate")
COMPARISONS = (
    "LESS_THAN",
    "GREATER_THAN",
    "BETWEEN",
    "LESS_THAN_OR_EQUAL_TO",
    "GREATER_THAN_OR_EQUAL_TO",
    "EQUAL_TO",
    "NOT_EQUAL_TO",
)
NOT_FILTERS = ("PROJECTION", *VALUE_OPERATORS)


@dataclass(frozen=True)
class Field:
    name: str
    sf_type: str
    data_type: str
    nillable: bool
    createable: bool
    updateable: bool
    filterable: bool
    external_id: bool
    id_lookup: bool

    @property
    def compound(self) -> bool:
        return self.sf_type in COMPOUND


def data_type(sf_type: str) -> str:
    return TYPES.get(sf_type, "string")


def objects(api: SalesforceApi) -> list[dict]:
    body = api.json("GET", "sobjects/", subject="the list of objects (describe-global)")
    return [o for o in body.get("sobjects") or [] if isinstance(o, dict) and o.get("name")]


def entities(api: SalesforceApi) -> list[Entity]:
    """Objects Sluice can read (queryable) or write (createable / updateable), then the event
    channels a flow can run on (describe-global lists Change Data Capture objects as
    <Object>ChangeEvent and platform events as <Name>__e): /data/<Object>ChangeEvent,
    /data/ChangeEvents (every selected object's changes) and /event/<Name>__e."""
    found = objects(api)
    plain = [
        Entity(o["name"], str(o.get("label") or o["name"]))
        for o in found
        if not streaming.is_event_object(o["name"])
        and (o.get("queryable") or o.get("createable") or o.get("updateable"))
    ]
    changes = [o for o in found if o["name"].endswith("ChangeEvent")]
    platform = [o for o in found if o["name"].endswith("__e")]
    events = [Entity(f"/data/{o['name']}", f"{o.get('label') or o['name']} (change events)") for o in changes]
    if changes:
        events.append(Entity("/data/ChangeEvents", "All selected objects' change events"))
    events += [
        Entity(f"/event/{o['name']}", f"{o.get('label') or o['name']} (platform event)") for o in platform
    ]
    return plain + events


def event_fields(api: SalesforceApi, entity: str) -> list[EntityField]:
    """The fields of an event object's records: the event's own fields (its describe), the
    ChangeEventHeader's fields flattened as ChangeEventHeader_<name>, and replayId."""
    channel = streaming.channel_of(entity)
    name = channel.rsplit("/", 1)[1]
    described = {} if name == "ChangeEvents" else describe(api, name)
    fields = [f for f in entity_fields(described) if f.name != "ChangeEventHeader"]
    if channel.startswith("/data/"):
        numbers = ("sequenceNumber", "commitNumber", "commitTimestamp")
        fields += [
            EntityField(
                f"ChangeEventHeader_{h}",
                "integer" if h in numbers else "string",
                filter_operators=NOT_FILTERS,
            )
            for h in streaming.HEADER_FIELDS
        ]
    replay = EntityField(
        "replayId", "integer", nullable=False, primary_key=True, filter_operators=NOT_FILTERS
    )
    return [*fields, replay]


def describe(api: SalesforceApi, entity: str) -> dict[str, Field]:
    soql.name(entity, "object")
    body = api.json("GET", f"sobjects/{entity}/describe/", subject=f'object "{entity}"')
    found = {}
    for f in body.get("fields") or []:
        if not isinstance(f, dict) or not soql.NAME.match(str(f.get("name") or "")):
            continue
        sf_type = str(f.get("type") or "string")
        found[f["name"]] = Field(
            f["name"],
            sf_type,
            data_type(sf_type),
            bool(f.get("nillable", True)),
            bool(f.get("createable")),
            bool(f.get("updateable")),
            bool(f.get("filterable", True)) and sf_type not in COMPOUND,
            bool(f.get("externalId")),
            bool(f.get("idLookup")),
        )
    return found


def entity_fields(fields: Mapping[str, Field]) -> list[EntityField]:
    result = []
    for f in fields.values():
        if not f.filterable:
            operators = NOT_FILTERS
        elif f.data_type == "string":
            operators = (*NOT_FILTERS, "CONTAINS", *COMPARISONS)
        elif f.data_type == "boolean":
            operators = (*NOT_FILTERS, "EQUAL_TO", "NOT_EQUAL_TO")
        else:
            operators = (*NOT_FILTERS, *COMPARISONS)
        result.append(
            EntityField(
                f.name,
                f.data_type,
                nullable=f.nillable,
                primary_key=f.name == "Id",
                filter_operators=operators,
                timestamp_for_incremental=f.name in INCREMENTAL_FIELDS and f.data_type == "datetime",
                upsert_key=f.name == "Id" or f.external_id or (f.id_lookup and f.createable),
            )
        )
    return result


def cell(value: Any, kind: str) -> Any:
    """A value of the REST API's JSON or of a Bulk API CSV cell (text; empty means null) as `kind`.
    A value that does not convert is None (Salesforce only sends what its type allows)."""
    if value is None or (value == "" and kind != "string"):
        return None
    try:
        if kind == "string":
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if kind == "integer":
            return (
                int(value)
                if not isinstance(value, str) or value.lstrip("+-").isdigit()
                else int(float(value))
            )
        if kind == "double":
            return float(value)
        if kind == "boolean":
            return value if isinstance(value, bool) else str(value).lower() == "true"
        if kind == "date":
            return date.fromisoformat(str(value)[:10])
        if kind == "datetime":
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (TypeError, ValueError, OverflowError):
        return None
    return value


def schema(fields: Mapping[str, Field], names: list[str]) -> pa.Schema:
    return pa.schema([(n, ARROW_TYPES[fields[n].data_type]) for n in names])


def check_fields(fields: Mapping[str, Field], names: list[str], entity: str) -> None:
    unknown = [n for n in names if n not in fields]
    if unknown:
        # MissingAtSource: a run adds what to do (Refresh fields in the flow, then remap).
        raise MissingAtSource(
            f"The Salesforce object {entity} has no field {', '.join(unknown)} (any more), or "
            "the user who authorized the connection cannot see it (INVALID_FIELD).",
            entity=entity, fields=unknown,
        )
