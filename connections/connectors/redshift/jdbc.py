"""The JDBC URL AppFlow asks for a Redshift connection, parsed into host, port, database, SSL.

    jdbc:redshift://examplecluster.abc123.us-west-2.redshift.amazonaws.com:5439/dev?ssl=true

`jdbc:postgresql://` is accepted too. Query parameters other than ssl / sslmode are ignored.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from ..base import ConnectorError
from ..dbtarget import SSL_MODES

DEFAULT_PORT = 5439


def parse(url: str) -> tuple[str, int, str, str]:
    """(host, port, database, sslMode) from a JDBC URL, or a ConnectorError naming databaseUrl."""
    text = (url or "").strip()
    if not text:
        raise ConnectorError("databaseUrl: is required (jdbc:redshift://host:5439/database).")
    scheme, _, rest = text.partition(":") if text.lower().startswith("jdbc:") else ("", "", text)
    parts = urlsplit(rest)
    if (
        scheme.lower() != "jdbc"
        or parts.scheme.lower() not in ("redshift", "postgresql")
        or not parts.hostname
    ):
        raise ConnectorError(
            f'databaseUrl: "{text[:200]}" is not a JDBC URL like jdbc:redshift://host:5439/database.'
        )
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ConnectorError(f'databaseUrl: "{text[:200]}" has an invalid port.') from None
    database = parts.path.strip("/")
    if not database or "/" in database:
        raise ConnectorError(f'databaseUrl: "{text[:200]}" must end with /<database name>.')
    query = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
    ssl_mode = query.get("sslmode") or ("require" if query.get("ssl", "").lower() == "true" else "prefer")
    if ssl_mode not in SSL_MODES:
        raise ConnectorError(f'databaseUrl: sslmode must be one of {", ".join(SSL_MODES)}, not "{ssl_mode}".')
    return parts.hostname, port, database, ssl_mode
