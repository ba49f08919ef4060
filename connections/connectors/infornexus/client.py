"""Calls to one Infor Nexus REST API (`https://network.infornexus.com/rest/3.1`), each signed with
HMAC_1 (signing.py) and sent through the SSRF guard (connections/net.py).

Reads are `GET <base>/<object type>/query?oql=<OQL>&limit=<n>&offset=<m>`; the answer holds the
records in `result` and the paging in `resultInfo` (`count` on this page, `hasMore`), so the next
page starts at offset + count while hasMore is true. Failures become ConnectorErrors a person can act
on: 401 names the four credentials, 403 the user's access, 429 and 5xx are transient (with the
server's Retry-After), and a page that is not the documented JSON fails the run naming the object
and the page. Django-free."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.retry import parse_retry_after

from .signing import signed_headers

PAGE_SIZE = 100
CREDENTIALS = ("accessKeyId", "userId", "secretAccessKey", "datakey")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")


def api_base(properties: Mapping[str, Any]) -> str:
    """The REST API address from instanceUrl: a subdomain (AppFlow's dialog: "network" for
    network.gtnexus.com), a host name (network.infornexus.com) or a full address; an address without
    a path gets /rest/3.1. Ends without a slash."""
    raw = str(properties.get("instanceUrl") or "").strip()
    if not raw:
        raise ConnectorError("instanceUrl: is required (your Infor Nexus address, e.g. "
                             "https://network.infornexus.com).")
    if not re.match(r"^https?://", raw, re.IGNORECASE):
        if not _HOST.match(raw.lower().rstrip("/")):
            raise ConnectorError(f'instanceUrl: "{raw[:100]}" is not a host name or an https:// address.')
        host = raw.lower().rstrip("/")
        # AppFlow's dialog asks for the subdomain of https://<subdomain>.gtnexus.com
        raw = "https://" + (host if "." in host else f"{host}.gtnexus.com")
    parts = urlsplit(raw)
    if not parts.hostname:
        raise ConnectorError(f'instanceUrl: "{raw[:100]}" has no host name.')
    path = parts.path.rstrip("/") or "/rest/3.1"
    return f"{parts.scheme.lower()}://{parts.netloc}{path}"


class InforNexusApi:
    def __init__(self, conn: ConnectionInfo):
        self.base = api_base(conn.properties)
        self.host = urlsplit(self.base).netloc
        missing = [k for k in CREDENTIALS if not str(conn.credentials.get(k) or "")]
        if missing:
            raise ConnectorError(f"{', '.join(missing)}: required (ask your Infor Nexus administrator "
                                 "for the access key ID, user ID, secret access key and data key).")
        self._keys = {k: str(conn.credentials[k]) for k in CREDENTIALS}

    def get(self, path: str, params: Mapping[str, Any], what: str) -> Any:
        url = f"{self.base}/{path}?{urlencode(params, quote_via=quote)}"
        headers = signed_headers("GET", url, access_key_id=self._keys["accessKeyId"],
                                 user_id=self._keys["userId"],
                                 secret_access_key=self._keys["secretAccessKey"],
                                 datakey=self._keys["datakey"])
        headers["Accept"] = "application/json"
        try:
            response = net.request("GET", url, headers=headers)
        except net.BlockedAddress:
            raise
        except ConnectorError as exc:
            if "could not be found" in exc.message:
                raise ConnectorError(f"There is no Infor Nexus at {self.host}: check instanceUrl.") from None
            raise
        return self._payload(response, what)

    def query(self, object_type: str, oql: str, label: str) -> Iterator[list[dict]]:
        """Every page of <object type>/query for the OQL, by limit and offset."""
        offset, page = 0, 0
        while True:
            page += 1
            what = f"{label} page {page}"
            body = self.get(f"{object_type}/query", {"oql": oql, "limit": PAGE_SIZE, "offset": offset}, what)
            rows = body.get("result") if isinstance(body, dict) else None
            info = body.get("resultInfo") if isinstance(body, dict) else None
            if rows is None and isinstance(info, dict) and info.get("count") == 0:
                rows = []  # an empty answer may leave result out
            records_ok = isinstance(rows, list) and all(isinstance(r, dict) for r in rows)
            if not records_ok or not isinstance(info, dict):
                raise ConnectorError(f"Infor Nexus answered {what} without a result list and resultInfo: "
                                     "the page is malformed, so the run stops and nothing is published.")
            if rows:
                yield rows
            if not info.get("hasMore") or not rows:
                return
            offset += len(rows)

    def _payload(self, response: net.Response, what: str) -> Any:
        status = response.status
        detail = _error_detail(response)
        if status == 429 or status >= 500:
            busy = "is rate limiting Sluice (HTTP 429)" if status == 429 else f"answered HTTP {status}"
            raise ConnectorError(f"Infor Nexus at {self.host} {busy} for {what}{detail}; the run will retry.",
                                 permanent=False,
                                 retry_after=parse_retry_after(response.headers.get("retry-after")))
        if status == 401:
            raise ConnectorError(f"Infor Nexus refused the request signature for {what} (HTTP 401{detail}): "
                                 "check the access key ID, user ID, secret access key and data key, and that "
                                 "this machine's clock is right (the signature includes the time).")
        if status == 403:
            raise ConnectorError(f"The Infor Nexus user may not read {what} (HTTP 403{detail}).")
        if status == 404:
            raise ConnectorError(f"Infor Nexus at {self.host} has no {what} (HTTP 404{detail}): check the "
                                 "object type and instanceUrl.")
        if not response.ok:
            raise ConnectorError(f"Infor Nexus at {self.host} refused {what} (HTTP {status}{detail}).")
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(f"Infor Nexus answered {what} with something other than JSON: the page is "
                                 "malformed, so the run stops and nothing is published.") from None


def _error_detail(response: net.Response) -> str:
    """': <message>' from an error body's message (or errorMessage)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    message = body.get("message") or body.get("errorMessage")
    return f": {' '.join(str(message).split())[:300]}" if message else ""
