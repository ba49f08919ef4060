"""The client address of a request. X-Forwarded-For is believed only when the request came from
a proxy listed in SLUICE_TRUSTED_PROXIES (addresses or networks); anyone can send that header, so
without the setting it is ignored and REMOTE_ADDR is the address."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(address: str, proxies: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = _networks(tuple(settings.SLUICE_TRUSTED_PROXIES))
    if remote is None or not proxies or not _trusted(remote, proxies):
        return remote
    # Walk the chain from the right: the first address not of a trusted proxy is the client
    # (anything further left was written by the client itself and proves nothing).
    chain = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    for address in reversed(chain):
        if not _trusted(address, proxies):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return remote  # a malformed entry: the proxy's own address is what we know
    return remote
