"""What every stand-in API server of the connector tests shares (democrm_server, slack_server,
zendesk_server, salesforce_server, servicenow_server): a quiet request handler that answers JSON
with the headers a real API sends, and a server on a free local port that Sluice's SSRF guard lets
through for the one test and that conftest.py stops after it. Each server keeps its own routes and
the vendor's answers; only the HTTP plumbing lives here."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

# Servers started by the running test; connections/tests/conftest.py stops them after it.
RUNNING: list[ThreadingHTTPServer] = []


def single_values(text: str, keep_blank_values: bool = False) -> dict[str, str]:
    """A query string or form body as name -> value (the first, where a name repeats)."""
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=keep_blank_values).items()}


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler whose reply() answers JSON, as the vendor labels it."""

    json_type = "application/json"  # the Content-Type of a JSON answer, spelled as the vendor does
    ascii_json = True  # False: non-ASCII text is sent as UTF-8, not as \u escapes (Slack)

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def form(self) -> dict[str, str]:
        """A form-encoded request body (a token request)."""
        return single_values(self.body().decode())

    def reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """`body` as JSON (None: an empty body), with `headers` besides the content's own."""
        raw = b"" if body is None else json.dumps(body, ensure_ascii=self.ascii_json).encode()
        self.send(status, raw, self.json_type, headers)

    def send(self, status: int, raw: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass  # the test's output shows failures, not one line per request


def start(handler: type[BaseHTTPRequestHandler], monkeypatch: pytest.MonkeyPatch) -> str:
    """Serve `handler` on a free local port until the test ends; its address, without a slash."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    monkeypatch.setenv("SLUICE_NET_ALLOW", f"127.0.0.1:{port}")
    RUNNING.append(server)
    return f"http://127.0.0.1:{port}"


def stop_all() -> None:
    while RUNNING:
        server = RUNNING.pop()
        server.shutdown()
        server.server_close()
