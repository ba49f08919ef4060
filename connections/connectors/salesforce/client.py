"""Calls to one Salesforce org (REST API and Bulk API 2.0), through the SSRF guard (connections/net.py).

Where the org lives: the instance URL the token response named (kept with the tokens as
credentials.instanceUrl), or properties.instanceUrl for a connection imported from AppFlow. Failures
become ConnectorErrors a person can act on: 429, Salesforce's 403 REQUEST_LIMIT_EXCEEDED and 5xx are
transient (with a Retry-After when one was sent); a 401 asks the shared OAuth machinery for a fresh
token once; INVALID_TYPE / INVALID_FIELD name the object or field that no longer exists.
Django-free."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError, MissingAtSource
from connections.retry import parse_retry_after

DEFAULT_API_VERSION = "v62.0"
LOGIN_HOSTS = {"Production": "https://login.salesforce.com", "Sandbox": "https://test.salesforce.com"}
_VERSION = re.compile(r"^v?(\d{2,3})\.(\d)$")
# Salesforce's answers that mean "the limit is reached, later may work".
LIMIT_CODES = {"REQUEST_LIMIT_EXCEEDED", "TXN_SECURITY_METERING_ERROR", "SERVER_UNAVAILABLE"}


def api_version(properties: Mapping[str, Any]) -> str:
    """ "v62.0" from "62.0", "v62.0" or nothing (the default)."""
    raw = str(properties.get("apiVersion") or "").strip() or DEFAULT_API_VERSION
    match = _VERSION.match(raw)
    if not match:
        raise ConnectorError(
            f'apiVersion: "{raw[:20]}" is not a Salesforce API version (e.g. {DEFAULT_API_VERSION}).'
        )
    return f"v{match.group(1)}.{match.group(2)}"


def _http_url(value: str, field: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConnectorError(f'{field}: "{value[:100]}" is not an http(s) address of a Salesforce org.')
    return value.rstrip("/")


def login_url(properties: Mapping[str, Any]) -> str:
    """Where people log in: loginUrl (a My Domain address) or the environment's login host."""
    override = str(properties.get("loginUrl") or "").strip()
    if override:
        return _http_url(override, "loginUrl")
    environment = str(properties.get("environment") or "Production")
    if environment not in LOGIN_HOSTS:
        raise ConnectorError(f'environment: "{environment[:40]}" is not Production or Sandbox.')
    return LOGIN_HOSTS[environment]


def instance_url(conn: ConnectionInfo) -> str:
    value = str(conn.credentials.get("instanceUrl") or conn.properties.get("instanceUrl") or "").strip()
    if not value:
        raise ConnectorError(
            "The connection has no Salesforce instance URL yet: authorize it through "
            "Salesforce's login page (Connect, or Re-authorize)."
        )
    return _http_url(value, "instanceUrl")


def errors_of(body: Any) -> list[dict]:
    """Salesforce's error list ([{"errorCode", "message", "fields"}]) from an answer's body."""
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list):
        return []
    return [e for e in body if isinstance(e, dict) and (e.get("errorCode") or e.get("message"))]


def describe_error(error: Mapping[str, Any]) -> str:
    code = str(error.get("errorCode") or error.get("statusCode") or "")
    message = " ".join(str(error.get("message") or "").split())  # SOQL errors come over several lines
    return f"{code}: {message}" if code else message


class SalesforceApi:
    """Requests to one org; `calls` counts the API calls made (they count against the org's daily
    API limit, which users are billed against)."""

    def __init__(self, conn: ConnectionInfo):
        self.conn = conn
        self.base = instance_url(conn)
        self.host = urlsplit(self.base).netloc
        self.version = api_version(conn.properties)
        self.data = f"/services/data/{self.version}/"
        self.token = str(conn.credentials.get("accessToken") or "")
        self.calls = 0

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """An address in this org: `path` relative to the data path ("query"), or absolute from the
        host ("/services/data/v62.0/query/01g..."), never on another host."""
        if "://" in path:
            if urlsplit(path).netloc != self.host:
                raise ConnectorError(
                    f"Salesforce sent an address on another host ({urlsplit(path).netloc}); "
                    "Sluice does not send the token there."
                )
            full = path
        else:
            full = self.base + (path if path.startswith("/") else self.data + path)
        return full + (("&" if "?" in full else "?") + urlencode(params) if params else "")

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        body: bytes | None = None,
        content_type: str = "",
        accept: str = "application/json",
        subject: str = "",
    ) -> net.Response:
        """One call; a 401 refreshes the token once. Returns the answer when it is a success."""
        url = self.url(path, params)
        if json_body is not None:
            body, content_type = json.dumps(json_body, ensure_ascii=False).encode(), "application/json"
        response = self._send(method, url, body, content_type, accept)
        if response.status == 401 and self.conn.refresh is not None:
            self.token = str(self.conn.refresh(self.token).get("accessToken") or "")
            response = self._send(method, url, body, content_type, accept)
        if not response.ok:
            raise self._error(response, subject or f"{method} {urlsplit(url).path}")
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(
                f"{self.host} answered with something that is not JSON: check the "
                "instance URL of the connection."
            ) from None

    def _send(
        self, method: str, url: str, body: bytes | None, content_type: str, accept: str
    ) -> net.Response:
        self.calls += 1
        headers = {"Authorization": f"Bearer {self.token}", "Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        return net.request(method, url, headers=headers, body=body)

    def _error(self, response: net.Response, what: str) -> ConnectorError:
        status = response.status
        try:
            errors = errors_of(response.json())
        except ValueError:
            errors = []
        codes = {str(e.get("errorCode") or "") for e in errors}
        detail = "; ".join(describe_error(e) for e in errors[:3])
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status == 429 or status >= 500 or status in (408, 425) or codes & LIMIT_CODES:
            busy = (
                "reached its API request limit"
                if codes & {"REQUEST_LIMIT_EXCEEDED"} or status == 429
                else f"answered HTTP {status}"
            )
            return ConnectorError(
                f"Salesforce {busy} on {what}{f' ({detail})' if detail else ''}; the run will retry later.",
                permanent=False,
                retry_after=retry_after,
            )
        if status == 401:
            return ConnectorError(
                "Salesforce refused the access token (HTTP 401"
                f"{', ' + detail if detail else ''}). Open the connection and choose "
                "Re-authorize."
            )
        if "INVALID_TYPE" in codes or ("NOT_FOUND" in codes and "object" in what):
            return MissingAtSource(
                f"Salesforce has no {what} (any more), or the user who authorized the "
                f"connection cannot see it ({detail or 'HTTP 404'}). Choose another object."
            )
        if "INVALID_FIELD" in codes:
            return MissingAtSource(
                f"A field no longer exists in Salesforce, or this user cannot see it: "
                f"{detail}. Edit the flow to remove it from the mapping."
            )
        if status == 403:
            return ConnectorError(
                f"Salesforce forbids {what} (HTTP 403{': ' + detail if detail else ''}). "
                "The user who authorized the connection needs API access (the API "
                "Enabled permission) and access to this object."
            )
        if status in (301, 302, 303, 307, 308):
            return ConnectorError(
                f"{self.host} redirected {what} elsewhere: it does not look like a "
                "Salesforce org. Check the instance URL."
            )
        if status == 404 and not errors:
            return ConnectorError(
                f"There is no Salesforce REST API at {self.host} ({what}, HTTP 404). "
                "Check the instance URL and the API version."
            )
        return ConnectorError(f"Salesforce refused {what} (HTTP {status}){': ' + detail if detail else '.'}")
