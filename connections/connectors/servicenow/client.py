"""Calls to one ServiceNow instance's REST Table API with basic authentication, through the SSRF
guard (connections/net.py).

Failures become ConnectorErrors a person can act on: 429 and 5xx are transient (with the
instance's Retry-After), 401 says the user name or password is wrong, 403 names the missing role,
and a web page where JSON was expected (a hibernating developer instance, a login page) is named.
Django-free."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.retry import parse_retry_after

_INSTANCE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
PAGE_SIZE = 1000  # well under the Table API's 10,000 rows per call


def instance_url(properties: Mapping[str, Any]) -> str:
    """https://<instance>.service-now.com/ from "acme", "acme.service-now.com" or a full address.
    A full http(s) address other than service-now.com (a custom domain, a test server) is taken
    as it is; every request to it still goes through the SSRF guard."""
    raw = str(properties.get("instanceUrl") or "").strip()
    if not raw:
        raise ConnectorError('instanceUrl: is required (your instance: the "acme" of acme.service-now.com).')
    if re.match(r"^https?://", raw, re.IGNORECASE):
        parts = urlsplit(raw)
        if not parts.hostname:
            raise ConnectorError(f'instanceUrl: "{raw[:100]}" has no host name.')
        host = parts.hostname.lower()
        if not host.endswith(".service-now.com"):
            return f"{parts.scheme.lower()}://{parts.netloc}/"
        raw = host
    name = raw.lower().rstrip("/").removesuffix(".service-now.com")
    if not _INSTANCE.match(name):
        raise ConnectorError(f'instanceUrl: "{raw[:80]}" is not a ServiceNow instance name (give the '
                             '"acme" of acme.service-now.com: letters, digits and hyphens).')
    return f"https://{name}.service-now.com/"


class ServiceNowApi:
    """GETs for one connection; counts the calls it made (they count against the instance's
    rate limits)."""

    def __init__(self, conn: ConnectionInfo):
        self.base = instance_url(conn.properties)
        self.host = urlsplit(self.base).netloc
        user = str(conn.credentials.get("username") or "")
        if not user:
            raise ConnectorError("username: is required (the ServiceNow user Sluice signs in as).")
        password = str(conn.credentials.get("password") or "")
        self._auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.calls = 0

    def get(self, path: str, params: Mapping[str, Any], what: str) -> tuple[Any, Mapping[str, str]]:
        """(JSON body, headers) of GET base+path?params; `what` names the call in messages."""
        self.calls += 1
        url = self.base + path + "?" + urlencode(params)
        try:
            response = net.request("GET", url, headers={"Authorization": self._auth,
                                                        "Accept": "application/json"})
        except net.BlockedAddress:
            raise
        except ConnectorError as exc:
            if "could not be found" in exc.message:
                raise ConnectorError(f"There is no ServiceNow instance at {self.host}: check the instance "
                                     "name.") from None
            raise
        return self._payload(response, what), response.headers

    def table(self, table: str, params: Mapping[str, Any], what: str = "") -> Iterator[list[dict]]:
        """Every page of /api/now/table/<table>: offset paging (sysparm_limit / sysparm_offset) until
        a short page, X-Total-Count is reached, or the Link header has no rel="next"."""
        offset = 0
        what = what or f"the table {table}"
        while True:
            body, headers = self.get(f"api/now/table/{table}",
                                     {**params, "sysparm_limit": PAGE_SIZE, "sysparm_offset": offset}, what)
            rows = body.get("result") if isinstance(body, dict) else None
            if not isinstance(rows, list):
                raise ConnectorError(f"{self.host} answered {what} without a result list: it does not look "
                                     "like the ServiceNow Table API.")
            yield rows
            offset += len(rows)
            total = headers.get("x-total-count")
            link = headers.get("link")
            if len(rows) < PAGE_SIZE or not rows:
                return
            if total is not None and total.isdigit() and offset >= int(total):
                return
            if link is not None and 'rel="next"' not in link:
                return

    def _payload(self, response: net.Response, what: str) -> Any:
        status = response.status
        if status == 429 or status >= 500 or status in (408, 425):
            busy = "is rate limiting Sluice (HTTP 429)" if status == 429 else f"answered HTTP {status}"
            raise ConnectorError(f"The ServiceNow instance {self.host} {busy} for {what}; the run will retry "
                                 "later.", permanent=False,
                                 retry_after=parse_retry_after(response.headers.get("retry-after")))
        if status == 401:
            raise ConnectorError(f"The ServiceNow instance {self.host} refused the sign-in (HTTP 401): wrong "
                                 "user name or password, or the user is locked out or not active. Check them "
                                 "in the connection.")
        detail = _error_detail(response)
        if status == 403:
            raise ConnectorError(f"The ServiceNow user may not read {what} (HTTP 403{detail}). Give the user "
                                 "the admin, web_service_admin or rest_api_explorer role, or read access to "
                                 "it.")
        if status == 404:
            raise ConnectorError(f"The ServiceNow instance {self.host} has no {what} (HTTP 404{detail}).")
        if status in (301, 302, 303, 307, 308):
            raise ConnectorError(f"{self.host} redirected {what} elsewhere: it does not look like a "
                                 "ServiceNow instance. Check the instance name.")
        if not response.ok:
            raise ConnectorError(f"The ServiceNow instance {self.host} refused {what} "
                                 f"(HTTP {status}{detail}).")
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(f"{self.host} answered {what} with a web page, not the REST API: check the "
                                 "instance name (a developer instance may be hibernating: wake it at "
                                 "developer.servicenow.com).") from None


def _error_detail(response: net.Response) -> str:
    """': <message>' from ServiceNow's {"error": {"message", "detail"}, "status": "failure"}."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return ""
    if not isinstance(error, dict):
        return ""
    text = "; ".join(str(error[k]) for k in ("message", "detail") if error.get(k))
    return f": {text[:300]}" if text else ""
