"""Calls to the Deep Security API (Cloud One Workload Security, or a Deep Security Manager) with an
API secret key, through the SSRF guard (connections/net.py).

Every object is read with its search endpoint, `POST /api/<resource>/search`, paged by ID: each
request asks for `maxItems` records whose ID is greater than the last one seen, sorted by ID
(`sortByObjectID`), until a page comes back short. Failures become ConnectorErrors a person can act
on: 401/403 name the API secret key, 429 and 5xx are transient (with the server's Retry-After), and
a page that is not the documented JSON fails the run naming the object and the page. Django-free."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.retry import parse_retry_after

# Cloud One regions (https://workload.<region>.cloudone.trendmicro.com/api).
REGIONS = ("us-1", "in-1", "gb-1", "jp-1", "de-1", "au-1", "ca-1", "sg-1", "trend-us-1")
PAGE_SIZE = 500  # the API's default maxItems is 5000; smaller pages keep each answer modest
API_VERSION = "v1"


def api_base(properties: Mapping[str, Any]) -> str:
    """The API address: apiUrl when given (a Deep Security Manager, e.g. https://dsm:4119/api, or
    a test server), else Cloud One's for the region. Ends without a slash."""
    override = str(properties.get("apiUrl") or "").strip()
    if override:
        parts = urlsplit(override)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ConnectorError(f'apiUrl: "{override[:100]}" is not an http(s) address (for a Deep Security '
                                 "Manager: https://<manager>:4119/api).")
        return override.rstrip("/")
    region = str(properties.get("region") or "us-1").strip().lower()
    if region not in REGIONS:
        raise ConnectorError(f'region: "{region[:40]}" is not a Cloud One region ({", ".join(REGIONS)}).')
    return f"https://workload.{region}.cloudone.trendmicro.com/api"


class TrendMicroApi:
    """Searches for one connection."""

    def __init__(self, conn: ConnectionInfo):
        self.base = api_base(conn.properties)
        self.host = urlsplit(self.base).netloc
        self._key = str(conn.credentials.get("apiSecretKey") or "")
        if not self._key:
            raise ConnectorError("apiSecretKey: is required (Cloud One: Administration > API Keys).")

    def search(self, resource: str, criteria: list[dict], what: str, max_items: int = PAGE_SIZE) -> Any:
        """The JSON answer of one POST <base>/<resource>/search."""
        query = {"maxItems": max_items, "searchCriteria": criteria, "sortByObjectID": True}
        body = json.dumps(query).encode()
        headers = {"api-secret-key": self._key, "api-version": API_VERSION,
                   "Content-Type": "application/json", "Accept": "application/json"}
        try:
            response = net.request("POST", f"{self.base}/{resource}/search", headers=headers, body=body)
        except net.BlockedAddress:
            raise
        except ConnectorError as exc:
            if "could not be found" in exc.message:
                raise ConnectorError(f"There is no Trend Micro API at {self.host}: check the region or "
                                     "apiUrl.") from None
            raise
        return self._payload(response, what)

    def pages(self, resource: str, list_key: str, id_key: str, criteria: list[dict],
              label: str) -> Iterator[list[dict]]:
        """Every page of a search, by ID: `criteria` (a date range) plus ID > the last ID seen."""
        last: int | None = None
        page = 0
        while True:
            page += 1
            what = f"{label} page {page}"
            id_test = [] if last is None else [{"idValue": last, "idTest": "greater-than"}]
            body = self.search(resource, criteria + id_test, what)
            rows = body.get(list_key) if isinstance(body, dict) else None
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise ConnectorError(f"Trend Micro answered {what} without a {list_key} list: the page is "
                                     "malformed, so the run stops and nothing is published.")
            ids = [r.get(id_key) for r in rows]
            if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
                raise ConnectorError(f"Trend Micro answered {what} with a record without a numeric "
                                     f"{id_key}: the page is malformed, so the run stops and nothing is "
                                     "published.")
            if rows:
                yield rows
            if len(rows) < PAGE_SIZE:
                return
            newest = max(ids)
            if last is not None and newest <= last:  # a server ignoring the ID criterion: never loop
                raise ConnectorError(f"Trend Micro answered {what} with IDs that do not go past {last}: "
                                     "the page is malformed, so the run stops and nothing is published.")
            last = newest

    def _payload(self, response: net.Response, what: str) -> Any:
        status = response.status
        detail = _error_detail(response)
        if status == 429 or status >= 500:
            busy = "is rate limiting Sluice (HTTP 429)" if status == 429 else f"answered HTTP {status}"
            raise ConnectorError(f"The Trend Micro API at {self.host} {busy} for {what}{detail}; the run "
                                 "will retry.", permanent=False,
                                 retry_after=parse_retry_after(response.headers.get("retry-after")))
        if status == 401:
            raise ConnectorError(f"Trend Micro refused the API secret key for {what} (HTTP 401{detail}): "
                                 "check that the key is active and not expired, or enter a new one.")
        if status == 403:
            raise ConnectorError(f"Trend Micro's API key may not read {what} (HTTP 403{detail}): give its "
                                 "role view rights on it.")
        if not response.ok:
            raise ConnectorError(f"The Trend Micro API at {self.host} refused {what} "
                                 f"(HTTP {status}{detail}).")
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(f"Trend Micro answered {what} with something other than JSON: the page is "
                                 "malformed, so the run stops and nothing is published (check the "
                                 "region or apiUrl if this is the connection test).") from None


_SAFE = re.compile(r"[\r\n]+")


def _error_detail(response: net.Response) -> str:
    """': <message>' from the API's {"message": ...} error body."""
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        return ""
    return f": {_SAFE.sub(' ', str(message))[:300]}" if message else ""
