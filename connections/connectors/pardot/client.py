"""Calls to one Pardot (Account Engagement) business unit, API v5, through the SSRF guard
(connections/net.py).

Every request carries the Salesforce OAuth access token and the `Pardot-Business-Unit-Id` header.
Pardot answers errors as {"code", "message"} (its numeric error codes, shared by v3/v4/v5):
- 184 (or any 401): the access token expired: the shared OAuth machinery refreshes it once;
- 66: more than the allowed concurrent requests: waited out here with backoff, a few times;
- 122: the daily API request quota is used up: the run fails at once with a message saying when
  the quota resets (AppFlow "handles these transparently"; retrying until midnight would only
  burn workers, so the next scheduled run picks the work up);
- 181: the business unit id is wrong (names the connection field).
Django-free."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from time import sleep
from typing import Any
from urllib.parse import urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.connectors.salesforce.client import LOGIN_HOSTS
from connections.retry import backoff_delay, parse_retry_after

API_HOSTS = {False: "https://pi.pardot.com", True: "https://pi.demo.pardot.com"}
CONCURRENCY_ATTEMPTS = 5  # tries of one request while Pardot answers "too many concurrent requests"
MAX_WAIT = 30.0  # seconds between those tries, at most
DAILY_LIMIT, CONCURRENT_LIMIT, BAD_TOKEN, BAD_BUSINESS_UNIT = 122, 66, 184, 181
_BUSINESS_UNIT = re.compile(r"^0Uv[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$")
# how the client waits between tries; tests replace it so they need not sleep
pause: Callable[[float], None] = sleep


def is_sandbox(properties: Mapping[str, Any]) -> bool:
    value = properties.get("isSandboxEnvironment", False)
    return value if isinstance(value, bool) else str(value).strip().lower() == "true"


def _http_url(value: str, field: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConnectorError(f'{field}: "{value[:100]}" is not an http(s) address.')
    return value.rstrip("/")


def login_url(properties: Mapping[str, Any]) -> str:
    """Where people log in to Salesforce: loginUrl (a My Domain address), else login.salesforce.com
    (production) or test.salesforce.com (sandbox), as the Salesforce connector does."""
    override = str(properties.get("loginUrl") or "").strip()
    if override:
        return _http_url(override, "loginUrl")
    return LOGIN_HOSTS["Sandbox" if is_sandbox(properties) else "Production"]


def api_url(properties: Mapping[str, Any]) -> str:
    """pi.pardot.com (production) or pi.demo.pardot.com (sandbox), or the instanceUrl override. A
    connection imported from AppFlow may carry the org's Salesforce instance URL there (AppFlow
    keeps "the location of the resource"); the Pardot API is not on it, so that one is not used."""
    override = str(properties.get("instanceUrl") or "").strip()
    if override:
        url = _http_url(override, "instanceUrl")
        host = (urlsplit(url).hostname or "").lower()
        if not host.endswith((".salesforce.com", ".force.com")):
            return url
    return API_HOSTS[is_sandbox(properties)]


def business_unit(properties: Mapping[str, Any]) -> str:
    value = str(properties.get("businessUnitId") or "").strip()
    if not value:
        raise ConnectorError("businessUnitId: is required (in Salesforce: Setup, Pardot Account Setup; "
                             "it starts with 0Uv and is 18 characters long).")
    if not _BUSINESS_UNIT.match(value):
        raise ConnectorError(f'businessUnitId: "{value[:40]}" is not a Pardot Business Unit ID (it starts '
                             "with 0Uv and is 18 characters long; Setup, Pardot Account Setup shows it).")
    return value


class PardotApi:
    """GETs of API v5 for one connection."""

    def __init__(self, conn: ConnectionInfo):
        self.conn = conn
        self.base = api_url(conn.properties)
        self.host = urlsplit(self.base).netloc
        self.business_unit = business_unit(conn.properties)
        self.token = str(conn.credentials.get("accessToken") or "")

    def get(self, path: str, params: Mapping[str, Any], what: str) -> Any:
        """GET /api/v5/<path>?<params>; `what` names the request in messages ("prospects page 3")."""
        url = f"{self.base}/api/v5/{path}?{urlencode(params)}"
        refreshed = False
        for attempt in range(1, CONCURRENCY_ATTEMPTS + 1):
            response = self._send(url)
            code = _code(response)
            expired = response.status == 401 or code == BAD_TOKEN
            if expired and not refreshed and self.conn.refresh is not None:
                refreshed = True
                self.token = str(self.conn.refresh(self.token).get("accessToken") or "")
                response = self._send(url)
                code = _code(response)
            busy = code == CONCURRENT_LIMIT or (response.status in (429, 503) and code != DAILY_LIMIT)
            if busy and attempt < CONCURRENCY_ATTEMPTS:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                pause(backoff_delay(attempt, base=1.0, cap=MAX_WAIT, retry_after=retry_after))
                continue
            return self._payload(response, code, what)
        raise AssertionError("unreachable")

    def _send(self, url: str) -> net.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Pardot-Business-Unit-Id": self.business_unit,
                   "Accept": "application/json"}
        return net.request("GET", url, headers=headers)

    def _payload(self, response: net.Response, code: int | None, what: str) -> Any:
        status, detail = response.status, _message(response)
        if code == DAILY_LIMIT:
            raise ConnectorError(
                f"Pardot's daily API request quota for this business unit is used up (error 122: {detail}) "
                f"while reading {what}. It resets at midnight in the Pardot account's time zone; the run "
                "stops here without publishing anything, and the next run after the reset reads again.")
        if code == CONCURRENT_LIMIT or status == 429 or status >= 500:
            why = ("has too many concurrent API requests (error 66)" if code == CONCURRENT_LIMIT
                   else f"answered HTTP {status}")
            wait = parse_retry_after(response.headers.get("retry-after"))
            raise ConnectorError(f"Pardot {why} for {what}{_tail(detail)}; the run will retry later.",
                                 permanent=False, retry_after=wait)
        if status == 401 or code == BAD_TOKEN:
            raise ConnectorError("Pardot refused the access token (HTTP 401). Open the connection and choose "
                                 "Re-authorize.")
        if code == BAD_BUSINESS_UNIT:
            raise ConnectorError(f"Pardot does not know the business unit {self.business_unit} for this "
                                 f"login (error 181{_tail(detail)}): check businessUnitId (Setup, Pardot "
                                 "Account Setup) and that the user who authorized has Pardot access to it.")
        if status == 403:
            raise ConnectorError(f"Pardot forbids {what} (HTTP 403{_tail(detail)}): the user who authorized "
                                 "the connection needs a Pardot role that may read it.")
        if not response.ok:
            raise ConnectorError(f"Pardot refused {what} (HTTP {status}{_tail(detail)}).")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ConnectorError(f"Pardot answered {what} with something that is not a JSON object "
                                 f"(from {self.host}); nothing was published.")
        return body


def _body(response: net.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _code(response: net.Response) -> int | None:
    if response.ok:
        return None
    code = _body(response).get("code")
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


def _message(response: net.Response) -> str:
    return " ".join(str(_body(response).get("message") or "").split())[:300]


def _tail(detail: str) -> str:
    return f": {detail}" if detail else ""
