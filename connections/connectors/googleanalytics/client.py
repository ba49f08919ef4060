"""Calls to Google's Analytics Admin API (account summaries) and Data API (metadata, runReport),
through the SSRF guard (connections/net.py).

Google answers errors as {"error": {"code", "message", "status"}}. A 401 (UNAUTHENTICATED) asks the
shared OAuth machinery for a fresh token once; 429 / RESOURCE_EXHAUSTED (a property or project quota)
and 503 UNAVAILABLE are retried here with exponential backoff (Google's advice for the Data API),
honouring a Retry-After when one comes, then fail the run as transient; 403 says which property the
Google account cannot read; 400 INVALID_ARGUMENT passes Google's reason on (incompatible dimensions
and metrics, an unknown field). Django-free."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from time import sleep
from typing import Any
from urllib.parse import urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.retry import backoff_delay, parse_retry_after

ADMIN_API = "https://analyticsadmin.googleapis.com"
DATA_API = "https://analyticsdata.googleapis.com"
AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
ATTEMPTS = 5  # tries of one request while Google answers RESOURCE_EXHAUSTED / UNAVAILABLE
MAX_WAIT = 60.0
PROPERTY = re.compile(r"^properties/[0-9]{1,20}$")
# how the client waits between tries; tests replace it so they need not sleep
pause: Callable[[float], None] = sleep


def override(properties: Mapping[str, Any]) -> str:
    """apiBaseUrl: one address standing for all of Google's hosts (a proxy, the tests' server)."""
    value = str(properties.get("apiBaseUrl") or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConnectorError(f'apiBaseUrl: "{value[:100]}" is not an http(s) address.')
    return value.rstrip("/")


def oauth_urls(properties: Mapping[str, Any]) -> tuple[str, str]:
    base = override(properties)
    return (f"{base}/o/oauth2/v2/auth", f"{base}/token") if base else (AUTHORIZE_URL, TOKEN_URL)


class GoogleApi:
    def __init__(self, conn: ConnectionInfo):
        self.conn = conn
        base = override(conn.properties)
        self.admin, self.data = (base, base) if base else (ADMIN_API, DATA_API)
        self.token = str(conn.credentials.get("accessToken") or "")

    def account_summaries(self, page_token: str = "") -> dict:
        params = {"pageSize": 200, **({"pageToken": page_token} if page_token else {})}
        return self.call("GET", f"{self.admin}/v1beta/accountSummaries?{urlencode(params)}",
                         what="the account summaries (Admin API)")

    def metadata(self, prop: str) -> dict:
        return self.call("GET", f"{self.data}/v1beta/{prop}/metadata", what=f"the fields of {prop}",
                         prop=prop)

    def run_report(self, prop: str, body: Mapping[str, Any], what: str) -> dict:
        return self.call("POST", f"{self.data}/v1beta/{prop}:runReport", body=body, what=what, prop=prop)

    def call(self, method: str, url: str, *, what: str, body: Any = None, prop: str = "") -> dict:
        raw = None if body is None else json.dumps(body).encode()
        refreshed = False
        for attempt in range(1, ATTEMPTS + 1):
            response = self._send(method, url, raw)
            if response.status == 401 and not refreshed and self.conn.refresh is not None:
                refreshed = True
                self.token = str(self.conn.refresh(self.token).get("accessToken") or "")
                response = self._send(method, url, raw)
            if response.status in (429, 503) and attempt < ATTEMPTS:
                wait = parse_retry_after(response.headers.get("retry-after"))
                pause(backoff_delay(attempt, base=2.0, cap=MAX_WAIT, retry_after=wait))
                continue
            return self._payload(response, what, prop)
        raise AssertionError("unreachable")

    def _send(self, method: str, url: str, body: bytes | None) -> net.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        return net.request(method, url, headers=headers, body=body)

    def _payload(self, response: net.Response, what: str, prop: str) -> dict:
        status, reason, detail = response.status, *_error(response)
        if status in (429, 503) or status >= 500:
            label = reason or f"HTTP {status}"
            raise ConnectorError(f"Google Analytics answered {label} for {what} after {ATTEMPTS} tries"
                                 f"{_tail(detail)}; the run will retry later.", permanent=False,
                                 retry_after=parse_retry_after(response.headers.get("retry-after")))
        if status == 401:
            raise ConnectorError("Google refused the access token (HTTP 401 UNAUTHENTICATED). Open the "
                                 "connection and choose Re-authorize.")
        if status == 403:
            whose = f"the property {prop}" if prop else "Google Analytics"
            raise ConnectorError(f"The Google account that authorized this connection may not read {whose} "
                                 f"(HTTP 403{_tail(detail)}): give it at least the Viewer role on the "
                                 "property, and enable the Google Analytics Data and Admin APIs in its "
                                 "Google Cloud project.")
        if status == 404 and prop:
            raise ConnectorError(f"Google Analytics has no property {prop} (HTTP 404): it was deleted, or "
                                 "the object names another account's property.")
        if not response.ok:
            raise ConnectorError(f"Google Analytics refused {what} (HTTP {status}{_tail(detail)}).")
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise ConnectorError(f"Google Analytics answered {what} with something that is not a JSON "
                                 "object; the run stops and nothing is published.")
        return payload


def _error(response: net.Response) -> tuple[str, str]:
    """(status such as RESOURCE_EXHAUSTED, message) of Google's error answer."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("status") or ""), " ".join(str(error.get("message") or "").split())[:300]


def _tail(detail: str) -> str:
    return f": {detail}" if detail else ""
