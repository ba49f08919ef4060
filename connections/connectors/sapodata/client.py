"""Calls to one SAP Gateway (OData V2 and V4) with basic authentication, through the SSRF guard
(connections/net.py).

Every request carries the connection's `sap-client` (and `sap-language`) as query parameters,
which is how the Gateway picks the client without a cookie. Reads need no CSRF token (SAP asks
for one only on changing requests). Server-driven paging links (V2 `d.__next`, V4
`@odata.nextLink`) are followed only on the connection's own host, so credentials never go to
an address a response names. Django-free."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.retry import parse_retry_after

from . import edmx

V2_CATALOG = "/sap/opu/odata/IWFND/CATALOGSERVICE;v=2"
V4_CATALOG = "/sap/opu/odata4/iwfnd/config/default/iwfnd/catalog/0002"


def host_address(properties: Mapping[str, Any]) -> str:
    """scheme://host:port from applicationHostUrl and portNumber."""
    raw = str(properties.get("applicationHostUrl") or "").strip().rstrip("/")
    if not raw:
        raise ConnectorError("applicationHostUrl: is required (the address of your SAP Gateway, e.g. "
                             "https://sap.example.com).")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConnectorError(f'applicationHostUrl: "{raw[:100]}" is not an http(s) address.')
    if parts.path not in ("", "/") or parts.query:
        raise ConnectorError("applicationHostUrl: give only the host (the service path goes in "
                             "applicationServicePath).")
    try:
        port = int(properties.get("portNumber") or parts.port or (443 if parts.scheme == "https" else 80))
    except (TypeError, ValueError):
        raise ConnectorError("portNumber: must be a whole number, e.g. 443.") from None
    if not 1 <= port <= 65535:
        raise ConnectorError("portNumber: must be between 1 and 65535.")
    return f"{parts.scheme.lower()}://{parts.hostname}:{port}"


def service_path(properties: Mapping[str, Any]) -> str:
    raw = str(properties.get("applicationServicePath") or "").strip().rstrip("/")
    if not raw.startswith("/") or "?" in raw or "#" in raw or ".." in raw:
        raise ConnectorError(f"applicationServicePath: give the catalog service path, starting with /, e.g. "
                             f"{V2_CATALOG}.")
    return raw


def check_client(properties: Mapping[str, Any]) -> str:
    client = str(properties.get("clientNumber") or "").strip()
    if not (len(client) == 3 and client.isdigit()):
        raise ConnectorError("clientNumber: must be the three-digit SAP client, e.g. 100.")
    return client


@dataclass
class Page:
    rows: list[dict]
    next_link: str | None
    count: int | None
    size: int  # bytes of the answer


class SapApi:
    """GETs for one connection; counts the calls it made."""

    def __init__(self, conn: ConnectionInfo):
        self.base = host_address(conn.properties)
        self.host = urlsplit(self.base).netloc
        self.catalog = service_path(conn.properties)
        self.sap = {"sap-client": check_client(conn.properties)}
        language = str(conn.properties.get("logonLanguage") or "").strip()
        if language:
            self.sap["sap-language"] = language
        user = str(conn.credentials.get("username") or "")
        if not user:
            raise ConnectorError("username: is required (the SAP user Sluice signs in as).")
        password = str(conn.credentials.get("password") or "")
        self._auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.calls = 0

    def get(self, path: str, params: Mapping[str, Any], what: str,
            accept: str = "application/json") -> net.Response:
        self.calls += 1
        query = urlencode({**params, **self.sap}, safe="$,'()")
        try:
            response = net.request("GET", f"{self.base}{path}?{query}",
                                   headers={"Authorization": self._auth, "Accept": accept})
        except net.BlockedAddress:
            raise
        except ConnectorError as exc:
            if "could not be found" in exc.message:
                raise ConnectorError(f"There is no SAP Gateway at {self.host}: check "
                                     "applicationHostUrl.") from None
            raise
        self._check(response, what)
        return response

    def get_json(self, path: str, params: Mapping[str, Any], what: str) -> Any:
        response = self.get(path, params, what)
        try:
            return json.loads(response.body)
        except ValueError:
            raise ConnectorError(f"SAP OData: {self.host} answered {what} with something that is not "
                                 "JSON (a logon page? check the service path and that the user may use "
                                 "it).") from None

    def metadata(self, service: str) -> edmx.Metadata:
        response = self.get(f"{service}/$metadata", {}, f"the $metadata of {service}", "application/xml")
        return edmx.parse(response.body, f"the $metadata of {service}")

    def services(self) -> list[tuple[str, str]]:
        """(service path, title) of every service the catalog lists, V2 or V4 by the catalog path."""
        if "odata4" in self.catalog.lower():
            body = self.get_json(f"{self.catalog}/ServiceGroups",
                                 {"$expand": "DefaultSystem($expand=Services)"}, "the V4 service catalog")
            found = [(s.get("ServiceUrl"), s.get("ServiceId") or s.get("Description"))
                     for g in (body or {}).get("value") or [] for s in ((g.get("DefaultSystem") or {})
                                                                      .get("Services") or [])]
        else:
            body = self.get_json(f"{self.catalog}/ServiceCollection", {"$format": "json"},
                                 "the V2 service catalog (ServiceCollection)")
            rows = ((body or {}).get("d") or {}).get("results")
            if not isinstance(rows, list):
                raise ConnectorError(f"SAP OData: {self.host} answered the service catalog without "
                                     "d.results: is applicationServicePath the catalog service?")
            found = [(r.get("ServiceUrl"), r.get("Title") or r.get("TechnicalServiceName")) for r in rows]
        services = []
        for url, title in found:
            if isinstance(url, str) and url:
                path = urlsplit(url).path.rstrip("/")  # only the path: never another host
                services.append((path, str(title or path)))
        return services

    def pages(self, path: str, params: Mapping[str, Any], version: str, page_size: int,
              what: str) -> Iterator[Page]:
        """Every page of an entity set: server-driven paging when the service sends a next link,
        else $top/$skip until a short page."""
        first = {**params, "$top": page_size}
        skip, number = 0, 0
        while True:  # one $top window per turn; a service may split a window with next links
            path_now, params_now = path, {**first, "$skip": skip} if skip else first
            in_window = 0
            while True:
                number += 1
                response = self.get(path_now, params_now, f"{what} (page {number})")
                page = self._page(response, version, f"{what}, page {number}")
                in_window += len(page.rows)
                yield page
                if not page.next_link:
                    break
                path_now, params_now = self._follow(page.next_link)
            if in_window < page_size:
                return
            skip += in_window

    def _follow(self, link: str) -> tuple[str, dict[str, str]]:
        parts = urlsplit(link)
        if parts.netloc and parts.netloc.lower() != self.host.lower():
            raise ConnectorError(f"SAP OData: the next-page link points to {parts.netloc}, not {self.host}; "
                                 "Sluice does not send the credentials there.")
        params = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in self.sap}
        return parts.path, params

    def _page(self, response: net.Response, version: str, where: str) -> Page:
        try:
            # V4 may send Edm.Decimal as a JSON number: read every number with a fraction as a
            # Decimal so no digit is lost on the way to the decimal column
            body = json.loads(response.body, parse_float=Decimal)
            if version == "4":
                rows, link, count = body["value"], body.get("@odata.nextLink"), body.get("@odata.count")
            else:
                d = body["d"]
                rows, link, count = (d["results"], d.get("__next"), d.get("__count")) if isinstance(d, dict) \
                    else (d, None, None)
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise ConnectorError(f"SAP OData: {self.host} sent a malformed answer for {where} (not an OData "
                                 f"V{version} JSON collection); nothing was published.") from None
        try:
            count = int(count) if count is not None else None
        except (TypeError, ValueError):
            count = None
        return Page(rows, link if isinstance(link, str) and link else None, count, len(response.body))

    def _check(self, response: net.Response, what: str) -> None:
        status = response.status
        if status == 429 or status >= 500 or status in (408, 425):
            busy = "is rate limiting Sluice (HTTP 429)" if status == 429 else f"answered HTTP {status}"
            raise ConnectorError(f"The SAP Gateway {self.host} {busy} for {what}; the run will retry later.",
                                 permanent=False,
                                 retry_after=parse_retry_after(response.headers.get("retry-after")))
        if status == 401:
            raise ConnectorError(f"The SAP Gateway {self.host} refused the sign-in (HTTP 401) for {what}: "
                                 "wrong user name or password, a locked user, or the wrong clientNumber.")
        detail = _error_detail(response)
        if status == 403:
            raise ConnectorError(f"The SAP user may not read {what} (HTTP 403{detail}): give the user the "
                                 "authorizations for the service (S_SERVICE).")
        if status == 404:
            raise ConnectorError(f"The SAP Gateway {self.host} has no {what} (HTTP 404{detail}).")
        if not 200 <= status < 300:
            raise ConnectorError(f"The SAP Gateway {self.host} refused {what} (HTTP {status}{detail}).")


def _error_detail(response: net.Response) -> str:
    """': <message>' from OData's {"error": {"message": {"value": ...}}} (V2) or {"message": ...} (V4)."""
    try:
        message = json.loads(response.body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return ""
    if isinstance(message, dict):
        message = message.get("value")
    return f": {str(message)[:300]}" if message else ""
