"""The one place where connectors check a host they are about to connect to.

Every network connector (PostgreSQL, Redshift, MySQL, the S3 endpoint URL) calls `check_host()`
before connecting. Today it only checks the value's form. The SSRF guard being written separately
(allow-list of private ranges, DNS pinning) must be wired in here, and only here.
"""

from __future__ import annotations

import ipaddress
import re

from .base import ConnectorError

# A host name (RFC 1123 labels) or an IPv4 address; IPv6 addresses are checked with ipaddress.
_HOST_FORM = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)


def check_host(host: str, field: str = "host") -> str:
    """`host`, stripped, or a ConnectorError naming `field` (the setting the host came from)."""
    value = (host or "").strip()
    if not value:
        raise ConnectorError(f"{field}: is required (the server's name or address).")
    if not (_HOST_FORM.match(value) or _is_ipv6(value)):
        raise ConnectorError(
            f'{field}: "{value[:100]}" is not a host name or IP address '
            "(give only the name, without scheme, port or path)."
        )
    # SSRF guard: call it here (see the module docstring).
    return value


def _is_ipv6(value: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(value), ipaddress.IPv6Address)
    except ValueError:
        return False
