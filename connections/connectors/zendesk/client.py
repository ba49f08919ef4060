"""Calls to one Zendesk account (Support API v2), through the SSRF guard (connections/net.py).

Failures become ConnectorErrors a person can act on: 429 and 5xx are transient (with Zendesk's
Retry-After), 401 asks the shared OAuth machinery for a fresh token once and then says to
re-authorize, 403 names the missing permission, and an account that does not exist is named.
Django-free."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from flows.retry import parse_retry_after

_SUBDOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def subdomain_of(properties: Mapping[str, Any]) -> str:
    """The account's subdomain, accepting "acme", "acme.zendesk.com" or "https://acme.zendesk.com/"."""
    raw = str(properties.get("subdomain") or "").strip().lower()
    value = re.sub(r"^https?://", "", raw).split("/", 1)[0]
    value = value.removesuffix(".zendesk.com")
    if not value:
        raise ConnectorError("subdomain: is required (the name of your Zendesk account, the "
                             '"acme" of acme.zendesk.com).')
    if not _SUBDOMAIN.match(value):
        raise ConnectorError(f'subdomain: "{raw[:80]}" is not a Zendesk account name (give the "acme" of '
                             "acme.zendesk.com: letters, digits and hyphens).")
    return value


def base_url(properties: Mapping[str, Any]) -> str:
    """https://<subdomain>.zendesk.com/, or the baseUrl override (a test server, a proxy); every
    request to it still goes through the SSRF guard."""
    override = str(properties.get("baseUrl") or "").strip()
    if override:
        parts = urlsplit(override)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectorError(f'baseUrl: "{override[:100]}" is not an http(s) address.')
        return override.rstrip("/") + "/"
    return f"https://{subdomain_of(properties)}.zendesk.com/"


class ZendeskApi:
    """GETs for one connection; counts the calls it made (users are billed against their quota)."""

    def __init__(self, conn: ConnectionInfo):
        self.conn = conn
        self.base = base_url(conn.properties)
        self.host = urlsplit(self.base).netloc
        self.token = str(conn.credentials.get("accessToken") or "")
        self.calls = 0

    def account(self) -> str:
        sub = str(self.conn.properties.get("subdomain") or "").strip()
        return f'the Zendesk account "{sub}"' if sub else "Zendesk"

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        return self.base + path + (f"?{urlencode(params)}" if params else "")

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.get_url(self.url(path, params), path)

    def get_url(self, url: str, what: str = "") -> Any:
        """GET an absolute URL of this account (a links.next / after_url Zendesk handed back)."""
        what = what or urlsplit(url).path
        host = urlsplit(url).netloc
        if host != self.host:
            raise ConnectorError(f"Zendesk sent a next-page address on another host ({host}); "
                                 "Sluice does not send the token there.")
        response = self._send(url)
        if response.status == 401 and self.conn.refresh is not None:
            self.token = str(self.conn.refresh(self.token).get("accessToken") or "")
            response = self._send(url)
        return self._payload(response, what)

    def _send(self, url: str) -> net.Response:
        self.calls += 1
        try:
            return net.request("GET", url, headers={"Authorization": f"Bearer {self.token}",
                                                    "Accept": "application/json"})
        except net.BlockedAddress:
            raise
        except ConnectorError as exc:
            if "could not be found" in exc.message:
                raise ConnectorError(f"There is no Zendesk account at {self.host}: check the subdomain "
                                     "(the \"acme\" of acme.zendesk.com).") from None
            raise

    def _payload(self, response: net.Response, what: str) -> Any:
        status = response.status
        if status == 429 or status >= 500 or status in (408, 425):
            busy = "is rate limiting Sluice (HTTP 429)" if status == 429 else f"answered HTTP {status}"
            raise ConnectorError(f"{self.account()} {busy} for {what}; the run will retry later.",
                                 permanent=False,
                                 retry_after=parse_retry_after(response.headers.get("retry-after")))
        if status == 401:
            raise ConnectorError(f"{self.account()} refused the access token (HTTP 401). Open the connection "
                                 "and choose Re-authorize.")
        if status == 403:
            raise ConnectorError(f"{self.account()} forbids {what} (HTTP 403): the person who authorized the "
                                 "connection needs an agent or admin role, and the OAuth client the read "
                                 "scope. Fix that in Zendesk, then Re-authorize.")
        if status == 404 and what.endswith("users/me.json"):
            raise ConnectorError(f"There is no Zendesk account at {self.host}: check the subdomain.")
        if status in (301, 302, 303, 307, 308):
            raise ConnectorError(f"{self.host} redirected {what} elsewhere: it does not look like a Zendesk "
                                 "account. Check the subdomain.")
        if not response.ok:
            raise ConnectorError(f"{self.account()} refused {what} (HTTP {status}).")
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(f"{self.host} answered {what} with something that is not JSON: check the "
                                 "subdomain.") from None
