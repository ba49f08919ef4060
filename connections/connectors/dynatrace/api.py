"""Dynatrace's Environment API v2 for one connection: calls through the SSRF guard
(connections.net) with `Authorization: Api-Token ...`, `nextPageKey` paging (a follow-up request
carries only nextPageKey, as Dynatrace requires), and 429 answers waited out from Retry-After
(docs.dynatrace.com/docs/dynatrace-api/basics/access-limit). Django-free."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from time import sleep
from typing import Any
from urllib.parse import urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.retry import backoff_delay, parse_retry_after

ATTEMPTS = 5
MAX_WAIT = 120.0
ENVIRONMENT_ID = re.compile(r"^[a-z0-9]{3,20}$")
pause: Callable[[float], None] = sleep  # tests replace it so they need not sleep


def environment_url(properties: Mapping[str, Any]) -> str:
    """instanceUrl: a SaaS environment (https://<id>.live.dynatrace.com, or its id alone) or a
    Managed one (https://<domain>/e/<environment id>)."""
    value = str(properties.get("instanceUrl") or "").strip()
    if ENVIRONMENT_ID.match(value):
        return f"https://{value}.live.dynatrace.com"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConnectorError(f'instanceUrl: "{value[:100]}" is not a Dynatrace environment URL; write '
                             "https://<environment id>.live.dynatrace.com (SaaS) or "
                             "https://<your domain>/e/<environment id> (Managed).")
    return value.rstrip("/")


class DynatraceApi:
    """Calls for one connection; `calls` counts them (each try is one)."""

    def __init__(self, conn: ConnectionInfo):
        self.base = environment_url(conn.properties) + "/api/v2"
        self.headers = {"Authorization": f"Api-Token {conn.credentials.get('apiToken') or ''}",
                        "Accept": "application/json"}
        self.calls = 0
        self.waited = 0.0

    def get(self, path: str, params: Mapping[str, Any], *, what: str) -> dict:
        url = f"{self.base}{path}?{urlencode(params)}"
        for attempt in range(1, ATTEMPTS + 1):
            self.calls += 1
            response = net.request("GET", url, headers=self.headers)
            if response.status == 429 or response.status >= 500:
                wait = parse_retry_after(response.headers.get("retry-after"))
                if attempt < ATTEMPTS:
                    delay = backoff_delay(attempt, base=1.0, cap=MAX_WAIT, retry_after=wait)
                    self.waited += delay
                    pause(delay)
                    continue
                raise ConnectorError(f"Dynatrace answered HTTP {response.status} for {what} {ATTEMPTS} "
                                     "times; the run will retry later.", permanent=False, retry_after=wait)
            return self._payload(response, what)
        raise AssertionError("unreachable")

    def pages(self, path: str, params: Mapping[str, Any], *, what: str) -> Iterator[dict]:
        """Every page: the first with `params`, the next ones with nextPageKey alone."""
        query: Mapping[str, Any] = params
        while True:
            page = self.get(path, query, what=what)
            yield page
            key = page.get("nextPageKey")
            if not key:
                return
            query = {"nextPageKey": key}

    def _payload(self, response: net.Response, what: str) -> dict:
        status, detail = response.status, _error(response)
        if status == 401:
            raise ConnectorError(f"Dynatrace refused the API token for {what} (HTTP 401{detail}): check the "
                                 "token, and that it belongs to this environment.")
        if status == 403:
            raise ConnectorError(f"The Dynatrace API token may not read {what} (HTTP 403{detail}): give it "
                                 "the scopes problems.read, events.read, auditLogs.read, entities.read and "
                                 "metrics.read.")
        if status == 404:
            raise ConnectorError(f"Dynatrace has no {what} here (HTTP 404{detail}): check the environment "
                                 "URL.")
        if not response.ok:
            raise ConnectorError(f"Dynatrace refused {what} (HTTP {status}{detail}).")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ConnectorError(f"Dynatrace answered {what} with something that is not a JSON object; the "
                                 "run stops and nothing is published.")
        return body


def _error(response: net.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return f": {str(message)[:300]}" if message else ""


def size(page: Mapping[str, Any]) -> int:
    return len(json.dumps(page))
