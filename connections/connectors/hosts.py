"""The one place where connectors check a host they are about to connect to.

`check_host()` checks a setting's form (a name or an address, nothing more) when the connection
is configured. `checked_address()` is the SSRF guard (connections/net.py) at connect time: the
name is resolved, every address checked against the internal ranges and the SLUICE_NET_ALLOW
allow-list, and the caller connects to the address that was checked.
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
    return value


def checked_address(host: str, port: int) -> str:
    """The address to connect to for `host`:`port`, after the SSRF guard let it through."""
    from connections import net  # net imports this package's base module

    return str(net.check_host(host, port))


def _is_ipv6(value: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(value), ipaddress.IPv6Address)
    except ValueError:
        return False
