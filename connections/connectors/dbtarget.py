"""Where a SQL connector connects: host, port, database and user from a plain ConnectionInfo.

Shared by PostgreSQL, Redshift and MySQL; the host goes through hosts.check_host() (the SSRF
guard's single call site)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .base import ConnectionInfo, ConnectorError
from .hosts import check_host

# libpq's sslmode values; MySQL maps them onto PyMySQL's TLS options
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


@dataclass(frozen=True)
class Target:
    """Where and as whom to connect; `password` is never put in a message."""

    host: str  # as configured; TLS verifies the certificate against this name
    port: int
    database: str
    user: str
    password: str
    ssl_mode: str = "prefer"

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"

    def scrub(self, text: str) -> str:
        """Server or driver text with the connection's secrets taken out: the password anywhere,
        the user name (a credential too, as in AppFlow's BASIC block) where servers quote it:
        role "x", user 'x'@'host', `x`. Unquoted, a short name would also match ordinary words."""
        if self.password:
            text = text.replace(self.password, "***")
        if self.user:
            for quote in ('"', "'", "`"):
                text = text.replace(f"{quote}{self.user}{quote}", f"{quote}***{quote}")
        return text


def target_from(conn: ConnectionInfo, default_port: int) -> Target:
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
