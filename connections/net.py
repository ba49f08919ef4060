"""Outbound connections to user-supplied hosts, guarded against SSRF. Django-free: connectors,
OAuth token calls and the engine use it alike.

Every user-supplied URL or host (instance URLs, API hosts, database hosts) goes through here:
the name is resolved once, every address it resolves to is checked (loopback, private, link-local
— cloud metadata lives there —, CGNAT, multicast, reserved, unspecified, IPv4-mapped, NAT64 and
6to4 forms are refused), and the connection is made to the address that was checked, so a DNS
answer that changes between the check and the connect (rebinding) cannot slip through. Redirects
are not followed unless asked, and each hop is checked again.

A host written as an address in any form a C resolver accepts (`2130706433`, `0177.0.0.1`,
`0x7f.1`, `127.1`, `[::ffff:127.0.0.1]`) is normalised here, by `literal_address()`, to the address
it means before the check: the verdict does not depend on what the platform's resolver makes of it.

On-premise hosts are let through by the allow-list in SLUICE_NET_ALLOW (comma-separated host
names, addresses or networks, each optionally with a port: "crm.internal,10.20.0.0/16,
127.0.0.1:8000", "[::1]:8000").
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import shutil
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

from connections.connectors import apicalls
from connections.connectors.base import ConnectorError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
DEFAULT_TIMEOUT = 30.0
STREAM_CHUNK_BYTES = 1 << 20  # what request(sink=...) holds of an answer at a time


class BlockedAddress(ConnectorError):
    """The host resolves to an address Sluice must not connect to (the network policy refuses it).
    `host` and `reason` ("a loopback address") let callers word their own message without the
    resolved address."""

    def __init__(self, message: str, *, host: str = "", reason: str = ""):
        super().__init__(message, permanent=True)
        self.host, self.reason = host, reason


def allow_list() -> list[str]:
    items = os.environ.get("SLUICE_NET_ALLOW", "").split(",")
    return [item.strip().lower() for item in items if item.strip()]


def _split_entry(entry: str) -> tuple[str, int | None]:
    """"crm.internal" / "crm.internal:8443" / "10.0.0.0/8" / "[::1]:8000" -> (host or network, port)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        if port.isdigit():
            return host, int(port)
    return entry, None


def _allowed(host: str, address: IPAddress, port: int) -> bool:
    for entry in allow_list():
        name, only_port = _split_entry(entry)
        if only_port is not None and only_port != port:
            continue
        if name == host.lower().rstrip("."):
            return True
        try:
            if address in ipaddress.ip_network(name, strict=False):
                return True
        except ValueError:
            continue  # a host name entry that is not this host
    return False


def refusal(address: IPAddress) -> str | None:
    """Why `address` is not a public internet address, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if any(address in net for net in NAT64):
            return "a NAT64 address"
        if address in SIX_TO_FOUR or address.teredo is not None:
            return "a 6to4 or Teredo address"
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address (cloud metadata lives there)"),
        (address.is_multicast, "a multicast address"),
        (address.is_unspecified, "an unspecified address"),
        (isinstance(address, ipaddress.IPv4Address) and address in CGNAT, "a carrier-grade NAT address"),
        (address.is_private, "a private network address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for hit, reason in checks if hit), None)


def _ipv4_number(part: str) -> int | None:
    """One dotted part as inet_aton reads it: 0x.. hex, 0.. octal, else decimal; None if not."""
    lowered = part.lower()
    try:
        if lowered.startswith("0x"):
            return int(lowered[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part, 8)
        return int(part, 10) if part.isdigit() else None
    except ValueError:
        return None


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an address means, or None for a name.

    IPv4 in every inet_aton form (one to four dotted parts, each decimal, octal or hex, the last
    filling the remaining bytes: `2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`), IPv6 with or
    without brackets or a zone, and an IPv4-mapped IPv6 address as the IPv4 address it carries.
    A host that looks like an address but is not a valid one (`256.1.1.1`, `1.2.3.4.5`, `08.1`)
    is refused rather than handed to a resolver that may read it some other way."""
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            address = ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return None
        return address.ipv4_mapped or address
    text = text.removesuffix(".")
    parts = text.split(".")
    if not any(parts) or not all(part.isascii() and (part.isdigit() or part.startswith("0x"))
                                 for part in parts if part):
        return None  # a name: at least one part is not a number
    numbers = [_ipv4_number(part) for part in parts]
    invalid = BlockedAddress(f'The host "{host}" is not a valid address. Sluice does not connect there.',
                             host=host, reason="not a valid address")
    if len(parts) > 4 or any(number is None for number in numbers):
        raise invalid
    *leading, last = numbers
    if any(number > 255 for number in leading) or last >= 256 ** (4 - len(leading)):
        raise invalid
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, each checked; refuses if any one is not allowed (a name
    with one public and one private address is refused: the connect could pick either). A host
    written as an address is normalised, not resolved."""
    if not host:
        raise BlockedAddress("The URL has no host name.", reason="no host name")
    literal = literal_address(host)
    addresses: list[IPAddress] = [literal] if literal is not None else []
    if literal is None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ConnectorError(f'The host "{host}" could not be found ({exc}). Check the name.',
                                 permanent=False) from None
        for info in infos:
            address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
    for address in addresses:
        reason = refusal(address)
        if reason and not _allowed(host, address, port):
            raise BlockedAddress(
                f'The host "{host}" resolves to {address}, {reason}. Sluice does not connect there. '
                "If it is an on-premise application you trust, add it to SLUICE_NET_ALLOW.",
                host=host, reason=reason,
            )
    return addresses


def check_url(url: str) -> None:
    """The guard's verdict on a URL before it is saved (a notification channel, say): raises
    BlockedAddress when the policy refuses it. A name that cannot be resolved now passes (DNS may
    be down, the receiver not set up yet): every send checks again."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedAddress(f"Only http and https URLs are allowed, not {parts.scheme or 'none'}.",
                             reason="not an http or https URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise BlockedAddress("The URL's port is not a number from 0 to 65535.",
                             reason="not a valid port") from None
    try:
        resolve(parts.hostname or "", port)
    except BlockedAddress:
        raise
    except ConnectorError:
        return


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str
    history: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _connect(addresses: list[IPAddress], port: int, timeout: float) -> socket.socket:
    """A TCP connection to one of these checked addresses, tried in order (as a resolver's answers
    are): no name resolution happens here."""
    error: OSError | None = None
    for address in addresses:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((str(address), port))
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("no address to connect to")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, addresses: list[IPAddress], timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self._addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, addresses: list[IPAddress], timeout: float,
                 context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self._addresses = addresses

    def connect(self) -> None:
        sock = _connect(self._addresses, self.port, self.timeout)
        # The certificate is checked against the name, while the socket goes to the checked address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_redirects: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    max_body_bytes: int | None = None,
    sink: BinaryIO | None = None,
) -> Response:
    """One HTTP(S) request to a user-supplied URL, SSRF-checked. Redirects: returned as they are
    unless `max_redirects` > 0; each hop is checked like the first. `max_body_bytes` keeps only
    that much of the answer (a caller that needs none of it need not hold a huge one). `sink`, a
    binary file: a successful (2xx) answer's body is copied there in chunks, never held whole in
    memory (an export archive of gigabytes), and the Response's body is empty."""
    history: list[str] = []
    for _hop in range(max_redirects + 1):
        response = _one_request(method, url, headers or {}, body, timeout, ssl_context, max_body_bytes,
                                sink)
        location = response.headers.get("location")
        if response.status in (301, 302, 303, 307, 308) and location and len(history) < max_redirects:
            history.append(url)
            url = urljoin(url, location)
            if response.status == 303 or (response.status in (301, 302) and method != "GET"):
                method, body = "GET", None
            continue
        response.history = history
        return response
    return response


def _one_request(method, url, headers, body, timeout, ssl_context, max_body_bytes=None,
                 sink=None) -> Response:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedAddress(f"Only http and https URLs are allowed, not {parts.scheme or 'none'}.",
                             reason="not an http or https URL")
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise BlockedAddress("The URL's port is not a number from 0 to 65535.",
                             reason="not a valid port") from None
    addresses = resolve(host, port)
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = _PinnedHTTPSConnection(
            host, port, addresses, timeout, ssl_context or ssl.create_default_context()
        )
    else:
        conn = _PinnedHTTPConnection(host, port, addresses, timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    apicalls.count_call()  # every connector's calls, counted for the run that makes them
    try:
        conn.request(method, path, body=body, headers=headers)
        raw = conn.getresponse()
        if sink is not None and 200 <= raw.status < 300:
            shutil.copyfileobj(raw, sink, STREAM_CHUNK_BYTES)
            data = b""
        else:
            data = raw.read() if max_body_bytes is None else _read_at_most(raw, max_body_bytes)
        return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data, url)
    except (OSError, http.client.HTTPException) as exc:
        # The message names the host, not the URL: a query string may hold a token.
        raise ConnectorError(f"Could not reach {host}: {exc.__class__.__name__}: {exc}",
                             permanent=False) from None
    finally:
        conn.close()


def _read_at_most(raw: http.client.HTTPResponse, limit: int) -> bytes:
    """Up to `limit` bytes of the answer, in chunks: http.client's read(n) allocates n bytes up
    front whatever the answer's length, which costs milliseconds a call for a cap of megabytes."""
    parts: list[bytes] = []
    left = limit
    while left > 0:
        chunk = raw.read(min(left, 64 * 1024))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def check_host(host: str, port: int) -> IPAddress:
    """For non-HTTP clients (databases): the checked address to connect to instead of the name."""
    return resolve(host, port)[0]
