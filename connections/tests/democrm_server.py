"""A stand-in for the Demo CRM's REST API on a local port, serving the same generated data
(demo_saas.data) behind a fixed bearer token: connector tests need no Django server."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from demo_saas import data


def serve(monkeypatch: pytest.MonkeyPatch, token: str, accepted: list[str] | None = None) -> str:
    """Start the server for the rest of the test; returns its base URL. `accepted`, when given, is
    the list of tokens accepted (the test may change it to make the current one expire)."""
    tokens = accepted if accepted is not None else [token]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            if self.headers.get("Authorization") not in [f"Bearer {t}" for t in tokens]:
                return self.reply(401, {"error": "invalid_token"})
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
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

        def reply(self, status: int, body: dict) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    monkeypatch.setenv("SLUICE_NET_ALLOW", f"127.0.0.1:{port}")
    RUNNING.append(server)  # stopped after the test (connections/tests/conftest.py)
    return f"http://127.0.0.1:{port}/demo-saas/"


RUNNING: list[ThreadingHTTPServer] = []


def stop_all() -> None:
    while RUNNING:
        server = RUNNING.pop()
        server.shutdown()
        server.server_close()
