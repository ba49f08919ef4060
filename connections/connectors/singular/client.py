"""Calls to Singular's Reporting API for one connection, through the SSRF guard (connections/net.py).

From https://support.singular.net/hc/en-us/articles/360045245692-Reporting-API-Reference: the API
key goes in an Authorization header (never in a URL, where logs keep it); every answer is
{"status": 0, "substatus": 0, "value": {...}} when it worked; a report is created
(POST create_async_report -> report_id), polled (GET get_report_status -> QUEUED / STARTED / DONE /
FAILED, with a download_url once DONE) and its result file downloaded from that URL, a signed
address on Singular's storage that gets no API key. 429 (too many requests; Singular runs at most
100 async reports at once) and 5xx are asked again a few times, honouring Retry-After. Django-free."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import IO, Any
from urllib.parse import urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.retry import backoff_delay, parse_retry_after

DEFAULT_BASE = "https://api.singular.net"
RETRIES = 3
RETRY_CAP_SECONDS = 120.0
sleep = time.sleep  # tests replace it


def base_url(properties: Mapping[str, Any]) -> str:
    override = str(properties.get("baseUrl") or "").strip()
    if not override:
        return DEFAULT_BASE + "/"
    parts = urlsplit(override)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectorError(f'baseUrl: "{override[:100]}" is not an http(s) address.')
    return override.rstrip("/") + "/"


class SingularApi:
    """Requests for one connection; `calls` counts them."""

    def __init__(self, conn: ConnectionInfo):
        self.base = base_url(conn.properties)
        self.host = urlsplit(self.base).netloc
        self._key = str(conn.credentials.get("apiKey") or "").strip()
        if not self._key:
            raise ConnectorError("apiKey: is required (Singular: Developer Tools, API Keys; the Reporting "
                                 "API key).")
        self.calls = 0

    def get(self, path: str, params: Mapping[str, Any] | None, what: str) -> Any:
        url = self.base + path + (f"?{urlencode(params)}" if params else "")
        return self._value(self._send("GET", url, None, what), what)

    def post(self, path: str, form: Mapping[str, Any], what: str) -> Any:
        body = urlencode({k: v for k, v in form.items() if v not in (None, "")}).encode()
        return self._value(self._send("POST", self.base + path, body, what), what)

    def download(self, url: str, sink: IO[bytes], what: str) -> bool:
        """The result file into `sink`; False when the signed address has expired (403/404 from the
        storage: ask the status again for a fresh one)."""
        sink.seek(0)
        sink.truncate()
        self.calls += 1
        # no API key: the signed address carries its own authorization, and it is not Singular's API
        response = net.request("GET", url, sink=sink, timeout=300.0)
        if response.ok:
            return True
        if response.status in (403, 404, 410):
            return False
        raise ConnectorError(f"Singular's result file of {what} could not be downloaded "
                             f"(HTTP {response.status}).", permanent=response.status < 500)

    def _send(self, method: str, url: str, body: bytes | None, what: str) -> net.Response:
        headers = {"Authorization": self._key, "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(1, RETRIES + 2):
            self.calls += 1
            response = net.request(method, url, headers=headers, body=body)
            if response.status != 429 and response.status < 500:
                return response
            error = self._busy(response, what)
            if attempt > RETRIES:
                raise error
            sleep(backoff_delay(attempt, base=2.0, cap=RETRY_CAP_SECONDS, retry_after=error.retry_after))
        return response  # not reached

    def _busy(self, response: net.Response, what: str) -> ConnectorError:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        busy = ("is rate limiting Sluice (HTTP 429)" if response.status == 429
                else f"answered HTTP {response.status}")
        return ConnectorError(f"Singular {busy} on {what}; the run will retry later.", permanent=False,
                              retry_after=retry_after)

    def _value(self, response: net.Response, what: str) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        message = _message(body)
        if response.status in (401, 403):
            return _raise(f"Singular refused the API key (HTTP {response.status}{message}). Check apiKey in "
                          "the connection: Singular, Developer Tools, API Keys (the Reporting API key).")
        if not isinstance(body, dict):
            return _raise(f"{self.host} answered {what} with something that is not Singular's JSON "
                          f"(HTTP {response.status}): check baseUrl.")
        if not response.ok or body.get("status") not in (0, "0"):
            return _raise(f"Singular refused {what} (HTTP {response.status}, status {body.get('status')}"
                          f"{message}).")
        value = body.get("value")
        if not isinstance(value, dict):
            return _raise(f"Singular's answer to {what} has no value object.")
        return value


def _message(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    value = body.get("value") if isinstance(body.get("value"), dict) else {}
    text = body.get("message") or body.get("error") or value.get("message") or value.get("error") or ""
    text = " ".join(str(text if isinstance(text, str) else json.dumps(text)).split())[:300]
    return f": {text}" if text else ""


def _raise(message: str) -> Any:
    raise ConnectorError(message)
