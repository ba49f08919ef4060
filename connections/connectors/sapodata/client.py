"""Calls to one SAP Gateway (OData V2 and V4) with basic authentication or an OAuth 2.0 bearer
token, through the SSRF guard (connections/net.py).

OAuth 2.0 is SAP's AS ABAP authorization server: the authorization endpoint
/sap/bc/sec/oauth2/authorize (https://help.sap.com/saphelp_snc_uiaddon_10/helpdata/en/ea/fe88de31ed4cb28c3f6d6012e99025/content.htm)
and the token endpoint /sap/bc/sec/oauth2/token
(https://help.sap.com/saphelp_em92/helpdata/en/5c/8371a2370647f5a03ea6f81f6a27cb/content.htm);
the authorization code flow (https://help.sap.com/saphelp_em92/helpdata/en/75/73ffc0ae444443a23b9e661d77d637/content.htm).
A refused token (HTTP 401) is refreshed once (ConnectionInfo.refresh) and the call repeated.

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
# the connection's `authentication` choices, as AppFlow's dialog names them
BASIC, OAUTH2 = "Basic", "OAuth2"
# SAP's AS ABAP authorization server, below the Gateway's own host (see the module's docstring)
AUTHORIZE_PATH, TOKEN_PATH = "/sap/bc/sec/oauth2/authorize", "/sap/bc/sec/oauth2/token"


def uses_oauth(properties: Mapping[str, Any]) -> bool:
    return str(properties.get("authentication") or BASIC) == OAUTH2


def _endpoint(properties: Mapping[str, Any], name: str, default_path: str) -> str:
    raw = str(properties.get(name) or "").strip()
    if not raw:
        return host_address(properties) + default_path
    parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.fragment:
        raise ConnectorError(f'{name}: "{raw[:100]}" is not an http(s) address, e.g. '
                             f"https://sap.example.com{default_path} (or leave it blank for the "
                             "Gateway's own).")
    return raw


def oauth_endpoints(properties: Mapping[str, Any]) -> tuple[str, str]:
    """(authorization URL, token URL): the connection's, else the Gateway's own."""
    return (_endpoint(properties, "authCodeUrl", AUTHORIZE_PATH),
            _endpoint(properties, "tokenUrl", TOKEN_PATH))


def check_oauth(properties: Mapping[str, Any]) -> None:
    """An OAuth 2.0 connection's own settings (AppFlow: OAuth 2.0 for OData V2 services only)."""
    if not uses_oauth(properties):
        return
    if not str(properties.get("clientId") or "").strip():
        raise ConnectorError("clientId: is required with OAuth2 (the OAuth 2.0 client registered in the "
                             "Gateway).")
    if "odata4" in str(properties.get("applicationServicePath") or "").lower():
        raise ConnectorError("authentication: OAuth2 works with OData V2 services only (as in AppFlow); "
                             "use the V2 catalog service path or Basic authentication.")
    oauth_endpoints(properties)


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
        self.conn = conn
        self.oauth = uses_oauth(conn.properties)
        if self.oauth:
            self.token = str(conn.credentials.get("accessToken") or "")
            if not self.token:
                raise ConnectorError("The connection is not authorized yet: open it and choose Re-authorize "
                                     "to sign in on the SAP logon page.")
        else:
            user = str(conn.credentials.get("username") or "")
            if not user:
                raise ConnectorError("username: is required with Basic authentication (the SAP user Sluice "
                                     "signs in as).")
            password = str(conn.credentials.get("password") or "")
            self._basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.calls = 0

    def _authorization(self) -> str:
        return f"Bearer {self.token}" if self.oauth else self._basic

    def get(self, path: str, params: Mapping[str, Any], what: str,
            accept: str = "application/json") -> net.Response:
        query = urlencode({**params, **self.sap}, safe="$,'()")
        response = self._send(f"{self.base}{path}?{query}", accept)
        if response.status == 401 and self.oauth and self.conn.refresh is not None:
            # the token expired or was revoked: one refresh (shared by the workers), then once more
            self.token = str(self.conn.refresh(self.token).get("accessToken") or "")
            response = self._send(f"{self.base}{path}?{query}", accept)
        self._check(response, what)
        return response

    def _send(self, url: str, accept: str) -> net.Response:
        self.calls += 1
        try:
            return net.request("GET", url, headers={"Authorization": self._authorization(), "Accept": accept})
        except net.BlockedAddress:
            raise
        except ConnectorError as exc:
            if "could not be found" in exc.message:
                raise ConnectorError(f"There is no SAP Gateway at {self.host}: check "
                                     "applicationHostUrl.") from None
            raise

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
        if status == 401 and self.oauth:
            raise ConnectorError(f"The SAP Gateway {self.host} refused the access token (HTTP 401) for "
                                 f"{what}, even after a refresh: open the connection and choose "
                                 "Re-authorize.")
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
