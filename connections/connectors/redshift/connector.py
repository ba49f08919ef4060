"""Amazon Redshift as a destination, over the PostgreSQL protocol and the PostgreSQL connector's
code (catalog, transaction per run, error messages, errorHandlingConfig).

Connection: AppFlow's Redshift properties (`databaseUrl` as a JDBC URL, `bucketName`,
`bucketPrefix`) and credentials (`username`, `password`). Destination: `object` (schema.table),
`intermediateBucketName`, `bucketPrefix`, `errorHandlingConfig`.

What differs from PostgreSQL: Redshift has no COPY ... FROM STDIN, so records go in as
parameterised multi-row INSERTs in one transaction, and only INSERT is offered (Redshift has no
INSERT ... ON CONFLICT). AppFlow's path - stage files in `intermediateBucketName` and COPY them
from S3 with the cluster's IAM role - is not implemented yet: `intermediateBucketName` is accepted
and not used. Everything here is tested against PostgreSQL only, not against a Redshift cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import pyarrow as pa

from .. import errorhandling
from ..base import ConfigField, ConnectionInfo, ConnectorError, WriteResult
from ..dbtarget import Target, split_entity
from ..hosts import check_host
from ..postgresql import PostgreSQLConnector
from ..postgresql.writing import write_table
from . import jdbc

_DESTINATION_KEYS = {"object", "intermediateBucketName", "bucketPrefix", "errorHandlingConfig"}


class RedshiftConnector(PostgreSQLConnector):
    connector_type: ClassVar[str] = "Redshift"
    connector_label: ClassVar[str] = ""
    properties_key: ClassVar[str] = "Redshift"
    display_name: ClassVar[str] = "Amazon Redshift"
    description: ClassVar[str] = (
        "Tables of an Amazon Redshift database, as a destination: records inserted in one "
        "transaction per run over the PostgreSQL protocol."
    )
    can_be_source: ClassVar[bool] = False
    can_be_destination: ClassVar[bool] = True
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField(
            "databaseUrl",
            label="JDBC URL",
            help="As the Redshift console shows it: jdbc:redshift://<endpoint>:5439/<database> "
            "(add ?ssl=true or ?sslmode=verify-full for TLS).",
        ),
        ConfigField(
            "bucketName", label="Intermediate bucket", required=False, help="Accepted; not used yet."
        ),
        ConfigField("bucketPrefix", label="Intermediate bucket prefix", required=False),
        ConfigField("username", label="User name", secret=True),
        ConfigField("password", kind="secret", label="Password", secret=True, required=False),
    )
    write_operations: ClassVar[tuple[str, ...]] = ("INSERT",)
    filter_operators: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def entity_name(cls, props: Mapping[str, Any]) -> str:
        return str(props.get("object") or "") if isinstance(props, Mapping) else ""

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        return [("", "Amazon Redshift is a destination only")]

    @classmethod
    def check_destination_properties(cls, props: Any) -> list[tuple[str, str]]:
        if not isinstance(props, Mapping):
            return [("", "must be an object with object (the table, as schema.table)")]
        problems: list[tuple[str, str]] = []
        table = props.get("object")
        if not isinstance(table, str) or not table.strip():
            problems.append(("object", "is required: a table, as schema.table"))
        elif table.count(".") > 1:
            problems.append(("object", f'"{table}" is not of the form schema.table'))
        problems += [
            (k, "is not a property of the Redshift connector") for k in props if k not in _DESTINATION_KEYS
        ]
        problems += errorhandling.check(props.get("errorHandlingConfig"))
        return problems

    def target(self, conn: ConnectionInfo) -> Target:
        host, port, database, ssl_mode = jdbc.parse(str(conn.properties.get("databaseUrl") or ""))
        user = str(conn.credentials.get("username") or "")
        if not user:
            raise ConnectorError("username: is required.")
        return Target(
            host=check_host(host, "databaseUrl"),
            port=port,
            database=database,
            user=user,
            password=str(conn.credentials.get("password") or ""),
            ssl_mode=ssl_mode,
        )

    def write(
        self, conn: ConnectionInfo, entity: str, batches: Iterable[pa.Table], options: Mapping[str, Any]
    ) -> WriteResult:
        schema, table = split_entity(entity)
        only_insert = {**options, "writeOperationType": "INSERT", "idFieldNames": []}
        return write_table(self.target(conn), schema, table, batches, only_insert, copy_in=False)
