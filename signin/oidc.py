"""OpenID Connect sign-in (docs/sso.md): discovery, authorization code with PKCE (S256), state
and nonce kept in the session, and the id token checked (signature against the provider's JWKS,
iss, aud, exp, iat, nonce) with joserfc, authlib's JOSE library.

The issuer and the endpoints its discovery document names are fetched through the one guarded
HTTP client (connections/net.py, certificates verified): a provider on a private network is
listed in SLUICE_NET_ALLOW, as a local database is. Plain http is allowed for loopback only (a
provider on this machine)."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from connections import net
from connections.connectors.base import ConnectorError

TIMEOUT = 10
DISCOVERY_CACHE_SECONDS = 300
LEEWAY_SECONDS = 60  # clock difference tolerated between Sluice and the provider
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
_discovery: dict[str, tuple[float, dict]] = {}


class SignInRefused(Exception):
    """Said to the person on the login page, as it is."""


@dataclass(frozen=True)
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str = "openid email profile"


def _check_scheme(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    ):
        return
    raise SignInRefused(
        "The single sign-on provider's address must be https (http only on this machine). "
        "Ask your Sluice administrator to check SLUICE_OIDC_ISSUER."
    )


def _fetch(url: str, data: dict | None = None, headers: dict | None = None) -> dict:
    _check_scheme(url)
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    sent = {"Accept": "application/json", **(headers or {})}
    if body is not None:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        response = net.request("POST" if body is not None else "GET", url, headers=sent, body=body,
                               timeout=TIMEOUT, max_redirects=2, max_body_bytes=1 << 20)
    except net.BlockedAddress as exc:
        raise SignInRefused(
            f"The single sign-on provider's address is refused ({exc.reason}). Ask your Sluice "
            "administrator to list its host in SLUICE_NET_ALLOW."
        ) from None
    except ConnectorError:
        raise SignInRefused(
            "The single sign-on provider could not be reached. Try again later, or log in "
            "with your Sluice password."
        ) from None
    if response.status >= 400:
        try:
            error = json.loads(response.body[:4096]).get("error", "")
        except (ValueError, AttributeError):
            error = ""
        raise SignInRefused(
            f"The single sign-on provider answered {response.status}{f' ({error})' if error else ''}. "
            "Try again; if it persists, tell your Sluice administrator."
        )
    try:
        return json.loads(response.body)
    except ValueError:
        raise SignInRefused(
            "The single sign-on provider answered with something that is not JSON. Try again later, "
            "or log in with your Sluice password."
        ) from None


def discover(provider: Provider) -> dict:
    """The provider's discovery document, cached a few minutes; its issuer must be ours."""
    cached = _discovery.get(provider.issuer)
    if cached and time.monotonic() - cached[0] < DISCOVERY_CACHE_SECONDS:
        return cached[1]
    document = _fetch(provider.issuer + "/.well-known/openid-configuration")
    if document.get("issuer", "").rstrip("/") != provider.issuer:
        raise SignInRefused(
            "The single sign-on provider's discovery document names another issuer. "
            "Ask your Sluice administrator to check SLUICE_OIDC_ISSUER."
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(key), str):
            raise SignInRefused(f"The single sign-on provider's discovery document has no {key}.")
    _discovery[provider.issuer] = (time.monotonic(), document)
    return document


def authorization(provider: Provider, redirect_uri: str) -> tuple[str, dict]:
    """(URL to send the browser to, what to keep in the session until the callback)."""
    document = discover(provider)
    pending = {"state": generate_token(32), "nonce": generate_token(32), "verifier": generate_token(64)}
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": redirect_uri,
            "scope": provider.scopes,
            "state": pending["state"],
            "nonce": pending["nonce"],
            "code_challenge": create_s256_code_challenge(pending["verifier"]),
            "code_challenge_method": "S256",
        }
    )
    endpoint = document["authorization_endpoint"]
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", pending


def exchange(provider: Provider, pending: dict, code: str, redirect_uri: str) -> dict[str, Any]:
    """Trade the code for tokens (client_secret_basic) and return the checked id token's claims."""
    document = discover(provider)
    basic = base64.b64encode(
        f"{urllib.parse.quote(provider.client_id)}:{urllib.parse.quote(provider.client_secret)}".encode()
    ).decode()
    tokens = _fetch(
        document["token_endpoint"],
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": pending["verifier"],
        },
        headers={"Authorization": f"Basic {basic}"},
    )
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise SignInRefused(
            "The single sign-on provider sent no id token. Check that the client may use the openid scope."
        )
    return check_id_token(id_token, provider, pending["nonce"], _fetch(document["jwks_uri"]))


def check_id_token(id_token: str, provider: Provider, nonce: str, jwks: dict) -> dict[str, Any]:
    try:
        keys = KeySet.import_key_set(jwks)
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
    except BadSignatureError:
        raise SignInRefused(
            "The id token's signature does not match the provider's keys: sign-in refused."
        ) from None
    except (JoseError, ValueError, TypeError):
        raise SignInRefused("The id token could not be read: sign-in refused.") from None
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": provider.issuer},
        sub={"essential": True},
        aud={"essential": True, "value": provider.client_id},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    claims = token.claims
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise SignInRefused(
            "The id token has expired: sign-in refused. Try again (check this server's "
            "clock if it keeps happening)."
        ) from None
    except (InvalidClaimError, MissingClaimError) as exc:
        claim = getattr(exc, "claim", "") or str(exc)
        what = {
            "aud": "is meant for another application (audience)",
            "iss": "comes from another issuer",
            "nonce": "does not answer this sign-in (nonce)",
        }.get(claim, f"has a wrong or missing {claim} claim")
        raise SignInRefused(f"The id token {what}: sign-in refused.") from None
    except JoseError:
        raise SignInRefused("The id token is not valid: sign-in refused.") from None
    azp = claims.get("azp")
    if isinstance(claims.get("aud"), list) and len(claims["aud"]) > 1 and azp != provider.client_id:
        raise SignInRefused("The id token is meant for another application (azp): sign-in refused.")
    return claims


def allowed_email(claims: dict, domains: list[str]) -> str:
    """The verified email address, when its domain is allowed (no list: any domain)."""
    email = str(claims.get("email") or "").strip().lower()
    if not email or "@" not in email:
        raise SignInRefused("The provider sent no email address: Sluice needs one to know who you are.")
    if claims.get("email_verified") is False:
        raise SignInRefused(f"The provider has not verified {email}: sign-in refused.")
    domain = email.rpartition("@")[2]
    if domains and domain not in domains:
        raise SignInRefused(
            f"Accounts of {domain} may not sign in to this Sluice. Ask your administrator to "
            "add the domain to SLUICE_OIDC_ALLOWED_DOMAINS."
        )
    return email
