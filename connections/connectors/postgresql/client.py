"""Connecting to PostgreSQL (and Redshift over its protocol) with messages a person can act on.

Every connection goes through `connect()`, and every host through `..hosts.check_host()` first:
that is the single place where the SSRF guard (being written separately) must be called.
Errors never carry the password: messages are built here from the error class and SQLSTATE, and
any server text that is passed on has the password scrubbed out of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.types.numeric import FloatLoader
from psycopg.types.string import TextLoader

from ..base import ConnectionInfo, ConnectorError
from ..hosts import check_host

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
CONNECT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Target:
    """Where and as whom to connect; `password` is never put in a message."""

    host: str
    port: int
    database: str
    user: str
    password: str
    ssl_mode: str = "prefer"

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"


def target_from(conn: ConnectionInfo, default_port: int = 5432) -> Target:
    props: Mapping[str, Any] = conn.properties
    creds: Mapping[str, Any] = conn.credentials
    try:
        port = int(props.get("port") or default_port)
    except (TypeError, ValueError):
        raise ConnectorError(f'port: "{props.get("port")}" is not a number.') from None
    if not 0 < port < 65536:
        raise ConnectorError(f"port: {port} is not between 1 and 65535.")
    ssl_mode = str(props.get("sslMode") or "prefer")
    if ssl_mode not in SSL_MODES:
        raise ConnectorError(f'sslMode: must be one of {", ".join(SSL_MODES)}, not "{ssl_mode}".')
    database = str(props.get("database") or "")
    if not database:
        raise ConnectorError("database: is required.")
    user = str(creds.get("username") or "")
    if not user:
        raise ConnectorError("username: is required.")
    return Target(
        host=check_host(str(props.get("host") or "")),
        port=port,
        database=database,
        user=user,
        password=str(creds.get("password") or ""),
        ssl_mode=ssl_mode,
    )


def connect(target: Target, *, autocommit: bool = False) -> psycopg.Connection:
    """An open connection, with numeric loaded as float and json/uuid/... as text, or a
    ConnectorError that says what is wrong (credentials, database, reachability)."""
    try:
        connection = psycopg.connect(
            host=target.host,
            port=target.port,
            dbname=target.database,
            user=target.user,
            password=target.password,
            sslmode=target.ssl_mode,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name="sluice",
            autocommit=autocommit,
        )
    except psycopg.Error as exc:
        raise connect_error(target, exc) from None
    for name in ("numeric",):
        connection.adapters.register_loader(name, FloatLoader)
    for name in ("json", "jsonb", "uuid", "inet", "cidr", "interval", "timetz", "money", "xml"):
        connection.adapters.register_loader(name, TextLoader)
    return connection


def connect_error(target: Target, exc: BaseException) -> ConnectorError:
    text = scrub(str(exc), target.password)
    state = getattr(exc, "sqlstate", None) or ""
    if (
        state in ("28P01", "28000")
        or "password authentication failed" in text
        or "no password supplied" in text
    ):
        return ConnectorError(
            f'PostgreSQL at {target.where} refused the user name or password for user "{target.user}". '
            "Check the credentials of the connection."
        )
    if state == "3D000" or re.search(r'database ".*" does not exist', text):
        return ConnectorError(
            f'The database "{target.database}" does not exist on {target.host}:{target.port}.'
        )
    if state == "42501":
        return ConnectorError(f'User "{target.user}" may not connect to {target.where}: {_first_line(text)}')
    return ConnectorError(
        f"Cannot reach PostgreSQL at {target.host}:{target.port}: {_first_line(text)}. "
        "Check the host, the port and that the server accepts connections from Sluice.",
        permanent=False,
    )


def query_error(target: Target, exc: psycopg.Error, doing: str) -> ConnectorError:
    """A ConnectorError for a failed statement; connection losses are transient."""
    text = _first_line(scrub(str(exc), target.password))
    if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, pg_errors.QueryCanceled):
        return ConnectorError(
            f"{doing}: the connection to {target.host}:{target.port} failed: {text}", permanent=False
        )
    return ConnectorError(f"{doing}: {text}")


def scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line.removeprefix("connection failed: ").strip()


def split_entity(entity: str, default_schema: str = "public") -> tuple[str, str]:
    """ "schema.table" -> (schema, table); a name without a dot is in `default_schema`.
    The first dot separates: schema names with dots are not supported."""
    name = (entity or "").strip()
    if not name:
        raise ConnectorError("entityName: is required (a table, as schema.table).")
    schema, dot, table = name.partition(".")
    if not dot:
        return default_schema, schema
    if not schema or not table:
        raise ConnectorError(f'entityName: "{name}" is not of the form schema.table.')
    return schema, table
