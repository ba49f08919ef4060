"""A small OpenID Connect provider on a local port, for the sign-in tests: discovery, JWKS,
authorize (approves at once as the configured person) and token (authorization code with PKCE,
client_secret_basic), signing RS256 id tokens with joserfc.

Written from OpenID Connect Core 1.0 (https://openid.net/specs/openid-connect-core-1_0.html:
3.1.2 authorization request, 3.1.3 token endpoint, 2 id token claims), Discovery 1.0
(https://openid.net/specs/openid-connect-discovery-1_0.html, 4) and RFC 7636 (PKCE, 4.6 S256).
`overrides` bends the id token (a wrong aud, an old exp, another nonce) for the refusal tests."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "sluice-console"
CLIENT_SECRET = "oidc-client-secret-for-tests"


class Provider:
    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
        self.claims: dict = {
            "sub": "u-1001",
            "email": "ada@example.com",
            "email_verified": True,
            "groups": ["data-eng"],
        }
        self.overrides: dict = {}
        self.sign_with = self.key
        self.codes: dict[str, dict] = {}
        self.token_requests: list[dict] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urlsplit(self.path)
                if parts.path == "/.well-known/openid-configuration":
                    return self.json(200, provider.discovery())
                if parts.path == "/jwks":
                    return self.json(200, KeySet([provider.key]).as_dict(private=False))
                if parts.path == "/authorize":
                    return provider.authorize(self, {k: v[0] for k, v in parse_qs(parts.query).items()})
                return self.json(404, {"error": "not_found"})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                if urlsplit(self.path).path == "/token":
                    return provider.token(self, form, self.headers.get("Authorization", ""))
                return self.json(404, {"error": "not_found"})

            def json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.issuer + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def authorize(self, handler, query: dict) -> None:
        if (
            query.get("client_id") != CLIENT_ID
            or query.get("response_type") != "code"
            or query.get("code_challenge_method") != "S256"
            or "openid" not in query.get("scope", "")
        ):
            return handler.json(400, {"error": "invalid_request"})
        code = secrets.token_urlsafe(16)
        self.codes[code] = query
        location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.end_headers()

    def token(self, handler, form: dict, authorization: str) -> None:
        self.token_requests.append(form)
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return handler.json(401, {"error": "invalid_client"})
        pending = self.codes.pop(form.get("code", ""), None)
        if pending is None or form.get("redirect_uri") != pending["redirect_uri"]:
            return handler.json(400, {"error": "invalid_grant"})
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != pending["code_challenge"]:
            return handler.json(400, {"error": "invalid_grant"})
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": pending["nonce"],
            **self.claims,
            **self.overrides,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.sign_with)
        handler.json(
            200,
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            },
        )
