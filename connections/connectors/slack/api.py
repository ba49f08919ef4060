"""Slack's Web API for one connection: GET calls through the SSRF guard (connections.net), cursor
paging, and Slack's error shapes turned into ConnectorErrors a person can act on.

Slack answers most failures with HTTP 200 and {"ok": false, "error": "<code>"}; rate limits come
as HTTP 429 with Retry-After (or, rarely, ok:false "ratelimited"). Django-free."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError, MissingAtSource
from connections.retry import parse_retry_after

DEFAULT_INSTANCE_URL = "https://slack.com"

# The token no longer works: only a new authorization helps.
REAUTHORIZE = {
    "invalid_auth": "Slack does not accept the access token",
    "not_authed": "Slack received no access token",
    "token_revoked": "The Slack access token was revoked",
    "token_expired": "The Slack access token expired",
    "account_inactive": "The Slack user who authorized the connection was deactivated",
    "no_permission": "The Slack token has no permission for this call",
    "org_login_required": "The Slack workspace is migrating to an Enterprise Grid organization",
    "ekm_access_denied": "The Slack workspace administrators suspended API access",
}
TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


def instance_url(properties: Mapping[str, Any]) -> str:
    return str(properties.get("instanceUrl") or DEFAULT_INSTANCE_URL).rstrip("/")


class SlackApi:
    """Calls for one connection; on a refused token it asks for fresh credentials once (when the
    connection can refresh) and retries. `calls` counts the API calls made."""

    def __init__(self, conn: ConnectionInfo):
        self.conn = conn
        self.base = instance_url(conn.properties) + "/api/"
        self.token = str(conn.credentials.get("accessToken") or "")
        self.calls = 0

    def call(self, method: str, params: Mapping[str, Any] | None = None, *, subject: str = "") -> dict:
        """One Web API method; returns the JSON body of an ok answer. `subject` names what the call is
        about (e.g. the channel) in error messages."""
        url = self.base + method + (f"?{urlencode(params)}" if params else "")
        status, body, retry_after = self._send(url)
        error = _error_of(status, body)
        if error in ("invalid_auth", "token_expired", "http_401") and self.conn.refresh is not None:
            self.token = str(self.conn.refresh(self.token).get("accessToken") or "")
            status, body, retry_after = self._send(url)
            error = _error_of(status, body)
        if error is None:
            return body
        raise _connector_error(method, error, status, retry_after, subject, body)

    def pages(self, method: str, params: Mapping[str, Any], *, subject: str = "") -> Iterator[dict]:
        """Every page of a cursor-paged method, following response_metadata.next_cursor."""
        cursor = ""
        while True:
            page = self.call(method, {**params, **({"cursor": cursor} if cursor else {})}, subject=subject)
            yield page
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return

    def _send(self, url: str) -> tuple[int, Any, float | None]:
        self.calls += 1
        response = net.request("GET", url, headers={"Authorization": f"Bearer {self.token}",
                                                    "Accept": "application/json"})
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status, body, retry_after


def _error_of(status: int, body: Any) -> str | None:
    """Slack's error code for an answer, None when it is ok."""
    if status == 429:
        return "ratelimited"
    if status == 401:
        return (body or {}).get("error") if isinstance(body, dict) and body.get("error") else "http_401"
    if status >= 500:
        return f"http_{status}"
    if not isinstance(body, dict):
        return f"not_json_{status}"
    if status >= 400 and not body.get("error"):
        return f"http_{status}"
    if body.get("ok") is True and status < 400:
        return None
    return str(body.get("error") or "unknown_error")


def _connector_error(method: str, error: str, status: int, retry_after: float | None, subject: str,
                     body: Any) -> ConnectorError:
    if error == "ratelimited":
        wait = f" (it asks to wait {retry_after:g} s)" if retry_after is not None else ""
        return ConnectorError(f"Slack is rate limiting Sluice on {method}{wait}. The run is retried later.",
                              permanent=False, retry_after=retry_after)
    if error in TRANSIENT or error.startswith("http_5"):
        return ConnectorError(f"Slack had a temporary problem on {method} ({error}). "
                              "The run is retried later.",
                              permanent=False, retry_after=retry_after)
    if error in REAUTHORIZE or error == "http_401":
        what = REAUTHORIZE.get(error, "Slack refused the access token (HTTP 401)")
        return ConnectorError(f"{what} ({error}). Authorize the connection again (Re-authorize) with a "
                              "Slack user who can read the channels.")
    if error == "channel_not_found":
        return MissingAtSource(f'Slack has no channel "{subject}" that this user can read '
                               "(channel_not_found). "
                               "It may have been deleted, or the user who authorized the connection is not "
                               "a member of this private channel.", entity=f"conversations/{subject}")
    if error == "missing_scope":
        needed = str((body or {}).get("needed") or "") if isinstance(body, dict) else ""
        return ConnectorError(f"The Slack token lacks the scope {needed or 'this call needs'} for {method}. "
                              "Add the user token scopes to the Slack app, then Re-authorize.")
    if error == "not_in_channel":
        return ConnectorError(f'The Slack user who authorized the connection is not in channel "{subject}".')
    if error.startswith("not_json"):
        return ConnectorError(f"Slack's {method} answered something that is not JSON: check the Slack "
                              "instance URL of the connection.")
    if error == "http_404":
        return ConnectorError(f"There is no Slack Web API method {method} here: check the Slack "
                              "instance URL.")
    return ConnectorError(f"Slack refused {method}: {error}.")
