"""Calls to one Marketo instance's REST API (and its Bulk Extract file downloads), through the
SSRF guard (connections/net.py). Django-free.

Marketo's quirks live in the body, not the status: almost every answer is HTTP 200 with
`"success": false` and `"errors": [{"code", "message"}]`. Handled here, once:
- 601 / 602 (access token invalid / expired; HTTP 401 too): a new token from the identity
  endpoint (client credentials), then the call again, once;
- 606 (more than 100 calls in 20 s) and 615 (more than 10 calls at once): wait and retry, a
  bounded number of times; calls are also paced here so one run keeps under 100 calls / 20 s;
- 607 (the daily quota): fail at once with a clear message, no retry (the quota resets at
  midnight US Central time; retrying only burns calls);
- anything else: a ConnectorError naming the call and Marketo's code and message."""

from __future__ import annotations

import collections
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.retry import parse_retry_after

_MUNCHKIN = re.compile(r"^[0-9]{3}-[A-Za-z]{3}-[0-9]{3}$")
RATE_CALLS, RATE_SECONDS = 100, 20.0  # Marketo: 100 calls per 20 seconds per instance
MAX_CONCURRENT = 10  # Marketo: 10 calls at once per instance (error 615 beyond)
RETRIES = 6  # of one call refused with 606 / 615
TOKEN_ERRORS = {"601", "602"}
BUSY_ERRORS = {"606", "615"}
QUOTA_ERROR = "607"


def instance_url(properties: Mapping[str, Any]) -> str:
    """https://<munchkin>.mktorest.com from a Munchkin account id ("123-ABC-456"), the REST
    endpoint, or a full address (a test server); no trailing slash, no /rest."""
    raw = str(properties.get("instanceUrl") or "").strip()
    if not raw:
        raise ConnectorError(
            'instanceUrl: is required (your Munchkin account id, e.g. "123-ABC-456", '
            "from Admin > Integration > Web Services)."
        )
    if _MUNCHKIN.match(raw):
        return f"https://{raw.upper()}.mktorest.com"
    if not re.match(r"^https?://", raw, re.IGNORECASE):
        raw = "https://" + raw
    parts = urlsplit(raw)
    if not parts.hostname:
        raise ConnectorError(f'instanceUrl: "{raw[:100]}" has no host name.')
    return f"{parts.scheme.lower()}://{parts.netloc}"


# Pacing is per instance and per process: every run in this worker shares one window.
_WINDOWS: dict[str, collections.deque] = collections.defaultdict(collections.deque)
_SLOTS: dict[str, threading.BoundedSemaphore] = collections.defaultdict(
    lambda: threading.BoundedSemaphore(MAX_CONCURRENT)
)
_LOCK = threading.Lock()
# Access tokens shared by the runs of this process, as Marketo advises (a token lives an hour;
# every new one is a call to the identity service): (address, client id, digest of the secret) ->
# (token, monotonic time it expires).
_TOKENS: dict[tuple[str, str, str], tuple[str, float]] = {}


def _wait(seconds: float) -> None:
    time.sleep(seconds)


def _pace(host: str, sleep: Callable[[float], None]) -> None:
    """Wait until one more call keeps this process under 100 calls in any 20 s for the host."""
    while True:
        with _LOCK:
            window = _WINDOWS[host]
            now = time.monotonic()
            while window and now - window[0] >= RATE_SECONDS:
                window.popleft()
            if len(window) < RATE_CALLS:
                window.append(now)
                return
            wait = RATE_SECONDS - (now - window[0])
        sleep(max(wait, 0.01))


class MarketoApi:
    """The REST calls of one connection; the access token is fetched on first use and again when
    Marketo says it is invalid or expired. `sleep` is the waiting between retries (tests pass a
    recorder)."""

    def __init__(self, conn: ConnectionInfo, sleep: Callable[[float], None] | None = None):
        self.base = instance_url(conn.properties)
        self.host = urlsplit(self.base).netloc
        self._client_id = str(conn.credentials.get("clientId") or conn.properties.get("clientId") or "")
        self._secret = str(conn.credentials.get("clientSecret") or "")
        if not self._client_id:
            raise ConnectorError("clientId: is required (Admin > Integration > LaunchPoint > View Details).")
        if not self._secret:
            raise ConnectorError(
                "clientSecret: is required (Admin > Integration > LaunchPoint > View Details)."
            )
        self._token = ""
        self.sleep = sleep or (lambda seconds: _wait(seconds))  # looked up late: tests replace _wait
        self.calls = 0
        self.refreshes = 0

    # -- the token ---------------------------------------------------------------------------
    def token(self) -> str:
        if not self._token:
            key = (self.base, self._client_id, hashlib.sha256(self._secret.encode()).hexdigest())
            with _LOCK:
                cached = _TOKENS.get(key)
            if cached and cached[1] > time.monotonic():
                self._token = cached[0]
            else:
                self._token, lifetime = self._new_token()
                with _LOCK:
                    _TOKENS[key] = (self._token, time.monotonic() + max(lifetime - 60, 0))
        return self._token

    def _drop_token(self) -> None:
        with _LOCK:
            for key, (token, _) in list(_TOKENS.items()):
                if token == self._token:
                    del _TOKENS[key]
        self._token = ""

    def _new_token(self) -> tuple[str, float]:
        """A client-credentials token from the instance's identity endpoint. POSTed as a form, so
        the secret is not in a URL (Marketo documents GET or POST)."""
        body = urlencode(
            {"grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._secret}
        ).encode()
        response = self._send(
            "POST",
            self.base + "/identity/oauth/token",
            body,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("access_token"):
            lifetime = answer.get("expires_in")
            return str(answer["access_token"]), float(lifetime) if isinstance(lifetime, int | float) else 0.0
        reason = ""
        if isinstance(answer, dict):
            reason = str(answer.get("error_description") or answer.get("error") or "")
        if response.status in (401, 400) or reason:
            raise ConnectorError(
                f"Marketo ({self.host}) refused the client id and secret"
                f"{': ' + reason[:200] if reason else ''}. Check clientId and clientSecret "
                "(Admin > Integration > LaunchPoint > View Details)."
            )
        raise ConnectorError(
            f"{self.host} answered the token request with HTTP {response.status}, not a "
            "Marketo access token: check instanceUrl (your Munchkin account id)."
        )

    # -- calls -------------------------------------------------------------------------------
    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> net.Response:
        _pace(self.host, self.sleep)
        slot = _SLOTS[self.host]
        with slot:
            self.calls += 1
            try:
                return net.request(method, url, headers=headers, body=body, timeout=120)
            except net.BlockedAddress:
                raise
            except ConnectorError as exc:
                if "could not be found" in exc.message:
                    raise ConnectorError(
                        f"There is no Marketo instance at {self.host}: check instanceUrl "
                        "(your Munchkin account id)."
                    ) from None
                raise

    def call(
        self,
        method: str,
        path: str,
        what: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        raw: bool = False,
    ) -> Any:
        """The JSON answer of one call (its `success` checked), or with raw=True the
        net.Response of a file download. Retries as the module docstring says."""
        url = self.base + path + ("?" + urlencode(params, doseq=True) if params else "")
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        refreshed, busy = False, 0
        while True:
            sent = {
                "Authorization": f"Bearer {self.token()}",
                "Accept": "application/json",
                **({"Content-Type": "application/json"} if data is not None else {}),
                **(headers or {}),
            }
            response = self._send(method, url, data, sent)
            code, message = self._error(response, what, raw)
            if code is None:
                return response if raw else response.json()
            if code in TOKEN_ERRORS and not refreshed:
                refreshed = True
                self._drop_token()
                self.refreshes += 1
                continue
            if code in BUSY_ERRORS and busy < RETRIES:
                busy += 1
                wait = parse_retry_after(response.headers.get("retry-after"))
                self.sleep(wait if wait is not None else (RATE_SECONDS if code == "606" else 2.0 * busy))
                continue
            raise self.failure(code, message, what)

    def failure(self, code: str, message: str, what: str) -> ConnectorError:
        if code == QUOTA_ERROR:  # permanent: the runner's retries within the run would only fail again
            return ConnectorError(
                f"Marketo's daily API quota for this instance is used up (error 607) while "
                f"reading {what}. It resets at midnight US Central time; the run was not "
                "retried, so no more calls were spent. Run the flow again after the reset, or "
                "ask Marketo to raise the quota.",
                permanent=True,
            )
        if code in TOKEN_ERRORS:
            return ConnectorError(
                f"Marketo refused the access token for {what} (error {code}) even after a "
                "new one: check the API user of the LaunchPoint service is active."
            )
        if code in BUSY_ERRORS:
            return ConnectorError(
                f"Marketo kept refusing {what} as over its rate limit (error {code}: "
                f"{message}) after {RETRIES} waits; the run will retry later.",
                permanent=False,
            )
        if code == "1035":  # updatedAt (and smart list) export filters are not on every subscription
            return ConnectorError(
                f"Marketo refused {what}: this subscription cannot filter exports on that field "
                "(error 1035). Use createdAt as the incremental field (incrementalPullConfig."
                "datetimeTypeFieldName), or ask Marketo Support to enable the updatedAt filter."
            )
        if code == "603":
            return ConnectorError(
                f"The Marketo API user may not read {what} (error 603: {message}): give its "
                "role the needed API permission (Admin > Users & Roles)."
            )
        return ConnectorError(f"Marketo refused {what} (error {code}: {message}).")

    def _error(self, response: net.Response, what: str, raw: bool) -> tuple[str | None, str]:
        """(Marketo's error code, message), or (None, "") for a good answer."""
        status = response.status
        if status == 401:
            return "601", "HTTP 401"
        if status == 429:
            return "606", "HTTP 429"
        if status >= 500:
            raise ConnectorError(
                f"Marketo ({self.host}) answered HTTP {status} for {what}; the run will retry later.",
                permanent=False,
            )
        if status in (413, 414):
            raise ConnectorError(f"Marketo refused {what} as too large (HTTP {status}).")
        if raw and response.ok and "json" not in response.headers.get("content-type", ""):
            return None, ""
        try:
            answer = response.json()
        except ValueError:
            raise ConnectorError(
                f"{self.host} answered {what} with something that is not JSON (HTTP {status}): "
                "it does not look like the Marketo REST API; check instanceUrl."
            ) from None
        if not isinstance(answer, dict):
            raise ConnectorError(f"Marketo answered {what} with {type(answer).__name__}, not an object.")
        if not response.ok:
            raise ConnectorError(f"Marketo ({self.host}) refused {what} (HTTP {status}).")
        if answer.get("success") is False or answer.get("errors"):
            errors = answer.get("errors") or [{}]
            first = errors[0] if isinstance(errors[0], dict) else {}
            return str(first.get("code") or "unknown"), str(first.get("message") or "no message")[:300]
        return None, ""

    def pages(self, path: str, what: str, params: Mapping[str, Any]) -> Iterator[list[dict]]:
        """Every page of a Lead Database list call, following nextPageToken while moreResult
        (a page may be empty while more follow)."""
        token = ""
        while True:
            answer = self.call("GET", path, what, {**params, **({"nextPageToken": token} if token else {})})
            rows = answer.get("result")
            if rows is None:
                rows = []
            if not isinstance(rows, list):
                raise ConnectorError(f"Marketo answered {what} without a result list.")
            yield [r for r in rows if isinstance(r, dict)]
            token = str(answer.get("nextPageToken") or "")
            if not answer.get("moreResult") or not token:
                return

    def offset_pages(
        self, path: str, what: str, params: Mapping[str, Any], size: int = 200
    ) -> Iterator[list[dict]]:
        """Every page of an Asset API list call (offset / maxReturn, at most 200): it ends with
        a short page, or with Marketo's 709-style "no assets found" warning and no result."""
        offset = 0
        while True:
            answer = self.call("GET", path, what, {**params, "offset": offset, "maxReturn": size})
            rows = answer.get("result") or []
            if not isinstance(rows, list):
                raise ConnectorError(f"Marketo answered {what} without a result list.")
            yield [r for r in rows if isinstance(r, dict)]
            if len(rows) < size:
                return
            offset += len(rows)
