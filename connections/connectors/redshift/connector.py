"""Amazon Redshift as a destination, over the PostgreSQL protocol and the PostgreSQL connector's
code (catalog, transaction per run, error messages, errorHandlingConfig).

Connection: AppFlow's Redshift properties (`databaseUrl` as a JDBC URL, `bucketName`,
`bucketPrefix`) and credentials (`username`, `password`). Destination: `object` (schema.table),
`intermediateBucketName`, `bucketPrefix`, `errorHandlingConfig`.

What differs from PostgreSQL: Redshift has no COPY ... FROM STDIN. With an S3 stage (a
`bucketName` on the connection or `intermediateBucketName` on the destination, and `roleArn`),
records are staged as gzip CSV files and loaded with one COPY ... FROM the stage's manifest, as
AppFlow does (stage.py; the load step is load_staged()). Without one they go in as
parameterised multi-row INSERTs. Either way in one transaction, and only INSERT is offered
(Redshift has no INSERT ... ON CONFLICT). Everything here is tested against PostgreSQL and moto
only, not against a Redshift cluster: the COPY statement itself is tested for its exact text.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import psycopg
import pyarrow as pa

from .. import errorhandling, fencing
from ..base import ConfigField, ConnectionInfo, ConnectorError, WriteResult
from ..dbtarget import Target, split_entity
from ..hosts import check_host
from ..postgresql import PostgreSQLConnector
from ..postgresql.writing import write_table
from . import jdbc
from .stage import Stage, copy_statement, stage_config

logger = logging.getLogger(__name__)

_DESTINATION_KEYS = {"object", "intermediateBucketName", "bucketPrefix", "errorHandlingConfig"}


class RedshiftConnector(PostgreSQLConnector):
    connector_type: ClassVar[str] = "Redshift"
    connector_label: ClassVar[str] = ""
    properties_key: ClassVar[str] = "Redshift"
    display_name: ClassVar[str] = "Amazon Redshift"
    description: ClassVar[str] = (
        "Tables of an Amazon Redshift database, as a destination: records staged in S3 and loaded "
        "with COPY (or inserted), in one transaction per run."
    )
    can_be_source: ClassVar[bool] = False
    can_be_destination: ClassVar[bool] = True
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField(
            "databaseUrl",
            label="JDBC URL",
            help="As the Redshift console shows it: jdbc:redshift://<endpoint>:5439/<database> "
            "(add ?ssl=true or ?sslmode=verify-full for TLS).",
            sends_credentials_to=True,
        ),
        ConfigField(
            "bucketName",
            label="Intermediate bucket",
            required=False,
            help="Records are staged here as gzip CSV files and loaded with COPY. Empty: INSERT statements.",
        ),
        ConfigField("bucketPrefix", label="Intermediate bucket prefix", required=False),
        ConfigField(
            "roleArn",
            label="IAM role ARN",
            required=False,
            help="The role the cluster assumes to read the bucket (COPY ... IAM_ROLE), e.g. "
            "arn:aws:iam::123456789012:role/RedshiftCopy. Required with a bucket.",
        ),
        # Without an endpoint URL the region picks the S3 host the stage keys sign requests for.
        ConfigField("region", label="Bucket region", required=False, help="e.g. us-east-1",
                    sends_credentials_to=True),
        ConfigField(
            "endpointUrl",
            kind="url",
            label="S3 endpoint URL",
            required=False,
            help="Only for an S3-compatible store Sluice writes the stage to. Empty for Amazon S3.",
            sends_credentials_to=True,
        ),
        ConfigField("username", label="User name", secret=True),
        ConfigField("password", kind="secret", label="Password", secret=True, required=False),
        ConfigField(
            "accessKeyId",
            label="Access key id (stage)",
            secret=True,
            required=False,
            help="Sluice's key to write the stage. Empty to use the environment's default credentials.",
        ),
        ConfigField(
            "secretAccessKey", kind="secret", label="Secret access key (stage)", secret=True, required=False
        ),
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

    def test(self, conn: ConnectionInfo) -> None:
        """select 1, then, with a stage, its settings and that Sluice can list the bucket."""
        super().test(conn)
        config = stage_config(conn, {})
        if config is not None:
            Stage(config, "connection-test").check_bucket()

    def write(
        self, conn: ConnectionInfo, entity: str, batches: Iterable[pa.Table], options: Mapping[str, Any]
    ) -> WriteResult:
        schema, table = split_entity(entity)
        only_insert = {**options, "writeOperationType": "INSERT", "idFieldNames": []}
        target = self.target(conn)
        config = stage_config(conn, options)
        if config is None:
            return write_table(target, schema, table, batches, only_insert, copy_in=False)
        execution_id = str(options.get("executionId") or "")
        if not execution_id:
            raise ConnectorError("executionId: is required to name the run's folder in the S3 stage.")
        stage = Stage(config, execution_id)
        stage.remove()  # files left by attempts of this execution that were killed or fenced
        # This attempt's own folder: a fenced attempt that wakes up removes only its own files.
        stage.prefix += f"{fencing.attempt()}/"
        try:
            result = write_table(target, schema, table, batches, only_insert, staged=_StagedCopy(self, stage))
        except BaseException:
            with contextlib.suppress(ConnectorError):  # the run's own error is the one to report
                stage.remove()
            raise
        try:
            stage.remove()
        except ConnectorError as exc:
            # the rows are committed: failing the run now would make a retry load them twice
            logger.warning("Redshift run %s: the staged files could not be removed: %s", execution_id, exc)
        return result

    def load_staged(
        self,
        cursor: psycopg.Cursor,
        stage: Stage,
        schema: str,
        table: str,
        columns: list[str],
        manifest_url: str,
    ) -> None:
        """Load the staged files listed in `manifest_url` into schema.table, in the run's
        transaction: Redshift's COPY from S3 with the connection's IAM role."""
        cursor.execute(
            copy_statement(schema, table, columns, manifest_url, stage.config.role_arn, stage.config.region)
        )


class _StagedCopy:
    """write_table's staged load: batches to the S3 stage, then the connector's load_staged()."""

    def __init__(self, connector: RedshiftConnector, stage: Stage):
        self.connector, self.stage = connector, stage

    def add(self, batch: pa.Table) -> None:
        self.stage.add(batch)

    def load(self, cursor: psycopg.Cursor, schema: str, table: str, columns: list[str]) -> int:
        if self.stage.records == 0:
            return 0
        manifest_url = self.stage.finish()
        self.connector.load_staged(cursor, self.stage, schema, table, columns, manifest_url)
        return self.stage.csv_bytes
