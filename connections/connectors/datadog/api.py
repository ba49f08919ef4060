"""Datadog's API for one connection: every call through the SSRF guard (connections.net) with the
DD-API-KEY / DD-APPLICATION-KEY headers, on the host of the connection's site, and Datadog's
rate-limit headers obeyed (docs.datadoghq.com/api/latest/rate-limits/): X-RateLimit-Remaining 0
waits X-RateLimit-Reset seconds before the next call; a 429 is waited out the same way and retried.
Django-free."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from time import sleep
from typing import Any
from urllib.parse import urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.retry import backoff_delay

# The API host of each Datadog site (docs.datadoghq.com/getting_started/site/).
SITES: dict[str, str] = {
    "US1": "https://api.datadoghq.com",
    "US3": "https://api.us3.datadoghq.com",
    "US5": "https://api.us5.datadoghq.com",
    "EU": "https://api.datadoghq.eu",
    "AP1": "https://api.ap1.datadoghq.com",
    "US1-FED": "https://api.ddog-gov.com",
}
ATTEMPTS = 5  # tries of one call while Datadog answers 429 or 5xx
MAX_WAIT = 120.0
# how the client waits; tests replace it so they need not sleep
pause: Callable[[float], None] = sleep


def api_address(properties: Mapping[str, Any]) -> str:
    """instanceUrl (AppFlow's property: another address, a proxy or a test server) or the site's host."""
    value = str(properties.get("instanceUrl") or "").strip()
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ConnectorError(f'instanceUrl: "{value[:100]}" is not an http(s) address; leave it empty to '
                                 "use the site's own API host.")
        return value.rstrip("/")
    site = str(properties.get("site") or "US1")
    if site not in SITES:
        raise ConnectorError(f'site: "{site[:40]}" is not a Datadog site; choose one of {", ".join(SITES)}.')
    return SITES[site]


def _number(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value not in (None, "") else None
    except ValueError:
        return None


class DatadogApi:
    """Calls for one connection. `calls` counts the API calls made (each try is one)."""

    def __init__(self, conn: ConnectionInfo):
        self.base = api_address(conn.properties)
        self.headers = {"DD-API-KEY": str(conn.credentials.get("apiKey") or ""),
                        "DD-APPLICATION-KEY": str(conn.credentials.get("applicationKey") or ""),
                        "Accept": "application/json"}
        self.calls = 0
        self.waited = 0.0  # seconds spent waiting for Datadog's rate limit, for the run log
        self._wait_before_next = 0.0

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, what: str) -> Any:
        return self.call("GET", path + (f"?{urlencode(params)}" if params else ""), what=what)

    def post(self, path: str, body: Mapping[str, Any], *, what: str) -> Any:
        return self.call("POST", path, body=body, what=what)

    def call(self, method: str, path: str, *, what: str, body: Any = None) -> Any:
        raw = None if body is None else json.dumps(body).encode()
        headers = {**self.headers, **({"Content-Type": "application/json"} if raw is not None else {})}
        for attempt in range(1, ATTEMPTS + 1):
            self._wait(self._wait_before_next)
            self._wait_before_next = 0.0
            self.calls += 1
            response = net.request(method, self.base + path, headers=headers, body=raw)
            reset = _number(response.headers.get("x-ratelimit-reset"))
            if response.status == 429 or response.status >= 500:
                if attempt < ATTEMPTS:
                    self._wait(backoff_delay(attempt, base=1.0, cap=MAX_WAIT, retry_after=reset))
                    continue
                raise ConnectorError(f"Datadog answered HTTP {response.status} for {what} {ATTEMPTS} times"
                                     f"{' (rate limited)' if response.status == 429 else ''}; the run will "
                                     "retry later.", permanent=False, retry_after=reset)
            if _number(response.headers.get("x-ratelimit-remaining")) == 0 and reset:
                self._wait_before_next = min(reset, MAX_WAIT)  # the limit is used up until the reset
            return self._payload(response, what)
        raise AssertionError("unreachable")

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited += seconds
            pause(seconds)

    def _payload(self, response: net.Response, what: str) -> Any:
        status = response.status
        detail = _errors(response)
        if status in (401, 403):
            raise ConnectorError(f"Datadog refused the API key or the application key for {what} "
                                 f"(HTTP {status}{detail}). Check both keys, that they belong to this site "
                                 f"({self.base}), and that the application key's scopes allow reading it.")
        if status == 404:
            raise ConnectorError(f"Datadog has no {what} at {self.base} (HTTP 404{detail}): check the site.")
        if status == 400:
            raise ConnectorError(f"Datadog refused {what} (HTTP 400{detail}): check the query filter.")
        if not response.ok:
            raise ConnectorError(f"Datadog refused {what} (HTTP {status}{detail}).")
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(f"Datadog answered {what} with something that is not JSON; the run stops "
                                 "and nothing is published.") from None


def _errors(response: net.Response) -> str:
    """Datadog's {"errors": ["..."]} as ": ..." for a message."""
    try:
        body = response.json()
    except ValueError:
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        text = "; ".join(str(e.get("detail") or e.get("title") or e) if isinstance(e, dict) else str(e)
                         for e in errors[:3])
        return f": {text[:300]}"
    return ""
