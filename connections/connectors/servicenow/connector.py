"""ServiceNow (source): every table the user can read, including custom ones, through the REST
Table API with basic authentication.

Tables come from sys_db_object, fields from sys_dictionary (inherited ones included, typed from
internal_type). A read is one query, `/api/now/table/<table>` with `sysparm_query` holding the
pushed-down filters and the incremental window (query.py) and ending in ORDERBYsys_id, the
chosen `sysparm_fields`, raw values (`sysparm_display_value=false`,
`sysparm_exclude_reference_link=true`: a reference is its sys_id), paged by offset."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
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

from . import catalog
from .client import ServiceNowApi, instance_url
from .query import PUSHDOWN_OPERATORS, encoded_query

ALL_OPERATORS = (
    "PROJECTION", "CONTAINS", "LESS_THAN", "GREATER_THAN", "BETWEEN", "LESS_THAN_OR_EQUAL_TO",
    "GREATER_THAN_OR_EQUAL_TO", "EQUAL_TO", "NOT_EQUAL_TO", *VALUE_OPERATORS,
)
SOURCE_KEYS = {"object", "incrementalPullConfig"}


def _cell(value: Any, data_type: str) -> Any:
    """A Table API value (always text with sysparm_display_value=false; "" for empty, which
    ServiceNow does not tell apart from null) as the field's type."""
    if isinstance(value, dict):  # a reference link, should the instance send one anyway
        value = value.get("value")
    if value is None or value == "":
        return None
    if data_type == "string":
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = str(value).strip()
    try:
        if data_type == "integer":
            return int(float(text)) if "." in text else int(text)
        if data_type == "double":
            return float(text)
    except ValueError:
        return None
    if data_type == "boolean":
        return text.lower() in ("true", "1")
    if data_type == "datetime" and len(text) == 19 and text[10] == " ":
        return f"{text[:10]}T{text[11:]}Z"  # ServiceNow sends UTC without saying so
    return text


class ServiceNowConnector(SaasConnector):
    """ServiceNow as a source (AppFlow: source only)."""

    connector_type: ClassVar[str] = "Servicenow"  # AppFlow's enum spelling; the properties key differs
    properties_key: ClassVar[str] = "ServiceNow"
    display_name: ClassVar[str] = "ServiceNow"
    description: ClassVar[str] = (
        "ServiceNow: every table your user can read, custom ones included (incidents, changes, users, "
        "CMDB ...), with the fields of its dictionary. Incremental runs use sys_updated_on."
    )
    can_be_source: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "basic"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("username", "string", "User name", secret=True,
                    help="A ServiceNow user with the admin, web_service_admin or rest_api_explorer role. "
                         "Stored encrypted."),
        ConfigField("password", "secret", "Password", secret=True,
                    help="The password of that user. Stored encrypted; Sluice never shows it again."),
        ConfigField("instanceUrl", "string", "Instance",
                    help='Your instance: the "acme" of https://acme.service-now.com (or its full address).',
                    sends_credentials_to=True),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    filter_operators: ClassVar[tuple[str, ...]] = ALL_OPERATORS
    pushdown_operators: ClassVar[tuple[str, ...]] = PUSHDOWN_OPERATORS

    # Its own, not SaasConnector's: it names a table when the block is not an object, and it
    # accepts incrementalPullConfig where other SaaS sources take only object.
    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        if not isinstance(props, Mapping):
            return [("", "must be a JSON object with object (a ServiceNow table, e.g. incident)")]
        problems = [(k, "is not a property of a ServiceNow source (only object)")
                    for k in props if k not in SOURCE_KEYS]
        table = props.get("object")
        if not isinstance(table, str) or not table.strip():
            problems.append(("object", "is required: the name of a ServiceNow table, e.g. incident"))
        else:
            try:
                catalog.check_table_name(table)
            except ConnectorError as exc:
                problems.append(("object", exc.message))
        return problems

    def test(self, conn: ConnectionInfo) -> None:
        instance_url(conn.properties)
        ServiceNowApi(conn).get("api/now/table/sys_db_object",
                                {"sysparm_limit": 1, "sysparm_fields": "name"},
                                "the list of tables (sys_db_object)")

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        return catalog.tables(ServiceNowApi(conn))

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        return [
            EntityField(c.name, c.data_type, nullable=c.name != "sys_id", primary_key=c.name == "sys_id",
                        filter_operators=self.filter_operators,
                        timestamp_for_incremental=c.name in catalog.INCREMENTAL_FIELDS)
            for c in catalog.columns(ServiceNowApi(conn), entity)
        ]

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        api = ServiceNowApi(conn)
        columns = {c.name: c for c in catalog.columns(api, entity)}
        names = list(fields) if fields else list(columns)
        unknown = [n for n in names if n not in columns]
        if unknown:
            raise MissingAtSource(f"The ServiceNow table {entity} has no field {', '.join(unknown)} "
                                  "(any more).", entity=entity, fields=unknown)
        query, _ = encoded_query(filters, window, columns)
        schema = pa.schema([(n, TEXT_TIME_ARROW_TYPES[columns[n].data_type]) for n in names])
        params = {"sysparm_query": query, "sysparm_fields": ",".join(names),
                  "sysparm_exclude_reference_link": "true", "sysparm_display_value": "false"}
        for rows in api.table(entity, params):
            table = pa.Table.from_pylist(
                [{n: _cell(r.get(n), columns[n].data_type) for n in names} for r in rows], schema=schema)
            yield SourceBatch(table=table, bytes_read=len(json.dumps(rows, ensure_ascii=False).encode()))
