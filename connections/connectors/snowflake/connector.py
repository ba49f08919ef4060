"""Snowflake as a destination, as AppFlow loads it: records staged as files in the S3 bucket of a
Snowflake stage, then `COPY INTO <table> FROM @<stage>/<path>/ FILES = (...)` in one transaction
per run (stage.py, sqltext.py, client.py).

Connection: AppFlow's Snowflake properties (`accountName`, `warehouse`, `stage`, `bucketName`,
`bucketPrefix`, `region`) and credentials (`username` with `password`, or `privateKey` for
key-pair authentication), plus Sluice's `database`, `schema`, `role` (where names without a
database or schema are looked up, and the role the session uses), `endpointUrl` and the S3 keys
that write the stage. Destination: `object` (TABLE, SCHEMA.TABLE or DATABASE.SCHEMA.TABLE),
`intermediateBucketName`, `bucketPrefix`, `errorHandlingConfig`; Sluice additions
`writeOperationType` (INSERT, or UPSERT via a temporary table and MERGE), `idFieldNames` and
`customProperties.createTableIfMissing`.

Snowflake commits a transaction before any DDL, so the table (when created) and the upsert's
temporary table are made before the run's transaction starts; the COPY (and MERGE) and the
commit are the transaction. The staged files are removed after the commit, after a failure, and
by the next attempt of the execution before it stages anything.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import pyarrow as pa
from snowflake.connector import errors as sf_errors

from .. import errorhandling, fencing
from ..base import (
    ConfigField,
    ConnectionInfo,
    Connector,
    ConnectorError,
    Entity,
    EntityField,
    RecordFailure,
    WriteResult,
)
from . import sqltext
from .client import Login, check_name, connect, login_from, query_error
from .stage import SnowflakeStage, stage_config

logger = logging.getLogger(__name__)

WRITE_OPERATIONS = ("INSERT", "UPSERT")
_DESTINATION_KEYS = {
    "object",
    "intermediateBucketName",
    "bucketPrefix",
    "errorHandlingConfig",
    "writeOperationType",
    "idFieldNames",
    "customProperties",
}
_DATA_TYPES = {
    "NUMBER": "double",
    "FLOAT": "double",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP_NTZ": "datetime",
    "TIMESTAMP_LTZ": "datetime",
    "TIMESTAMP_TZ": "datetime",
    "TIME": "time",
    "BINARY": "binary",
}


class SnowflakeConnector(Connector):
    connector_type: ClassVar[str] = "Snowflake"
    properties_key: ClassVar[str] = "Snowflake"
    display_name: ClassVar[str] = "Snowflake"
    description: ClassVar[str] = (
        "Tables of a Snowflake account, as a destination: records staged in the S3 bucket of a "
        "Snowflake stage and loaded with COPY INTO (INSERT, or UPSERT with MERGE), in one "
        "transaction per run."
    )
    can_be_destination: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "basic"
    caches_metadata: ClassVar[bool] = False  # cheap to ask, and should be current
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    write_operations: ClassVar[tuple[str, ...]] = WRITE_OPERATIONS
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField(
            "accountName",
            label="Account",
            help="Your account identifier: the part before .snowflakecomputing.com of your Snowflake URL "
            "(e.g. myorg-myaccount, or xy12345.us-east-2.aws).",
            sends_credentials_to=True,
        ),
        ConfigField(
            "warehouse", label="Warehouse", help="The warehouse that runs the COPY, e.g. COMPUTE_WH."
        ),
        ConfigField("database", label="Database", help="Where tables named without a database are."),
        ConfigField(
            "schema",
            label="Schema",
            required=False,
            default="PUBLIC",
            help="Where tables named without a schema are.",
        ),
        ConfigField("role", label="Role", required=False, help="Empty for the user's default role."),
        ConfigField(
            "stage",
            label="Stage name",
            help="The external stage you created on the bucket below, as Database.Schema.StageName.",
        ),
        ConfigField(
            "bucketName",
            label="Stage bucket",
            help="The S3 bucket of the stage: Sluice writes "
            "the records there as gzip CSV files, then Snowflake copies them into the table.",
        ),
        ConfigField(
            "bucketPrefix",
            label="Stage bucket prefix",
            required=False,
            help="The folder of the stage's URL in the bucket (empty for the bucket's root).",
        ),
        # Without an endpoint URL the region picks the S3 host the stage keys sign requests for.
        ConfigField(
            "region", label="Bucket region", required=False, help="e.g. us-west-2", sends_credentials_to=True
        ),
        ConfigField(
            "endpointUrl",
            kind="url",
            label="S3 endpoint URL",
            required=False,
            help="Only for an S3-compatible store Sluice writes the stage to. Empty for Amazon S3.",
            sends_credentials_to=True,
        ),
        ConfigField("username", label="User name", secret=True),
        ConfigField(
            "password",
            kind="secret",
            label="Password",
            secret=True,
            required=False,
            help="Or leave empty and give a private key (key-pair authentication).",
        ),
        ConfigField(
            "privateKey",
            kind="secret",
            label="Private key (PEM)",
            secret=True,
            required=False,
            help="For key-pair authentication: the RSA private key whose public key is set on the user.",
        ),
        ConfigField(
            "privateKeyPassphrase",
            kind="secret",
            label="Private key passphrase",
            secret=True,
            required=False,
            help="Only for an encrypted private key.",
        ),
        ConfigField(
            "accessKeyId",
            label="Access key id (stage)",
            secret=True,
            required=False,
            help="Sluice's key to write the stage bucket. "
            "Empty to use the environment's default credentials.",
        ),
        ConfigField(
            "secretAccessKey", kind="secret", label="Secret access key (stage)", secret=True, required=False
        ),
    )

    @classmethod
    def entity_name(cls, props: Mapping[str, Any]) -> str:
        return str(props.get("object") or "") if isinstance(props, Mapping) else ""

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        return [("", "Snowflake is a destination only")]

    @classmethod
    def check_destination_properties(cls, props: Any) -> list[tuple[str, str]]:
        if not isinstance(props, Mapping):
            return [("", "must be an object with object (the table) and intermediateBucketName")]
        problems: list[tuple[str, str]] = []
        table = props.get("object")
        if not isinstance(table, str) or not table.strip():
            problems.append(
                ("object", "is required: a table, as TABLE, SCHEMA.TABLE or DATABASE.SCHEMA.TABLE")
            )
        elif table.count(".") > 2 or any(not p.strip() for p in table.split(".")):
            problems.append(("object", f'"{table}" is not of the form DATABASE.SCHEMA.TABLE'))
        bucket = props.get("intermediateBucketName")
        if not isinstance(bucket, str) or not bucket.strip():
            problems.append(
                ("intermediateBucketName", "is required: the S3 bucket of the connection's stage")
            )
        operation = props.get("writeOperationType", "INSERT")
        if operation not in WRITE_OPERATIONS:
            problems.append(("writeOperationType", f"must be INSERT or UPSERT, not {operation!r}"))
        ids = props.get("idFieldNames")
        if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) and i for i in ids)):
            problems.append(("idFieldNames", "must be a list of field names"))
        elif operation == "UPSERT" and not ids:
            problems.append(("idFieldNames", "UPSERT needs the fields that identify a record"))
        custom = props.get("customProperties")
        if custom is not None and (
            not isinstance(custom, Mapping)
            or set(custom) - {"createTableIfMissing"}
            or custom.get("createTableIfMissing") not in (None, "true", "false")
        ):
            problems.append(("customProperties", 'takes only createTableIfMissing, "true" or "false"'))
        problems += [
            (k, "is not a property of the Snowflake connector") for k in props if k not in _DESTINATION_KEYS
        ]
        problems += errorhandling.check(props.get("errorHandlingConfig"))
        return problems

    # -- the interface -------------------------------------------------------------------------

    def test(self, conn: ConnectionInfo) -> None:
        """Log in (user, warehouse, database, schema, role), find the stage, then list the stage bucket."""
        login = login_from(conn)
        config, _ = stage_config(conn, {})
        stage = sqltext.stage_location(_stage(conn), "")[1:-1]  # checked: plain names and dots
        *where, name = stage.split(".")
        scope = f" IN SCHEMA {'.'.join(where)}" if len(where) == 2 else ""
        with _session(login) as cursor:
            show = f"SHOW STAGES LIKE '{name}'{scope}"
            rows = _run(cursor, login, "Looking for the stage", show).fetchall()
        # LIKE's _ matches any character: keep the rows whose name column (the second) is the stage's
        if not any(str(row[1]).upper() == name.upper() for row in rows):
            raise ConnectorError(
                f"stage: {stage} does not exist, or the role cannot use it. Create the external stage on "
                "the bucket (CREATE STAGE ... URL = 's3://<bucket>/<prefix>/'), or grant USAGE on it."
            )
        SnowflakeStage(config, "connection-test").check_bucket()

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        login = login_from(conn)
        with _session(login) as cursor:
            rows = _run(
                cursor,
                login,
                "Listing tables",
                "SELECT table_schema, table_name FROM "
                f"{sqltext.ident(login.database)}.information_schema.tables "
                "WHERE table_type = 'BASE TABLE' AND table_schema <> 'INFORMATION_SCHEMA' ORDER BY 1, 2",
            ).fetchall()
        return [Entity(name=f"{login.database}.{s}.{t}", label=f"{s}.{t}") for s, t in rows]

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        login = login_from(conn)
        with _session(login) as cursor:
            database, schema, table = _resolve(cursor, login, entity, must_exist=True)
            columns = _columns(cursor, login, database, schema, table)
        return [
            EntityField(
                name=name,
                data_type="integer"
                if kind.endswith(",0)")
                else _DATA_TYPES.get(kind.split("(")[0], "string"),
                nullable=nullable,
                upsert_key=True,
            )
            for name, kind, nullable in columns
        ]

    def write(
        self, conn: ConnectionInfo, entity: str, batches: Iterable[pa.Table], options: Mapping[str, Any]
    ) -> WriteResult:
        login = login_from(conn)
        operation = str(options.get("writeOperationType") or "INSERT").upper()
        ids = [str(i) for i in options.get("idFieldNames") or []]
        if operation not in WRITE_OPERATIONS:
            raise ConnectorError(f"writeOperationType: must be INSERT or UPSERT, not {operation}.")
        if operation == "UPSERT" and not ids:
            raise ConnectorError("idFieldNames: UPSERT needs the fields that identify a record.")
        create = (
            str((options.get("customProperties") or {}).get("createTableIfMissing", "")).lower() == "true"
        )
        execution_id = str(options.get("executionId") or "")
        if not execution_id:
            raise ConnectorError("executionId: is required to name the run's folder in the stage bucket.")
        config, folder = stage_config(conn, options)
        stage = SnowflakeStage(config, execution_id)
        stage.remove()  # files left by attempts of this execution that were killed or fenced
        # This attempt's own folder: a fenced attempt that wakes up removes only its own files.
        stage.prefix += f"{fencing.attempt()}/"
        path = stage.prefix[len(config.prefix) - len(folder) :]  # relative to the stage's URL
        location = sqltext.stage_location(_stage(conn), path)
        try:
            result = self._write(login, entity, batches, options, operation, ids, create, stage, location)
        except BaseException:
            with contextlib.suppress(ConnectorError):  # the run's own error is the one to report
                stage.remove()
            raise
        try:
            stage.remove()
        except ConnectorError as exc:
            # the rows are committed: failing the run now would make a retry load them twice
            logger.warning("Snowflake run %s: the staged files could not be removed: %s", execution_id, exc)
        return result

    def _write(
        self,
        login: Login,
        entity: str,
        batches: Iterable[pa.Table],
        options: Mapping[str, Any],
        operation: str,
        ids: list[str],
        create: bool,
        stage: SnowflakeStage,
        location: str,
    ) -> WriteResult:
        batches = iter(batches)
        first = next((b for b in batches if b.num_rows), None)
        if first is None:
            return WriteResult(location=entity)
        with _session(login) as cursor:
            database, schema, table = _resolve(cursor, login, entity, must_exist=not create)
            if table is None:
                database, schema, table = database, schema, sqltext.created_name(_split(login, entity)[2])
                _run(
                    cursor,
                    login,
                    f"Creating {database}.{schema}.{table}",
                    sqltext.create_table(database, schema, table, first.schema),
                )
            columns = _columns(cursor, login, database, schema, table)
            names = _match(first.column_names, [c[0] for c in columns], f"{database}.{schema}.{table}")
            id_columns = _match(ids, [c[0] for c in columns], f"{database}.{schema}.{table}") if ids else []
            upsert = operation == "UPSERT"
            if upsert:
                kinds = dict((c[0], c[1]) for c in columns)
                _run(
                    cursor,
                    login,
                    "Creating the upsert's temporary table",
                    sqltext.create_upsert_stage([(n, kinds[n]) for n in names]),
                )
            numbered = 0
            for batch in itertools.chain([first], batches):
                if batch.column_names != first.column_names:
                    batch = _aligned(batch, first.column_names)
                if upsert:
                    batch = batch.append_column(
                        sqltext.ROW_COLUMN, pa.array(range(numbered, numbered + batch.num_rows), pa.int64())
                    )
                    numbered += batch.num_rows
                stage.add(batch)
            files = stage.finish_files()
            fail_first = errorhandling.fail_on_first(options)
            target = sqltext.qualified(database, schema, table)
            into = sqltext.ident(sqltext.UPSERT_STAGE) if upsert else target
            copy_columns = [*names, sqltext.ROW_COLUMN] if upsert else names
            _run(cursor, login, "Starting the run's transaction", "BEGIN")
            try:
                loaded = self.load_staged(cursor, login, into, copy_columns, location, files, fail_first)
                written = sum(r[3] or 0 for r in loaded)
                failures = [
                    RecordFailure(
                        where=f"file {r[0].rsplit('/', 1)[-1]}" + (f" line {r[7]}" if r[7] else ""),
                        reason=f"{r[5]} record(s) refused by COPY; first: {r[6]}",
                    )
                    for r in loaded
                    if r[5]
                ]
                if upsert:
                    merged = _run(
                        cursor,
                        login,
                        f"Merging into {database}.{schema}.{table}",
                        sqltext.merge(target, names, id_columns),
                    ).fetchall()
                    if merged and merged[0]:
                        written = sum(int(v or 0) for v in merged[0][:2])
                fencing.before_publish()
                _run(cursor, login, "Committing", "COMMIT")
            except BaseException:
                with contextlib.suppress(sf_errors.Error):
                    cursor.execute("ROLLBACK")
                raise
        return WriteResult(
            records_written=written,
            bytes_written=stage.csv_bytes,
            failures=failures,
            location=f"{database}.{schema}.{table}",
        )

    def load_staged(
        self,
        cursor: Any,
        login: Login,
        into: str,
        columns: list[str],
        location: str,
        files: list[str],
        fail_on_first: bool,
    ) -> list[tuple]:
        """COPY the staged `files` into `into`, in the run's transaction. COPY's result, a row per
        file: (file, status, rows_parsed, rows_loaded, error_limit, errors_seen, first_error,
        first_error_line, ...)."""
        statement = sqltext.copy_into(into, columns, location, files, fail_on_first)
        return [
            tuple(r)
            for r in _run(cursor, login, f"Loading the staged files ({location})", statement).fetchall()
        ]


def _stage(conn: ConnectionInfo) -> str:
    return str(conn.properties.get("stage") or "").strip()


@contextlib.contextmanager
def _session(login: Login) -> Iterator[Any]:
    connection = connect(login)
    try:
        with contextlib.closing(connection.cursor()) as cursor:
            yield cursor
    finally:
        with contextlib.suppress(Exception):
            connection.close()


def _run(cursor: Any, login: Login, doing: str, statement: str, params: Any = None) -> Any:
    try:
        return cursor.execute(statement, params) if params is not None else cursor.execute(statement)
    except sf_errors.Error as exc:
        raise query_error(exc, login, doing) from None


def _split(login: Login, entity: str) -> tuple[str, str, str]:
    parts = [p.strip() for p in (entity or "").split(".")]
    if not entity or len(parts) > 3 or not all(parts):
        raise ConnectorError(f'object: "{entity}" is not of the form DATABASE.SCHEMA.TABLE.')
    if len(parts) == 1:
        return login.database, login.schema, parts[0]
    if len(parts) == 2:
        return login.database, parts[0], parts[1]
    return parts[0], parts[1], parts[2]


def _resolve(cursor: Any, login: Login, entity: str, must_exist: bool) -> tuple[str, str, str | None]:
    """The table's database, schema and name as Snowflake spells them: the exact name, or else
    the one name that matches without regard to case (a plain `accounts` is ACCOUNTS)."""
    database, schema, table = _split(login, entity)
    check_name(database, "object (database)")
    rows = _run(
        cursor,
        login,
        f"Looking up {database}.{schema}.{table}",
        f"SELECT table_schema, table_name FROM {sqltext.ident(database.upper())}.information_schema.tables "
        "WHERE UPPER(table_schema) = UPPER(%s) AND UPPER(table_name) = UPPER(%s)",
        (schema, table),
    ).fetchall()
    exact = [r for r in rows if r[0] == schema and r[1] == table]
    found = exact or (rows if len(rows) == 1 else [])
    if found:
        return database.upper(), found[0][0], found[0][1]
    if len(rows) > 1:
        raise ConnectorError(
            f'object: "{entity}" matches several tables that differ only in case; spell it exactly.'
        )
    if must_exist:
        raise ConnectorError(
            f"object: the table {database}.{schema}.{table} does not exist (or the role cannot see it). "
            'Create it, or set customProperties.createTableIfMissing to "true".'
        )
    schemas = _run(
        cursor,
        login,
        f"Looking up schema {database}.{schema}",
        f"SELECT schema_name FROM {sqltext.ident(database.upper())}.information_schema.schemata "
        "WHERE UPPER(schema_name) = UPPER(%s)",
        (schema,),
    ).fetchall()
    if not schemas:
        raise ConnectorError(
            f"object: the schema {database}.{schema} does not exist (or the role cannot see it)."
        )
    return database.upper(), schemas[0][0], None


def _columns(
    cursor: Any, login: Login, database: str, schema: str, table: str
) -> list[tuple[str, str, bool]]:
    rows = _run(
        cursor,
        login,
        f"Describing {database}.{schema}.{table}",
        f"SELECT column_name, data_type, numeric_precision, numeric_scale, is_nullable "
        f"FROM {sqltext.ident(database)}.information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, table),
    ).fetchall()
    columns = []
    for name, kind, precision, scale, nullable in rows:
        kind = str(kind).upper()
        if kind == "TEXT":
            kind = "VARCHAR"
        elif kind == "NUMBER" and precision is not None:
            kind = f"NUMBER({int(precision)},{int(scale or 0)})"
        columns.append((name, kind, str(nullable).upper() == "YES"))
    return columns


def _match(fields: list[str], columns: list[str], where: str) -> list[str]:
    """Each field's column: the same name, or else the one column equal to it without regard to case."""
    matched = []
    for name in fields:
        if name in columns:
            matched.append(name)
            continue
        same = [c for c in columns if c.upper() == name.upper()]
        if len(same) != 1:
            raise ConnectorError(
                f'The field "{name}" has no column in {where}'
                + (
                    " (several differ only in case)."
                    if same
                    else ": add the column, or map the field to one."
                )
            )
        matched.append(same[0])
    return matched


def _aligned(batch: pa.Table, names: list[str]) -> pa.Table:
    extra = [n for n in batch.column_names if n not in names]
    if extra:
        raise ConnectorError(
            f'The field "{extra[0]}" appeared after the first batch; Snowflake loads the '
            "first batch's fields."
        )
    return pa.table(
        [batch.column(n) if n in batch.column_names else pa.nulls(batch.num_rows) for n in names], names=names
    )
