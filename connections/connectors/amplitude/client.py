"""Calls to one Amplitude project's Export API, through the SSRF guard (connections/net.py).

Amplitude's documented answers (https://amplitude.com/docs/apis/analytics/export, and the error
table of https://community.amplitude.com/data-instrumentation-57/common-api-error-codes-215):
200 with a zip archive; 404 when the range holds no data (not an error: an empty hour); 400 when
the export would exceed 4 GB; 504 when the export timed out; 401/403 for keys it refuses; 429 when
Sluice asks too often. A 429 or a 5xx is waited out here a few times (its Retry-After honoured)
before the run is failed as transient. Django-free."""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from datetime import datetime
from typing import IO, Any
from urllib.parse import urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.retry import backoff_delay, parse_retry_after

# Data residency -> the Export API's host (Amplitude's "Regions" table).
RESIDENCY_HOSTS = {"US": "https://amplitude.com", "EU": "https://analytics.eu.amplitude.com"}
EXPORT_PATH = "api/2/export"
EVENTS_LIST_PATH = "api/2/events/list"
HOUR_FORMAT = "%Y%m%dT%H"  # Amplitude's start / end parameters: YYYYMMDDTHH, UTC
RETRIES = 3  # a rate-limited or busy hour is asked again this many times before the run fails
RETRY_CAP_SECONDS = 120.0
EXPORT_TIMEOUT_SECONDS = 300.0  # Amplitude builds the archive before it answers
sleep = time.sleep  # tests replace it


def base_url(properties: Mapping[str, Any]) -> str:
    """The Export API's address: the baseUrl override (a test server, a proxy) or the host of the
    project's data residency."""
    override = str(properties.get("baseUrl") or "").strip()
    if override:
        parts = urlsplit(override)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectorError(f'baseUrl: "{override[:100]}" is not an http(s) address.')
        return override.rstrip("/") + "/"
    residency = str(properties.get("dataResidency") or "US").strip().upper()
    if residency not in RESIDENCY_HOSTS:
        raise ConnectorError(f'dataResidency: "{residency[:20]}" is not US or EU (the data center of '
                             "your Amplitude project).")
    return RESIDENCY_HOSTS[residency] + "/"


class AmplitudeApi:
    """Export API calls for one connection; `calls` counts the requests sent."""

    def __init__(self, conn: ConnectionInfo):
        self.base = base_url(conn.properties)
        self.host = urlsplit(self.base).netloc
        key = str(conn.credentials.get("apiKey") or "").strip()
        secret = str(conn.credentials.get("secretKey") or "").strip()
        if not key:
            raise ConnectorError("apiKey: is required (Amplitude: Settings, Projects, your project, "
                                 "API key).")
        if not secret:
            raise ConnectorError("secretKey: is required (Amplitude: Settings, Projects, your project, "
                                 "Secret key).")
        self._auth = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
        self.calls = 0

    def check_keys(self) -> None:
        """One cheap call with the keys: the Dashboard REST API's list of event types
        (https://amplitude.com/docs/apis/analytics/dashboard-rest: same hosts, same basic auth).
        An export would do as well, but could download a whole hour of a busy project."""
        self.calls += 1
        response = net.request("GET", self.base + EVENTS_LIST_PATH, headers={"Authorization": self._auth},
                               max_body_bytes=1 << 20)
        if not response.ok:
            raise self._error(response, "the list of event types")

    def export(self, start: datetime, end: datetime, sink: IO[bytes]) -> bool:
        """Write the archive of the hours start..end (both included, UTC) to `sink`; False when
        Amplitude has no data for them (its 404), True when the archive was written."""
        what = _hours(start, end)
        url = self.base + EXPORT_PATH + "?" + urlencode({"start": start.strftime(HOUR_FORMAT),
                                                         "end": end.strftime(HOUR_FORMAT)})
        for attempt in range(1, RETRIES + 2):
            sink.seek(0)
            sink.truncate()
            self.calls += 1
            response = net.request("GET", url, headers={"Authorization": self._auth}, sink=sink,
                                   timeout=EXPORT_TIMEOUT_SECONDS)
            if response.ok:
                return True
            if response.status == 404:
                return False
            error = self._error(response, what)
            if error.permanent or attempt > RETRIES:
                raise error
            sleep(backoff_delay(attempt, base=2.0, cap=RETRY_CAP_SECONDS, retry_after=error.retry_after))
        return False  # not reached: the last attempt raised

    def _error(self, response: net.Response, what: str) -> ConnectorError:
        status = response.status
        detail = " ".join(response.body[:300].decode("utf-8", "replace").split())
        detail = f": {detail}" if detail and not detail.startswith("<") else ""
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status == 429:
            return ConnectorError(f"Amplitude is rate limiting Sluice (HTTP 429) on {_export(what)}; "
                                  "the run will retry later.", permanent=False, retry_after=retry_after)
        if status in (500, 502, 503, 504, 408):
            timeout = " (the export timed out at Amplitude)" if status == 504 else ""
            return ConnectorError(f"Amplitude answered HTTP {status} for {_export(what)}{timeout}; the "
                                  "run will retry later.", permanent=False, retry_after=retry_after)
        if status in (401, 403):
            return ConnectorError(f"Amplitude refused the API key and secret key (HTTP {status}). Check both "
                                  "in the connection (Amplitude: Settings, Projects, your project), and that "
                                  f"the data residency ({'EU' if 'eu.' in self.host else 'US'}) is the "
                                  "project's.")
        if status == 400:
            return ConnectorError(f"Amplitude refused {_export(what)} (HTTP 400{detail}). Amplitude "
                                  "exports at most 4 GB at once; an hour over that can only leave Amplitude "
                                  "through its Amazon S3 export.")
        if status in (301, 302, 303, 307, 308):
            return ConnectorError(f"{self.host} redirected the export elsewhere: it does not look like the "
                                  "Amplitude Export API. Check the data residency (or baseUrl).")
        return ConnectorError(f"Amplitude refused {_export(what)} (HTTP {status}{detail}).")


def _export(what: str) -> str:
    return what if what.startswith("the list") else f"the export of {what}"


def _hours(start: datetime, end: datetime) -> str:
    first = start.strftime("%Y-%m-%d %H:00")
    return f"the hour {first} UTC" if start == end else f"{first} to {end.strftime('%Y-%m-%d %H:59')} UTC"
