"""The client side of OAuth 2.0 for every connector: PKCE, the authorization URL, the code
exchange and the refresh. Django-free; every call goes through the SSRF guard (connections.net).

Errors never carry a code, a token or a client secret: only the provider's error name and text."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from connections import net
from connections.connectors.base import OAUTH_KEPT, ConnectorError


class OAuthError(ConnectorError):
    """The provider refused: `error` is its code (invalid_grant, access_denied, ...)."""

    def __init__(self, error: str, description: str = "", *, permanent: bool = True):
        text = f"{error}: {description}" if description else error
        super().__init__(f"The provider answered {text}", permanent=permanent)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = generate_token(64)  # 43..128 characters of the unreserved set
        return cls(verifier, create_s256_code_challenge(verifier))


def new_state() -> str:
    return generate_token(43)


def authorization_url(endpoint: str, *, client_id: str, redirect_uri: str, scopes: tuple[str, ...],
                      state: str, pkce: Pkce, scope_param: str = "scope") -> str:
    query = urlencode({
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        scope_param: " ".join(scopes),
        "state": state,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    })
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


Unwrap = Callable[[Mapping[str, Any]], Mapping[str, Any]]


CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


def _token_call(
    token_url: str, form: Mapping[str, str], client_id: str, client_secret: str, unwrap: Unwrap | None = None,
    client_auth: str = "client_secret_basic",
) -> Mapping[str, Any]:
    """POST to the token endpoint. `client_auth` (the connector's oauth_client_auth) says where
    the client credentials go: an HTTP Basic header, or the form body."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if client_auth == "client_secret_post":
        form = {**form, "client_id": client_id, "client_secret": client_secret}
    elif client_auth == "client_secret_basic":
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
    else:
        raise ValueError(f"unknown OAuth client authentication {client_auth!r} "
                         f"(one of {CLIENT_AUTH_METHODS})")
    response = net.request("POST", token_url, body=urlencode(form).encode(), headers=headers)
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise OAuthError("invalid_response", f"HTTP {response.status} without a JSON body", permanent=False)
    if not response.ok or "error" in payload:
        error = str(payload.get("error") or f"http_{response.status}")
        description = str(payload.get("error_description") or "")[:300]
        raise OAuthError(error, description, permanent=response.status < 500)
    if unwrap is not None:
        payload = unwrap(payload)
    if not payload.get("access_token"):
        raise OAuthError("invalid_response", "no access_token in the token response", permanent=False)
    return payload


def tokens_from(payload: Mapping[str, Any], previous_refresh: str = "") -> dict[str, Any]:
    """The token response as stored credentials. A provider that does not rotate refresh tokens
    sends none back: keep the previous one. Values the connector's oauth_token_payload put under
    OAUTH_KEPT (its oauth_token_extras, e.g. Salesforce's instance URL) are stored with the tokens."""
    expires_in = payload.get("expires_in")
    kept = payload.get(OAUTH_KEPT)
    return {
        "accessToken": payload["access_token"],
        "refreshToken": payload.get("refresh_token") or previous_refresh,
        "expiresAt": int(time.time()) + int(expires_in) if expires_in else 0,
        **({str(k): str(v) for k, v in kept.items()} if isinstance(kept, Mapping) else {}),
    }


def exchange_code(token_url: str, *, code: str, verifier: str, redirect_uri: str,
                  client_id: str, client_secret: str, unwrap: Unwrap | None = None,
                  client_auth: str = "client_secret_basic") -> dict[str, Any]:
    """`unwrap`: the connector's oauth_token_payload, for providers that nest the tokens;
    `client_auth`: its oauth_client_auth."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}
    return tokens_from(_token_call(token_url, form, client_id, client_secret, unwrap, client_auth))


def refresh(token_url: str, *, refresh_token: str, client_id: str, client_secret: str,
            unwrap: Unwrap | None = None, client_auth: str = "client_secret_basic") -> dict[str, Any]:
    if not refresh_token:
        raise OAuthError("invalid_grant", "there is no refresh token; authorize the connection again")
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return tokens_from(_token_call(token_url, form, client_id, client_secret, unwrap, client_auth),
                       refresh_token)


def needs_refresh(credentials: Mapping[str, Any], leeway: int = 120) -> bool:
    """True when the access token expires within `leeway` seconds (0 = no known expiry)."""
    expires_at = int(credentials.get("expiresAt") or 0)
    return bool(expires_at) and expires_at - leeway <= time.time()


def client_credentials(token_url: str, form: Mapping[str, str], *, client_id: str, client_secret: str,
                       client_auth: str = "client_secret_basic") -> Mapping[str, Any]:
    """The token response of a client credentials grant (RFC 6749 4.4): `form` holds grant_type
    and, when asked for, scope. Nothing is stored: the caller keeps the token for its run."""
    return _token_call(token_url, form, client_id, client_secret, None, client_auth)
