"""A stand-in for the Demo CRM on a local port: its REST API over the same generated data
(demo_saas.data) and a token endpoint that checks PKCE and rotates refresh tokens. Connector and
OAuth tests need no Django server; the browser test uses the real Demo CRM."""

from __future__ import annotations

import base64
import secrets
import threading
from datetime import datetime
from urllib.parse import urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from connections.tests import local_server
from connections.tests.local_server import RUNNING, stop_all  # noqa: F401  (their old home)
from demo_saas import data

CLIENT_ID, CLIENT_SECRET = "sluice", "demo-client-secret"


class FakeProvider:
    """The provider's state, which tests read and change."""

    def __init__(self, token: str):
        self.access_tokens = [token]  # accepted by the API
        self.refresh_tokens = ["refresh-0"]  # accepted once each (rotation)
        self.codes: dict[str, str] = {}  # code -> PKCE challenge it was issued for
        self.token_calls: list[dict] = []
        self.requests: list[str] = []  # path?query of every API call (GET)
        self.expires_in = 3600
        self.lock = threading.Lock()
        self.base = ""

    def issue_code(self, challenge: str) -> str:
        code = secrets.token_urlsafe(16)
        self.codes[code] = challenge
        return code

    def _tokens(self) -> dict:
        access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.access_tokens.append(access)
        self.refresh_tokens.append(refresh)
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                "expires_in": self.expires_in}

    def token(self, form: dict, auth: str) -> tuple[int, dict]:
        with self.lock:
            self.token_calls.append(form)
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if auth != expected:
                return 401, {"error": "invalid_client"}
            if form.get("grant_type") == "authorization_code":
                challenge = self.codes.pop(form.get("code", ""), None)
                if challenge is None or create_s256_code_challenge(form.get("code_verifier", "")) != challenge:
                    return 400, {"error": "invalid_grant", "error_description": "bad code or verifier"}
                return 200, self._tokens()
            if form.get("grant_type") == "refresh_token":
                if form.get("refresh_token") not in self.refresh_tokens:
                    return 400, {"error": "invalid_grant", "error_description": "refresh token not valid"}
                self.refresh_tokens.remove(form["refresh_token"])
                return 200, self._tokens()
            return 400, {"error": "unsupported_grant_type"}


def serve(monkeypatch: pytest.MonkeyPatch, token: str = "token-0") -> FakeProvider:
    """Start the provider for the rest of the test; `provider.base` is its Demo CRM address."""
    provider = FakeProvider(token)

    class Handler(local_server.JsonHandler):
        def do_POST(self):  # noqa: N802
            form = self.form()
            if urlsplit(self.path).path != "/demo-saas/oauth/token":
                return self.reply(404, {"error": "not_found"})
            return self.reply(*provider.token(form, self.headers.get("Authorization", "")))

        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            with provider.lock:
                provider.requests.append(self.path)
            if self.headers.get("Authorization") not in [f"Bearer {t}" for t in provider.access_tokens]:
                return self.reply(401, {"error": "invalid_token"})
            query = local_server.single_values(parts.query)
            if parts.path == "/demo-saas/api/v1/me":
                return self.reply(200, {"user": "owner"})
            if parts.path == "/demo-saas/api/v1/objects":
                return self.reply(200, {"objects": [
                    {"name": n, "count": s[0], "fields": [{"name": f, "type": t} for f, t in s[2]]}
                    for n, s in data.OBJECTS.items()]})
            name = parts.path.rsplit("/", 1)[-1]
            if name not in data.OBJECTS:
                return self.reply(404, {"error": "not_found"})
            since = query.get("modified_since")
            rows, cursor = data.page(name, cursor=int(query.get("cursor", 0)), limit=int(query.get("limit", 200)),
                                     modified_since=datetime.fromisoformat(since) if since else None)
            return self.reply(200, {"records": rows, "next_cursor": cursor})

    provider.base = local_server.start(Handler, monkeypatch) + "/demo-saas/"
    return provider
