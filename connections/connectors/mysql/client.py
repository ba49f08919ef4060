"""Connecting to MySQL and MariaDB through PyMySQL, with messages a person can act on.

Sessions run in strict SQL mode (a value a column cannot hold is an error, not a silent
truncation) and in UTC (TIMESTAMP columns read and write as UTC). Identifiers are quoted by
`quote()` (backticks, doubled inside), the MySQL equivalent of psycopg.sql.Identifier; values are
always bound as parameters. Neither the password nor the user name appears in a message.
"""

from __future__ import annotations

import ssl

import pymysql
from pymysql.constants import CLIENT

from ..base import ConnectorError
from ..dbtarget import Target
from ..hosts import checked_address

CONNECT_TIMEOUT_SECONDS = 10
_INIT = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'"
# server error numbers
ACCESS_DENIED = (1045, 1698)  # wrong user name or password; no such user for this host / plugin
NO_DATABASE_PRIVILEGE = 1044
UNKNOWN_DATABASE = 1049
NO_SUCH_TABLE = 1146


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def _tls(mode: str) -> dict:
    """PyMySQL's TLS arguments for a libpq-style sslMode."""
    if mode == "disable":
        return {"ssl_disabled": True}
    if mode in ("allow", "prefer"):
        return {}  # PyMySQL's default: TLS when the server offers it
    if mode == "require":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return {"ssl": context}
    if mode == "verify-ca":
        return {"ssl_verify_cert": True}
    return {"ssl_verify_cert": True, "ssl_verify_identity": True}


def _connect_host(target: Target) -> str:
    """The SSRF-checked address to connect to. PyMySQL verifies a certificate's name against the
    host it connects to, so with verify-full it connects by name, right after the check."""
    address = checked_address(target.host, target.port)
    return target.host if target.ssl_mode == "verify-full" else address


def connect(target: Target, *, streaming: bool = False) -> pymysql.Connection:
    """An open connection (autocommit off), or a ConnectorError saying what is wrong."""
    try:
        return pymysql.connect(
            host=_connect_host(target),
            port=target.port,
            user=target.user,
            password=target.password,
            database=target.database,
            charset="utf8mb4",
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            autocommit=False,
            init_command=_INIT,
            # UPDATE's row count then counts rows matched, not only rows whose values changed
            client_flag=CLIENT.FOUND_ROWS,
            cursorclass=pymysql.cursors.SSCursor if streaming else pymysql.cursors.Cursor,
            **_tls(target.ssl_mode),
        )
    except pymysql.Error as exc:
        raise connect_error(target, exc) from None


def error_code(exc: BaseException) -> int:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else 0


def error_text(exc: BaseException, target: Target) -> str:
    args = getattr(exc, "args", ())
    text = str(args[1]) if len(args) > 1 else str(exc)
    return target.scrub(text)


def connect_error(target: Target, exc: BaseException) -> ConnectorError:
    """What went wrong, named for a person; never the password or the user name (both secrets)."""
    code = error_code(exc)
    if code in ACCESS_DENIED:
        return ConnectorError(
            f"MySQL at {target.where}: the database refused the user name or password. Check the "
            "user name and password of the connection, and that the user may log in from Sluice's "
            "address."
        )
    if code == NO_DATABASE_PRIVILEGE:
        return ConnectorError(
            f'The connection\'s user may not use the database "{target.database}" on '
            f"{target.host}:{target.port}. Grant it access to the database."
        )
    if code == UNKNOWN_DATABASE:
        return ConnectorError(
            f'The database "{target.database}" does not exist on {target.host}:{target.port}.'
        )
    if "SSL is required" in error_text(exc, target):
        return ConnectorError(
            f"MySQL at {target.host}:{target.port} does not offer TLS, and sslMode is {target.ssl_mode}. "
            "Enable TLS on the server, or choose sslMode prefer or disable."
        )
    return ConnectorError(
        f"Cannot reach MySQL at {target.host}:{target.port}: {error_text(exc, target)}. "
        "Check the host, the port and that the server accepts connections from Sluice.",
        permanent=False,
    )


def query_error(target: Target, exc: BaseException, doing: str) -> ConnectorError:
    """A ConnectorError for a failed statement; a lost connection is transient."""
    text = error_text(exc, target)
    if isinstance(exc, pymysql.OperationalError) and 2000 <= error_code(exc) < 3000:
        return ConnectorError(
            f"{doing}: the connection to {target.host}:{target.port} failed: {text}", permanent=False
        )
    return ConnectorError(f"{doing}: {text}")
