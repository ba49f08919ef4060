"""A stand-in for a Zendesk Support account on a local port, for tests only. Its answers follow the
shapes of Zendesk's published API reference examples: cursor pagination (`page[size]`,
`meta.has_more` / `meta.after_cursor`, `links.next`), the cursor-based incremental exports of
tickets and users (`start_time`, `cursor`, `after_cursor`, `end_of_stream`), the time-based one of
organizations (`next_page`, `end_time`), `/api/v2/ticket_fields` and `/api/v2/user_fields`, and
errors as Zendesk sends them (401 `{"error": "invalid_token"}`, 429 with Retry-After)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from connections.tests.democrm_server import RUNNING  # stopped after each test (conftest.py)

MAX_PAGE = 100


def ts(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ticket(n: int, updated: int, **extra) -> dict:
    """A ticket shaped like the example of Zendesk's "Show Ticket"."""
    return {
        "id": n, "url": f"https://example.zendesk.com/api/v2/tickets/{n}.json", "external_id": None,
        "type": "incident", "subject": f"Help, my printer is on fire ({n})", "raw_subject": f"Printer {n}",
        "description": "The fire is very colorful.", "priority": "high", "status": "open",
        "recipient": "support@example.com", "requester_id": 20978392, "submitter_id": 76872,
        "assignee_id": 235323, "organization_id": 509974, "group_id": 98738,
        "collaborator_ids": [35334, 234], "follower_ids": [35334], "problem_id": None,
        "has_incidents": False, "is_public": True, "due_at": None, "tags": ["enterprise", "other_tag"],
        "via": {"channel": "web"}, "satisfaction_rating": None, "brand_id": 1, "ticket_form_id": None,
        "custom_fields": [{"id": 27642, "value": "745"}, {"id": 27648, "value": "yes"}],
        "created_at": ts(updated - 3600), "updated_at": ts(updated), **extra,
    }


def user(n: int, updated: int, **extra) -> dict:
    return {
        "id": n, "url": f"https://example.zendesk.com/api/v2/users/{n}.json", "name": f"Johnny Agent {n}",
        "email": f"johnny{n}@example.com", "phone": None, "role": "agent", "time_zone": "Copenhagen",
        "locale": "en-US", "organization_id": 57542, "external_id": None, "alias": None, "active": True,
        "verified": True, "suspended": False, "shared": False, "tags": [], "notes": None, "details": None,
        "last_login_at": None, "user_fields": {"employee_number": 1000 + n, "vip": n % 2 == 0},
        "created_at": ts(updated - 3600), "updated_at": ts(updated), **extra,
    }


def organization(n: int, updated: int) -> dict:
    return {
        "id": n, "url": f"https://example.zendesk.com/api/v2/organizations/{n}.json", "name": f"One Organization {n}",
        "external_id": "ABC198", "domain_names": ["example.com", "test.com"], "details": "This is a kind of organization",
        "notes": "", "group_id": None, "shared_tickets": True, "shared_comments": True, "tags": ["enterprise"],
        "organization_fields": {"org_decimal": 5.2}, "created_at": ts(updated - 3600), "updated_at": ts(updated),
    }


TICKET_FIELDS = [
    {"id": 34, "url": "https://example.zendesk.com/api/v2/ticket_fields/34.json", "type": "subject",
     "title": "Subject", "description": "This is the subject field of a ticket", "position": 21,
     "active": True, "required": True, "removable": False, "visible_in_portal": True,
     "editable_in_portal": True, "created_at": "2009-07-20T22:55:29Z", "updated_at": "2011-05-05T10:38:52Z"},
    {"id": 27642, "type": "integer", "title": "Order number", "description": "", "position": 22,
     "active": True, "required": False, "removable": True, "created_at": "2012-04-02T22:55:29Z",
     "updated_at": "2012-04-02T22:55:29Z"},
    {"id": 27648, "type": "tagger", "title": "Refund?", "description": "", "position": 23, "active": True,
     "required": False, "removable": True, "custom_field_options": [{"name": "Yes", "value": "yes"}],
     "created_at": "2012-04-02T22:55:29Z", "updated_at": "2012-04-02T22:55:29Z"},
]
USER_FIELDS = [
    {"id": 75, "key": "employee_number", "type": "integer", "title": "Employee number", "active": True},
    {"id": 76, "key": "vip", "type": "checkbox", "title": "VIP", "active": True},
]


class FakeZendesk:
    """The account's state, which tests read and change."""

    def __init__(self, token: str):
        self.tokens = [token]
        now = int(datetime.now(UTC).timestamp()) - 3600
        self.tickets = [ticket(n, now - 86400 * 10 + n * 60) for n in range(1, 251)]
        self.users = [user(n, now - 86400 * 10 + n * 60) for n in range(1, 8)]
        self.organizations = [organization(n, now - 86400 * 10 + n * 60) for n in range(1, 4)]
        self.ticket_fields = list(TICKET_FIELDS)
        self.user_fields = list(USER_FIELDS)
        self.requests: list[str] = []  # path?query of every API call
        self.fail_next: list[tuple[int, dict[str, str]]] = []  # (status, headers) to answer next
        self.lock = threading.Lock()
        self.base = ""

    def records(self, name: str) -> list[dict]:
        return getattr(self, name)

    def cursor_page(self, name: str, query: dict) -> dict:
        rows = self.records(name)
        size = min(int(query.get("page[size]", MAX_PAGE)), MAX_PAGE)
        after = int(query.get("page[after]", 0))
        page = rows[after:after + size]
        more = after + size < len(rows)
        nxt = f"{self.base}api/v2/{name}.json?" + urlencode({"page[after]": after + size, "page[size]": size})
        return {name: page,
                "meta": {"has_more": more, "after_cursor": str(after + size) if more else None,
                         "before_cursor": str(after)},
                "links": {"next": nxt if more else None, "prev": None}}

    def incremental(self, name: str, query: dict) -> tuple[int, dict]:
        per_page = min(int(query.get("per_page", 1000)), 1000)
        if "cursor" in query:
            start_index = int(query["cursor"])
        elif "start_time" in query:
            start = int(query["start_time"])
            if start > int(datetime.now(UTC).timestamp()) - 60:
                return 400, {"error": "InvalidValue", "description": "start_time is too recent"}
            rows = sorted(self.records(name), key=lambda r: r["updated_at"])
            start_index = next((i for i, r in enumerate(rows) if r["updated_at"] >= ts(start)), len(rows))
        else:
            return 400, {"error": "InvalidValue", "description": "start_time or cursor is required"}
        rows = sorted(self.records(name), key=lambda r: r["updated_at"])
        page = rows[start_index:start_index + per_page]
        end = start_index + per_page >= len(rows)
        cursor = str(start_index + len(page))
        return 200, {name: page, "after_cursor": cursor, "before_cursor": str(start_index),
                     "after_url": f"{self.base}api/v2/incremental/{name}/cursor.json?cursor={cursor}",
                     "end_of_stream": end}

    def time_incremental(self, name: str, query: dict) -> dict:
        start = int(query.get("start_time", 0))
        rows = [r for r in sorted(self.records(name), key=lambda r: r["updated_at"]) if r["updated_at"] >= ts(start)]
        return {name: rows, "count": len(rows), "end_of_stream": True, "next_page": None,
                "end_time": int(datetime.now(UTC).timestamp())}


def serve(monkeypatch: pytest.MonkeyPatch, token: str = "zd-token") -> FakeZendesk:
    """Start the account for the rest of the test; `account.base` is its address (baseUrl)."""
    account = FakeZendesk(token)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            with account.lock:
                account.requests.append(self.path)
                failure = account.fail_next.pop(0) if account.fail_next else None
            if failure:
                status, headers = failure
                return self.reply(status, {"error": "APIRateLimitExceeded" if status == 429 else "Forbidden"},
                                  headers)
            if self.headers.get("Authorization") not in [f"Bearer {t}" for t in account.tokens]:
                return self.reply(401, {"error": "invalid_token",
                                        "error_description": "The access token provided is expired, revoked, "
                                                             "malformed or invalid for other reasons."})
            path = parts.path
            if path == "/api/v2/users/me.json":
                return self.reply(200, {"user": user(1, 0)})
            for name in ("tickets", "users", "organizations", "ticket_fields", "user_fields"):
                if path == f"/api/v2/{name}.json":
                    return self.reply(200, account.cursor_page(name, query))
            for name in ("tickets", "users"):
                if path == f"/api/v2/incremental/{name}/cursor.json":
                    return self.reply(*account.incremental(name, query))
            if path == "/api/v2/incremental/organizations.json":
                return self.reply(200, account.time_incremental("organizations", query))
            return self.reply(404, {"error": "InvalidEndpoint", "description": "Not found"})

        def reply(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    monkeypatch.setenv("SLUICE_NET_ALLOW", f"127.0.0.1:{port}")
    RUNNING.append(server)
    account.base = f"http://127.0.0.1:{port}/"
    return account
