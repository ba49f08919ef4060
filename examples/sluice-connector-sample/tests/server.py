"""A local Sample Helpdesk API for the package's tests (and Sluice's): tickets behind a bearer
API key, paged by an opaque cursor, with updated_since and status parameters.

    server = serve()          # a thread on 127.0.0.1, any free port
    server.base               # http://127.0.0.1:PORT/
    server.stop()
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API_KEY = "sample-key-123"
STATUSES = ("open", "pending", "solved")
TICKETS = [
    {"id": f"T-{i:03d}", "subject": f"Ticket {i}", "status": STATUSES[i % 3], "priority": i % 4,
     "updated_at": f"2026-01-{1 + i // 10:02d}T{i % 24:02d}:00:00+00:00"}
    for i in range(120)
]


class HelpdeskServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}/"
        self.requests: list[str] = []
        self.malformed = False  # answer tickets with a body the connector does not expect

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):
    server: HelpdeskServer

    def log_message(self, *args) -> None:  # quiet in tests
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self._send(401, {"error": "invalid API key"})
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/api/v1/me":
            return self._send(200, {"account": "acme"})
        if url.path != "/api/v1/tickets":
            return self._send(404, {"error": "not found"})
        if self.server.malformed:
            return self._send(200, {"data": "tickets moved"})
        rows = [t for t in TICKETS if t["updated_at"] >= query.get("updated_since", "")
                and t["status"] == query.get("status", t["status"])]
        start, limit = int(query.get("cursor") or 0), int(query.get("limit") or 25)
        page = rows[start:start + limit]
        more = start + limit < len(rows)
        self._send(200, {"tickets": page, "next_cursor": str(start + limit) if more else None})

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve() -> HelpdeskServer:
    server = HelpdeskServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
