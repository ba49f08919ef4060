"""PostgreSQL as a source and a destination (AppFlow: CustomConnector, connectorLabel PostgreSQL).

Connection: host, port, database, sslMode; credentials username and password (AppFlow's BASIC
authentication block). Entities are schemas, then their tables and views as "schema.table".
See reading.py and writing.py for how records move, and client.py for the SSRF guard's call site.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import psycopg
import pyarrow as pa

from .. import sqlprops
from ..base import (
    ConfigField,
    ConnectionInfo,
    Connector,
    Entity,
    EntityField,
    SourceBatch,
    Window,
    WriteResult,
)
from ..sqlfilters import PUSHDOWN_OPERATORS
from . import catalog
from .client import SSL_MODES, Target, connect, query_error, split_entity, target_from
from .reading import read_table
from .writing import WRITE_OPERATIONS, write_table


class PostgreSQLConnector(Connector):
    connector_type: ClassVar[str] = "CustomConnector"
    connector_label: ClassVar[str] = "PostgreSQL"
    properties_key: ClassVar[str] = "CustomConnector"
    display_name: ClassVar[str] = "PostgreSQL"
    description: ClassVar[str] = (
        "Tables and views of a PostgreSQL database. Read with filters pushed down; write by "
        "INSERT (COPY), UPSERT or UPDATE on id fields, all of a run in one transaction."
    )
    can_be_source: ClassVar[bool] = True
    can_be_destination: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "basic"
    caches_metadata: ClassVar[bool] = False  # cheap to ask, and should be current
    default_port: ClassVar[int] = 5432
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("host", label="Host", help="Name or address of the database server.",
                    sends_credentials_to=True),
        ConfigField("port", kind="integer", label="Port", required=False, default=5432,
                    sends_credentials_to=True),
        ConfigField("database", label="Database"),
        ConfigField(
            "sslMode",
            kind="choice",
            label="SSL mode",
            required=False,
            choices=SSL_MODES,
            default="prefer",
            help="libpq's sslmode: require or verify-full for a server reached over a network "
            "you do not trust.",
        ),
        # the user name is a credential in AppFlow's BASIC block, so it is kept with the password
        ConfigField("username", label="User name", secret=True),
        ConfigField("password", kind="secret", label="Password", secret=True, required=False),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    filter_operators: ClassVar[tuple[str, ...]] = catalog.FILTER_OPERATORS
    pushdown_operators: ClassVar[tuple[str, ...]] = PUSHDOWN_OPERATORS
    write_operations: ClassVar[tuple[str, ...]] = WRITE_OPERATIONS

    # -- flow document properties -------------------------------------------------------------

    @classmethod
    def entity_name(cls, props: Mapping[str, Any]) -> str:
        return str(props.get("entityName") or "") if isinstance(props, Mapping) else ""

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        return sqlprops.check_source(props)

    @classmethod
    def check_destination_properties(cls, props: Any) -> list[tuple[str, str]]:
        return sqlprops.check_destination(props, cls.write_operations)

    # -- the interface -------------------------------------------------------------------------

    def target(self, conn: ConnectionInfo) -> Target:
        return target_from(conn, self.default_port)

    def test(self, conn: ConnectionInfo) -> None:
        target = self.target(conn)
        with connect(target, autocommit=True) as connection:
            try:
                connection.execute("SELECT 1")
            except psycopg.Error as exc:
                raise query_error(target, exc, "Testing the connection") from None

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        target = self.target(conn)
        with connect(target, autocommit=True) as connection, connection.cursor() as cur:
            try:
                return catalog.list_tables(cur, parent) if parent else catalog.list_schemas(cur)
            except psycopg.Error as exc:
                raise query_error(target, exc, "Listing tables") from None

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        target = self.target(conn)
        schema, table = split_entity(entity)
        with connect(target, autocommit=True) as connection, connection.cursor() as cur:
            try:
                return catalog.entity_fields(catalog.columns(cur, schema, table))
            except psycopg.Error as exc:
                raise query_error(target, exc, f"Describing {schema}.{table}") from None

    def read(
        self,
        conn: ConnectionInfo,
        entity: str,
        fields: list[str] | None,
        filters: list[Mapping[str, Any]],
        window: Window,
        options: Mapping[str, Any],
    ) -> Iterator[SourceBatch]:
        schema, table = split_entity(entity)
        return read_table(self.target(conn), schema, table, fields, filters, window, options)

    def write(
        self, conn: ConnectionInfo, entity: str, batches: Iterable[pa.Table], options: Mapping[str, Any]
    ) -> WriteResult:
        schema, table = split_entity(entity)
        return write_table(self.target(conn), schema, table, batches, options)
