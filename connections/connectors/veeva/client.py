"""Calls to one Veeva Vault's REST API through the SSRF guard (connections/net.py).

A Vault signs in with user name and password (`POST /api/{version}/auth`) and answers with a
session id, sent as the Authorization header of every later call. Vault reports most failures as
HTTP 200 with `responseStatus: FAILURE` and `errors: [{type, message}]`, so every answer's status
is read, not just the HTTP code. INVALID_SESSION_ID (the session timed out or was ended) signs in
again once and repeats the call; API_LIMIT_EXCEEDED and HTTP 429 are transient (the run retries
later); the burst and daily limits left (X-VaultAPI-BurstLimitRemaining /
X-VaultAPI-DailyLimitRemaining) are kept for the run's log. Django-free."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlencode, urlsplit

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.retry import parse_retry_after

API_VERSION = "v24.1"
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
# Vault's burst window is 5 minutes; with no Retry-After on API_LIMIT_EXCEEDED, wait one minute.
LIMIT_RETRY_SECONDS = 60.0


def vault_url(properties: Mapping[str, Any]) -> str:
    """https://<vault DNS>/ from "myvault.veevavault.com" or a full address. A full http(s)
    address (a test server) is taken as it is; every request still goes through the SSRF guard."""
    raw = str(properties.get("instanceUrl") or "").strip()
    if not raw:
        raise ConnectorError("instanceUrl: is required (your Vault's DNS name, e.g. myvault.veevavault.com).")
    if re.match(r"^https?://", raw, re.IGNORECASE):
        parts = urlsplit(raw)
        if not parts.hostname:
            raise ConnectorError(f'instanceUrl: "{raw[:100]}" has no host name.')
        return f"{parts.scheme.lower()}://{parts.netloc}/"
    host = raw.lower().rstrip("/")
    if not _HOST.match(host):
        raise ConnectorError(f'instanceUrl: "{raw[:80]}" is not a Vault DNS name (give e.g. '
                             "myvault.veevavault.com: letters, digits, hyphens and dots).")
    return f"https://{host}/"


def _file_name(disposition: str) -> str:
    """The file name of `Content-Disposition: attachment;filename="brochure.pdf"` (RFC 6266,
    filename* first), reduced to a plain name: no folders, no leading dots."""
    found = re.search(r"filename\*\s*=\s*[^']*'[^']*'([^;]+)", disposition, re.IGNORECASE)
    name = unquote(found.group(1)) if found else ""
    if not name:
        found = re.search(r'filename\s*=\s*"((?:[^"\\]|\\.)*)"|filename\s*=\s*([^;]+)', disposition,
                          re.IGNORECASE)
        name = (found.group(1) or found.group(2) or "").strip() if found else ""
    name = re.sub(r'[\x00-\x1f/\\:*?"<>|]+', "_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return name[:200] or "file"


def _errors(body: Any) -> list[tuple[str, str]]:
    found = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(found, list):
        return []
    return [(str(e.get("type") or ""), str(e.get("message") or "")) for e in found if isinstance(e, dict)]


class VaultApi:
    """One Vault connection's calls, signed in on first use; counts the calls it made."""

    def __init__(self, conn: ConnectionInfo):
        self.base = vault_url(conn.properties)
        self.host = urlsplit(self.base).netloc
        self._user = str(conn.credentials.get("username") or "")
        if not self._user:
            raise ConnectorError("username: is required (the Vault user Sluice signs in as).")
        self._password = str(conn.credentials.get("password") or "")
        self._session: str | None = None
        self.calls = 0
        self.sign_ins = 0
        self.limits: dict[str, str] = {}

    def _exchange(self, method: str, path_or_url: str, form: Mapping[str, Any] | None,
                  headers: Mapping[str, str], what: str, sink: BinaryIO | None = None) -> net.Response:
        """One call, with the answers that are not Vault's JSON handled: busy, redirected, missing."""
        self.calls += 1
        url = self.base + path_or_url.lstrip("/")  # always below the Vault's own address
        body = urlencode(form).encode() if form is not None else None
        all_headers = {"Accept": "application/json", **headers}
        if body is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            response = net.request(method, url, headers=all_headers, body=body, sink=sink)
        except net.BlockedAddress:
            raise
        except ConnectorError as exc:
            if "could not be found" in exc.message:
                raise ConnectorError(f"There is no Vault at {self.host}: check the Vault DNS name.") from None
            raise
        for name in ("x-vaultapi-burstlimitremaining", "x-vaultapi-dailylimitremaining"):
            if response.headers.get(name) is not None:
                self.limits[name] = response.headers[name]
        status = response.status
        if status == 429 or status >= 500 or status in (408, 425):
            busy = "is rate limiting Sluice (HTTP 429)" if status == 429 else f"answered HTTP {status}"
            raise ConnectorError(f"Veeva Vault {self.host} {busy} for {what}; the run will retry later.",
                                 permanent=False,
                                 retry_after=parse_retry_after(response.headers.get("retry-after")))
        if status in (301, 302, 303, 307, 308):
            raise ConnectorError(f"{self.host} redirected {what} elsewhere: it does not look like a Vault. "
                                 "Check the Vault DNS name.")
        return response

    def _send(self, method: str, path_or_url: str, form: Mapping[str, Any] | None,
              headers: Mapping[str, str], what: str) -> tuple[int, Any, Mapping[str, str]]:
        response = self._exchange(method, path_or_url, form, headers, what)
        return response.status, self._payload(response.status, response.body, what), response.headers

    def _payload(self, status: int, raw: bytes, what: str) -> dict:
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict) or "responseStatus" not in payload:
            raise ConnectorError(f"Veeva Vault {self.host} answered {what} with something that is not the "
                                 f"Vault API's JSON (HTTP {status}): nothing was published.")
        return payload

    def download(self, path: str, what: str, target: Path) -> str:
        """Stream the file at `path` into `target` (never whole in memory); the file name Vault
        gives it (Content-Disposition). Vault answers a failure as JSON, often with HTTP 200, so
        a JSON answer is read as one: a timed-out session signs in again once."""
        if self._session is None:
            self.sign_in()
        for attempt in (1, 2):
            with open(target, "wb") as sink:
                response = self._exchange("GET", path, None, {"Authorization": str(self._session),
                                                              "Accept": "*/*"}, what, sink)
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if 200 <= response.status < 300 and kind != "application/json":
                return _file_name(response.headers.get("content-disposition", ""))
            raw = response.body or target.read_bytes()[:1 << 20]
            body = self._payload(response.status, raw, what)
            if "INVALID_SESSION_ID" in {t for t, _ in _errors(body)} and attempt == 1:
                self.sign_in()
                continue
            self._raise(body, what)
        raise AssertionError("unreachable")

    def sign_in(self) -> None:
        self.sign_ins += 1
        _, body, _ = self._send("POST", f"api/{API_VERSION}/auth",
                                {"username": self._user, "password": self._password}, {}, "the sign-in")
        session = body.get("sessionId")
        if body.get("responseStatus") != "SUCCESS" or not session:
            kinds = {t for t, _ in _errors(body)}
            if kinds & {"USERNAME_OR_PASSWORD_INCORRECT", "INVALID_DATA", "PASSWORD_CHANGE_REQUIRED",
                        "USER_LOCKED_OUT", "INSUFFICIENT_ACCESS", "NO_PERMISSION"} or not kinds:
                text = "; ".join(f"{t}: {m}" for t, m in _errors(body))[:300]
                raise ConnectorError(f"Veeva Vault {self.host} refused the sign-in "
                                     f"({text or 'no reason given'}). "
                                     "Check the user name and password in the connection, and that the user "
                                     "has API access (the API Access permission of its security profile).")
            self._raise(body, "the sign-in")
        self._session = str(session)

    def call(self, method: str, path_or_url: str, what: str, form: Mapping[str, Any] | None = None) -> dict:
        """The SUCCESS body of one call; signs in first, and once more if the session expired."""
        if self._session is None:
            self.sign_in()
        for attempt in (1, 2):
            _, body, _ = self._send(method, path_or_url, form, {"Authorization": str(self._session)}, what)
            if body.get("responseStatus") == "SUCCESS":
                return body
            kinds = {t for t, _ in _errors(body)}
            if "INVALID_SESSION_ID" in kinds and attempt == 1:
                self.sign_in()  # sessions time out after inactivity or are ended: one fresh one
                continue
            self._raise(body, what)
        raise AssertionError("unreachable")

    def _raise(self, body: Mapping[str, Any], what: str) -> None:
        errors = _errors(body)
        kinds = {t for t, _ in errors}
        text = "; ".join(f"{t}: {m}" if m else t for t, m in errors)[:400] or "no reason given"
        if "API_LIMIT_EXCEEDED" in kinds:
            left = ", ".join(f"{k.removeprefix('x-vaultapi-')}={v}" for k, v in sorted(self.limits.items()))
            raise ConnectorError(f"Veeva Vault {self.host} refused {what}: its API limit is used up "
                                 f"({text}{'; ' + left if left else ''}); the run will retry later.",
                                 permanent=False, retry_after=LIMIT_RETRY_SECONDS)
        if "INVALID_SESSION_ID" in kinds:
            raise ConnectorError(f"Veeva Vault {self.host} ended the session again right after a fresh "
                                 f"sign-in for {what} ({text}).")
        raise ConnectorError(f"Veeva Vault {self.host} refused {what} ({text}).")

    def limits_note(self) -> str:
        if not self.limits:
            return ""
        left = ", ".join(f"{k.removeprefix('x-vaultapi-')} {v}" for k, v in sorted(self.limits.items()))
        return f"Veeva Vault API limits left after the read: {left}."
