"""The HTTP side of a Generic REST connection: every call through the SSRF guard (connections.net),
credentials placed as the spec's auth says, 429 / 503 waited out as Retry-After says, a fixed wait
between calls when the spec asks for one, an answer larger than the cap refused without being held
whole, and next links followed only on the spec's own host. Django-free."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable, Mapping
from time import sleep
from typing import Any
from urllib.parse import urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.oauth import client as oauth_client
from connections.retry import backoff_delay, parse_retry_after

from .spec import Spec

DEFAULT_MAX_RESPONSE_BYTES = 20 * 1024 * 1024
# how the client waits; tests replace it so they need not sleep
pause: Callable[[float], None] = sleep


def max_response_bytes(spec: Spec) -> int:
    """The spec's limits.max_response_bytes, else SLUICE_REST_MAX_RESPONSE_BYTES, else 20 MB."""
    configured = (spec.document.get("limits") or {}).get("max_response_bytes")
    if configured:
        return int(configured)
    try:
        return int(os.environ.get("SLUICE_REST_MAX_RESPONSE_BYTES") or DEFAULT_MAX_RESPONSE_BYTES)
    except ValueError:
        return DEFAULT_MAX_RESPONSE_BYTES


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return (
        parts.scheme,
        (parts.hostname or "").lower(),
        parts.port or (443 if parts.scheme == "https" else 80),
    )


class RestApi:
    """Calls for one connection and its spec. `calls` counts the calls made, `waited` the seconds
    spent waiting for the service's rate limit."""

    def __init__(self, conn: ConnectionInfo, spec: Spec):
        self.conn, self.spec = conn, spec
        self.base = spec.base_url
        self.origin = origin(self.base)
        limits = spec.document.get("rate_limit") or {}
        self.fixed_wait = float(limits.get("wait_seconds") or 0)
        self.obey_retry_after = limits.get("retry_after", True)
        self.retries = int(limits.get("max_retries", 5))
        self.max_wait = float(limits.get("max_wait_seconds", 120))
        self.cap = max_response_bytes(spec)
        self.headers = {
            "Accept": "application/json",
            **{k: str(v) for k, v in (spec.document.get("headers") or {}).items()},
        }
        self.calls = 0
        self.waited = 0.0
        self._credentials = dict(conn.credentials)
        self._client_token: tuple[str, float] | None = None  # client credentials: (token, expires at)

    # --- addresses -------------------------------------------------------------------------------

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None}, doseq=True)
        return self.base + path + (("&" if "?" in path else "?") + query if query else "")

    def same_host(self, url: str, what: str) -> str:
        """`url` (a next link the service sent) if it is on the spec's host, else a clear refusal:
        a next link must never carry the credentials somewhere else."""
        if origin(url) != self.origin:
            scheme, host, port = origin(url)
            raise ConnectorError(
                f"{what} points to {scheme}://{host}:{port}, not the spec's base_url host "
                f"{self.origin[1]}:{self.origin[2]}. Sluice follows next links on the same "
                "host only; the run stops and nothing is published."
            )
        return url

    # --- calls -----------------------------------------------------------------------------------

    def call(self, method: str, url: str, *, body: Any = None, what: str) -> net.Response:
        raw = None if body is None else json.dumps(body).encode()
        refreshed = False
        for attempt in range(1, self.retries + 2):
            if self.fixed_wait and self.calls:
                self._wait(self.fixed_wait)
            headers, signed_url = self._sign(url)
            if raw is not None:
                headers["Content-Type"] = "application/json"
            self.calls += 1
            response = net.request(method, signed_url, headers=headers, body=raw, max_body_bytes=self.cap + 1)
            if len(response.body) > self.cap:
                raise ConnectorError(
                    f"{what}: the answer is larger than {self.cap} bytes (limits.max_response_bytes "
                    "or SLUICE_REST_MAX_RESPONSE_BYTES); ask for smaller pages (paging.size). "
                    "The run stops and nothing is published."
                )
            if response.status == 401 and not refreshed and self._refresh():
                refreshed = True
                continue
            if response.status in (429, 503) and self.obey_retry_after and attempt <= self.retries:
                told = parse_retry_after(response.headers.get("retry-after"))
                self._wait(backoff_delay(attempt, base=1.0, cap=self.max_wait, retry_after=told))
                continue
            return self._checked(response, what)
        raise AssertionError("unreachable")

    def json(self, response: net.Response, what: str) -> Any:
        try:
            return json.loads(response.body)
        except ValueError:
            raise ConnectorError(
                f"{what}: the answer is not JSON (HTTP {response.status}, "
                f"{response.headers.get('content-type') or 'no content type'}); the run stops "
                "and nothing is published."
            ) from None

    def _checked(self, response: net.Response, what: str) -> net.Response:
        status = response.status
        if response.ok:
            return response
        if status in (401, 403):
            raise ConnectorError(
                f"{what}: the service refused the credentials (HTTP {status}). Check the "
                "connection's secrets and the spec's auth section."
            )
        if status in (429, 503) or status >= 500:
            raise ConnectorError(
                f"{what}: the service answered HTTP {status}"
                f"{' (rate limited)' if status == 429 else ''}; the run will retry later.",
                permanent=False,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        if status == 404:
            raise ConnectorError(f"{what}: not found (HTTP 404). Check the stream's path and the base_url.")
        raise ConnectorError(
            f"{what}: the service refused the request (HTTP {status}). Check the stream's params and body."
        )

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited += seconds
            pause(seconds)

    # --- credentials -----------------------------------------------------------------------------

    def _sign(self, url: str) -> tuple[dict[str, str], str]:
        """The headers and URL of a call with the credentials where the spec's auth puts them."""
        auth = self.spec.auth
        kind = auth["type"]
        headers = dict(self.headers)
        secret = str(self._credentials.get("apiKey") or "")
        if kind == "api_key":
            value = str(auth.get("prefix") or "") + secret
            if auth.get("in") == "query":
                url += ("&" if "?" in url else "?") + urlencode({auth["name"]: value})
            else:
                headers[auth["name"]] = value
        elif kind == "bearer":
            headers["Authorization"] = f"Bearer {secret}"
        elif kind == "basic":
            pair = f"{self.conn.properties.get('username') or ''}:{self._credentials.get('password') or ''}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif kind == "oauth2":
            headers["Authorization"] = f"Bearer {self._credentials.get('accessToken') or ''}"
        elif kind == "oauth2_client_credentials":
            headers["Authorization"] = f"Bearer {self._client_credentials_token()}"
        return headers, url

    def _client_credentials_token(self) -> str:
        if self._client_token and self._client_token[1] > time.time() + 60:
            return self._client_token[0]
        auth = self.spec.auth
        form = {"grant_type": "client_credentials"}
        if auth.get("scopes"):
            form["scope"] = " ".join(auth["scopes"])
        try:
            payload = oauth_client.client_credentials(
                str(auth["token_url"]),
                form,
                client_id=str(self.conn.properties.get("clientId") or ""),
                client_secret=str(self._credentials.get("clientSecret") or ""),
                client_auth=str(auth.get("client_auth") or "client_secret_basic"),
            )
        except oauth_client.OAuthError as exc:
            raise ConnectorError(
                f"The token endpoint refused the client credentials: {exc.message}", permanent=exc.permanent
            ) from None
        expires = float(payload.get("expires_in") or 3600)
        self._client_token = (str(payload["access_token"]), time.time() + expires)
        return self._client_token[0]

    def _refresh(self) -> bool:
        """After a 401: a fresh token (OAuth), True when there is one to try."""
        kind = self.spec.auth["type"]
        if kind == "oauth2_client_credentials":
            self._client_token = None
            return True
        if kind == "oauth2" and self.conn.refresh is not None:
            self._credentials = dict(self.conn.refresh(str(self._credentials.get("accessToken") or "")))
            return True
        return False
