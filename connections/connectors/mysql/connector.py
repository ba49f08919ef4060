"""MySQL and MariaDB as a source and a destination (AppFlow: CustomConnector, connectorLabel MySQL).

Connection: host, port, database, sslMode; credentials username and password (AppFlow's BASIC
block). Entities are databases, then their tables and views as "database.table" (a name without
a dot is in the connection's database). See reading.py and writing.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import pyarrow as pa
import pymysql

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
from ..dbtarget import SSL_MODES, Target, split_entity, target_from
from ..sqlfilters import OPERATORS, PUSHDOWN_OPERATORS
from . import catalog
from .client import connect, query_error
from .reading import read_table
from .writing import WRITE_OPERATIONS, write_table


class MySQLConnector(Connector):
    connector_type: ClassVar[str] = "CustomConnector"
    connector_label: ClassVar[str] = "MySQL"
    properties_key: ClassVar[str] = "CustomConnector"
    display_name: ClassVar[str] = "MySQL / MariaDB"
    description: ClassVar[str] = (
        "Tables and views of a MySQL or MariaDB database. Read with filters pushed down; write by "
        "INSERT, UPSERT (ON DUPLICATE KEY UPDATE) or UPDATE on id fields, all of a run in one transaction."
    )
    can_be_source: ClassVar[bool] = True
    can_be_destination: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "basic"
    caches_metadata: ClassVar[bool] = False  # cheap to ask, and should be current
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("host", label="Host", help="Name or address of the database server.",
                    sends_credentials_to=True),
        ConfigField("port", kind="integer", label="Port", required=False, default=3306,
                    sends_credentials_to=True),
        ConfigField("database", label="Database", help="The default database: tables without a prefix."),
        ConfigField(
            "sslMode",
            kind="choice",
            label="SSL mode",
            required=False,
            choices=SSL_MODES,
            default="prefer",
            help="prefer: TLS when the server offers it; require: always TLS; verify-ca / verify-full: "
            "also check the server's certificate (and name).",
        ),
        # the user name is a credential in AppFlow's BASIC block, so it is kept with the password
        ConfigField("username", label="User name", secret=True),
        ConfigField("password", kind="secret", label="Password", secret=True, required=False),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    filter_operators: ClassVar[tuple[str, ...]] = OPERATORS
    pushdown_operators: ClassVar[tuple[str, ...]] = PUSHDOWN_OPERATORS
    write_operations: ClassVar[tuple[str, ...]] = WRITE_OPERATIONS

    @classmethod
    def entity_name(cls, props: Mapping[str, Any]) -> str:
        return str(props.get("entityName") or "") if isinstance(props, Mapping) else ""

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        return sqlprops.check_source(props)

    @classmethod
    def check_destination_properties(cls, props: Any) -> list[tuple[str, str]]:
        return sqlprops.check_destination(props, cls.write_operations)

    def target(self, conn: ConnectionInfo) -> Target:
        return target_from(conn, 3306)

    def _split(self, target: Target, entity: str) -> tuple[str, str]:
        return split_entity(entity, default_schema=target.database)

    def test(self, conn: ConnectionInfo) -> None:
        target = self.target(conn)
        connection = connect(target)
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT 1")
        except pymysql.Error as exc:
            raise query_error(target, exc, "Testing the connection") from None
        finally:
            connection.close()

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        target = self.target(conn)
        connection = connect(target)
        try:
            with connection.cursor() as cur:
                return catalog.list_tables(cur, parent) if parent else catalog.list_databases(cur)
        except pymysql.Error as exc:
            raise query_error(target, exc, "Listing tables") from None
        finally:
            connection.close()

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        target = self.target(conn)
        schema, table = self._split(target, entity)
        connection = connect(target)
        try:
            with connection.cursor() as cur:
                return catalog.entity_fields(catalog.columns(cur, schema, table))
        except pymysql.Error as exc:
            raise query_error(target, exc, f"Describing {schema}.{table}") from None
        finally:
            connection.close()

    def read(
        self,
        conn: ConnectionInfo,
        entity: str,
        fields: list[str] | None,
        filters: list[Mapping[str, Any]],
        window: Window,
        options: Mapping[str, Any],
    ) -> Iterator[SourceBatch]:
        target = self.target(conn)
        schema, table = self._split(target, entity)
        return read_table(target, schema, table, fields, filters, window, options)

    def write(
        self, conn: ConnectionInfo, entity: str, batches: Iterable[pa.Table], options: Mapping[str, Any]
    ) -> WriteResult:
        target = self.target(conn)
        schema, table = self._split(target, entity)
        return write_table(target, schema, table, batches, options)
