"""Calls to one Zendesk account (Support API v2), through the SSRF guard (connections/net.py).

Failures become ConnectorErrors a person can act on: 429 and 5xx are transient (with Zendesk's
Retry-After), 401 asks the shared OAuth machinery for a fresh token once and then says to
re-authorize, 403 names the missing permission, and an account that does not exist is named.
Django-free."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from time import sleep
from typing import Any
from urllib.parse import urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.retry import parse_retry_after

WRITE_ATTEMPTS = 4
MAX_WAIT = 60.0  # seconds; a longer Retry-After fails the call (transient) instead of holding a worker
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

    def send(self, method: str, path: str, body: Any = None, *, what: str = "") -> Any:
        """A call that changes something (POST / PUT with a JSON body) or a GET polled while a write
        runs. A 429 is waited out here, as Zendesk asks (Retry-After, up to MAX_WAIT seconds, a few
        times): retrying the whole run instead would send again what was already written. A 5xx on
        a GET is waited out the same way; on a write it is not repeated (it may have been done)."""
        url, what = self.url(path), what or path
        raw = None if body is None else json.dumps(body, ensure_ascii=False, default=str).encode()
        for attempt in range(WRITE_ATTEMPTS):
            response = self._send(url, method, raw)
            if response.status == 401 and self.conn.refresh is not None:
                self.token = str(self.conn.refresh(self.token).get("accessToken") or "")
                response = self._send(url, method, raw)
            waiting = response.status == 429 or (method == "GET" and response.status >= 500)
            wait = parse_retry_after(response.headers.get("retry-after"))
            if waiting and attempt + 1 < WRITE_ATTEMPTS and (wait is None or wait <= MAX_WAIT):
                sleep(min(wait if wait is not None else 2 ** attempt, MAX_WAIT))
                continue
            return self._payload(response, what)
        raise AssertionError("unreachable")

    def _send(self, url: str, method: str = "GET", body: bytes | None = None) -> net.Response:
        self.calls += 1
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            return net.request(method, url, headers=headers, body=body)
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
                                 "(and, to write, write) scope. Fix that in Zendesk, then Re-authorize.")
        if status == 404 and what.endswith("users/me.json"):
            raise ConnectorError(f"There is no Zendesk account at {self.host}: check the subdomain.")
        if status in (301, 302, 303, 307, 308):
            raise ConnectorError(f"{self.host} redirected {what} elsewhere: it does not look like a Zendesk "
                                 "account. Check the subdomain.")
        if not response.ok:
            raise ConnectorError(f"{self.account()} refused {what} (HTTP {status}{_error_detail(response)}).")
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(f"{self.host} answered {what} with something that is not JSON: check the "
                                 "subdomain.") from None


def _error_detail(response: net.Response) -> str:
    """': <error>: <description>' from Zendesk's {"error", "description", "details"} answer."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):  # {"error": {"title", "message"}}
        error = error.get("title") or error.get("message")
    parts = [str(p) for p in (error, body.get("description")) if p]
    if body.get("details"):
        parts.append(json.dumps(body["details"], ensure_ascii=False)[:300])
    return (": " + ": ".join(parts))[:500] if parts else ""
