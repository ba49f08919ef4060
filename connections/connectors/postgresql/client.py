"""Connecting to PostgreSQL (and Redshift over its protocol) with messages a person can act on.

Every connection goes through `connect()`, and every host through `..hosts.check_host()` first:
that is the single place where the SSRF guard (being written separately) must be called.
Errors never carry the password or the user name (a credential too): messages are built here from
the error class, SQLSTATE and the server's words, and any server text that is passed on has both
scrubbed out of it (Target.scrub).
"""

from __future__ import annotations

import re

import psycopg
from psycopg import errors as pg_errors
from psycopg.types.numeric import FloatLoader
from psycopg.types.string import TextLoader

from ..base import ConnectorError
from ..dbtarget import SSL_MODES, Target, split_entity, target_from
from ..hosts import checked_address

CONNECT_TIMEOUT_SECONDS = 10


def connect(target: Target, *, autocommit: bool = False) -> psycopg.Connection:
    """An open connection, with numeric loaded as float and json/uuid/... as text, or a
    ConnectorError that says what is wrong (credentials, database, reachability)."""
    try:
        # hostaddr: connect to the address the SSRF guard checked; host stays for TLS verification
        address = checked_address(target.host, target.port)
        connection = psycopg.connect(
            host=target.host,
            hostaddr=address,
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


# How a server says it refused the login. libpq reports connection failures without a SQLSTATE
# (psycopg's sqlstate is None there), so the server's words are what there is to go on: 28P01
# (password), 28000 (unknown role, no pg_hba.conf entry, role without LOGIN), missing password.
_REFUSED_LOGIN = re.compile(
    r"authentication failed|role \".*\" does not exist|no pg_hba\.conf entry|no password supplied"
    r"|is not permitted to log in|password is required"
)
_NO_CONNECT_PRIVILEGE = re.compile(r"permission denied for database|must have CONNECT privilege")


def connect_error(target: Target, exc: BaseException) -> ConnectorError:
    """What went wrong, named for a person; never the password or the user name (both secrets)."""
    text = target.scrub(str(exc))
    state = getattr(exc, "sqlstate", None) or ""
    if state in ("28P01", "28000") or _REFUSED_LOGIN.search(text):
        return ConnectorError(
            f"PostgreSQL at {target.where}: the database refused the user name or password. Check the "
            "user name and password of the connection, and that the server lets that user log in "
            "from Sluice's address."
        )
    if state == "3D000" or re.search(r'database ".*" does not exist', text):
        return ConnectorError(
            f'The database "{target.database}" does not exist on {target.host}:{target.port}.'
        )
    if state == "42501" or _NO_CONNECT_PRIVILEGE.search(text):
        return ConnectorError(
            f"The connection's user may not connect to {target.where}: {_first_line(text)}. "
            "Grant it CONNECT on the database."
        )
    return ConnectorError(
        f"Cannot reach PostgreSQL at {target.host}:{target.port}: {_first_line(text)}. "
        "Check the host, the port and that the server accepts connections from Sluice.",
        permanent=False,
    )


def query_error(target: Target, exc: psycopg.Error, doing: str) -> ConnectorError:
    """A ConnectorError for a failed statement; connection losses are transient."""
    text = _first_line(target.scrub(str(exc)))
    if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, pg_errors.QueryCanceled):
        return ConnectorError(
            f"{doing}: the connection to {target.host}:{target.port} failed: {text}", permanent=False
        )
    return ConnectorError(f"{doing}: {text}")


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line.removeprefix("connection failed: ").strip()


__all__ = ["SSL_MODES", "Target", "connect", "query_error", "split_entity", "target_from"]
