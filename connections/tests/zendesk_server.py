"""A stand-in for a Zendesk Support account on a local port, for tests only. Its answers follow the
shapes of Zendesk's published API reference examples: cursor pagination (`page[size]`,
`meta.has_more` / `meta.after_cursor`, `links.next`), the cursor-based incremental exports of
tickets and users (`start_time`, `cursor`, `after_cursor`, `end_of_stream`), the time-based one of
organizations (`next_page`, `end_time`), `/api/v2/ticket_fields` and `/api/v2/user_fields`, and
errors as Zendesk sends them (401 `{"error": "invalid_token"}`, 429 with Retry-After).

Writes: the bulk endpoints (`create_many`, `update_many`, users' `create_or_update_many`; at most
100 records a call) answer a queued `job_status`, which `/api/v2/job_statuses/{id}.json` reports
`working` once and then `completed` with per-record `results` (failures carry `error` and
`details`). `/oauth/tokens` takes `client_id` and `client_secret` in the request body (JSON or
form), as Zendesk's OAuth docs have them, and refuses a client that sends them otherwise."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

import pytest

from connections.tests import local_server

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


def satisfaction_rating(n: int, updated: int) -> dict:
    """Zendesk's documented example rating, numbered."""
    return {
        "id": 35436 + n, "url": f"https://example.zendesk.com/api/v2/satisfaction_ratings/{35436 + n}.json",
        "assignee_id": 135, "group_id": 44, "requester_id": 7881, "ticket_id": 208 + n,
        "score": "good" if n % 3 else "bad", "comment": "Awesome support!" if n % 3 else "Très lent… 😞",
        "reason": None if n % 3 else "The issue took too long to resolve", "reason_id": None if n % 3 else 1000,
        "created_at": ts(updated - 3600), "updated_at": ts(updated),
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
        self.satisfaction_ratings = [satisfaction_rating(n, now - 86400 * 5 + n * 60) for n in range(1, 131)]
        self.ticket_fields = list(TICKET_FIELDS)
        self.user_fields = list(USER_FIELDS)
        self.requests: list[str] = []  # path?query of every API call (writes as "METHOD path")
        self.bodies: list[dict] = []  # the JSON body of every bulk write
        self.jobs: dict[str, dict] = {}
        self.client = ("sluice", "zd-client-secret")
        self.codes: set[str] = set()  # authorization codes the consent page handed out
        self.refresh_tokens: set[str] = set()
        self.token_requests: list[dict] = []  # {"form", "basic": bool}
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


    # --- writes -----------------------------------------------------------------------------------

    def bulk(self, name: str, action: str, records: list[dict]) -> tuple[int, dict]:
        """Do a bulk write and answer its queued job, as Zendesk does."""
        if not isinstance(records, list) or not records:
            return 400, {"error": "InvalidValue", "description": f"{name} must be a non-empty array"}
        if len(records) > MAX_PAGE:
            return 400, {"error": "TooManyValues", "description": f"You may only send {MAX_PAGE} {name} at a time"}
        results = [self.write_one(name, action, i, record) for i, record in enumerate(records)]
        job_id = uuid.uuid4().hex
        job = {"id": job_id, "url": f"{self.base}api/v2/job_statuses/{job_id}.json", "total": len(records),
               "progress": None, "status": "queued", "message": None, "results": None}
        self.jobs[job_id] = {"job": dict(job), "results": results, "polls": 0}
        return 200, {"job_status": job}

    def job_status(self, job_id: str) -> tuple[int, dict]:
        entry = self.jobs.get(job_id)
        if entry is None:
            return 404, {"error": "RecordNotFound", "description": "Not found"}
        entry["polls"] += 1
        job = dict(entry["job"])
        if entry["polls"] == 1:
            job.update(status="working", progress=0)
        else:
            job.update(status="completed", progress=job["total"], message=f"Completed at {ts(0)}",
                       results=entry["results"])
        return 200, {"job_status": job}

    def write_one(self, name: str, action: str, index: int, record: dict) -> dict:
        rows = self.records(name)
        now = ts(int(datetime.now(UTC).timestamp()))
        if action == "update":
            found = next((r for r in rows if (record.get("id") is not None and r["id"] == record.get("id"))
                          or (record.get("external_id") and r.get("external_id") == record["external_id"])), None)
            if found is None:
                return {"id": record.get("id"), "error": "RecordNotFound",
                        "details": f"{name[:-1].capitalize()} not found", "status": "Failed", "success": False}
            problem = self.invalid(name, {**found, **record})
            if problem:
                return {"id": found["id"], "error": "RecordInvalid", "details": problem, "status": "Failed",
                        "success": False}
            found.update({k: v for k, v in record.items() if k != "comment"}, updated_at=now)
            return {"id": found["id"], "action": "update", "status": "Updated", "success": True}
        if action == "create_or_update":
            key = "external_id" if record.get("external_id") else "email"
            found = next((r for r in rows if record.get(key) and r.get(key) == record.get(key)), None)
            if found is not None:
                found.update(record, updated_at=now)
                return {"id": found["id"], "index": index, "status": "Updated", key: record.get(key)}
        problem = self.invalid(name, record)
        if problem:
            return {"index": index, "error": "RecordInvalid", "details": problem, "status": "Failed"}
        new_id = max([r["id"] for r in rows], default=0) + 1
        stored = {**record, "id": new_id, "created_at": now, "updated_at": now}
        if name == "tickets":
            stored["description"] = record["comment"]["body"]
        rows.append(stored)
        return {"id": new_id, "index": index, "status": "Created", "success": True}

    @staticmethod
    def invalid(name: str, record: dict) -> str:
        """Zendesk's validation message for a record it would refuse, or ""."""
        if name == "tickets" and "id" not in record and not (record.get("comment") or {}).get("body"):
            return "Description: cannot be blank"
        if name == "tickets" and record.get("priority") not in (None, "urgent", "high", "normal", "low"):
            return f"Priority: {record['priority']} is not a valid priority"
        if name == "users" and not record.get("name"):
            return "Name: is too short (minimum one character)"
        if name == "users" and record.get("email") and "@" not in record["email"]:
            return f"Email: {record['email']} is not properly formatted"
        if name == "organizations" and not record.get("name"):
            return "Name: cannot be blank"
        return ""

    def token(self, form: dict, basic: bool) -> tuple[int, dict]:
        """POST /oauth/tokens, the client authenticated by client_id / client_secret in the body."""
        self.token_requests.append({"form": dict(form), "basic": basic})
        if (form.get("client_id"), form.get("client_secret")) != self.client:
            return 401, {"error": "invalid_client",
                         "error_description": "Client authentication failed due to unknown client, no client "
                                              "authentication included, or unsupported authentication method."}
        grant = form.get("grant_type")
        if grant == "authorization_code" and form.get("code") in self.codes:
            self.codes.discard(form["code"])
        elif grant == "refresh_token" and form.get("refresh_token") in self.refresh_tokens:
            self.refresh_tokens.discard(form["refresh_token"])
        else:
            return 400, {"error": "invalid_grant", "error_description": "The provided authorization grant is "
                                                                        "invalid, expired, or revoked."}
        access, refresh = uuid.uuid4().hex, uuid.uuid4().hex
        self.tokens.append(access)
        self.refresh_tokens.add(refresh)
        return 200, {"access_token": access, "token_type": "bearer", "scope": "read write",
                     "refresh_token": refresh, "expires_in": 172800, "refresh_token_expires_in": 7776000}


def serve(monkeypatch: pytest.MonkeyPatch, token: str = "zd-token") -> FakeZendesk:
    """Start the account for the rest of the test; `account.base` is its address (baseUrl)."""
    account = FakeZendesk(token)

    class Handler(local_server.JsonHandler):
        json_type = "application/json; charset=utf-8"

        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            query = local_server.single_values(parts.query)
            with account.lock:
                account.requests.append(self.path)
                failure = account.fail_next.pop(0) if account.fail_next else None
            if self.refused(failure):
                return
            path = parts.path
            if path == "/api/v2/users/me.json":
                return self.reply(200, {"user": user(1, 0)})
            for name in ("tickets", "users", "organizations", "ticket_fields", "user_fields",
                         "satisfaction_ratings"):
                if path == f"/api/v2/{name}.json":
                    return self.reply(200, account.cursor_page(name, query))
            for name in ("tickets", "users"):
                if path == f"/api/v2/incremental/{name}/cursor.json":
                    return self.reply(*account.incremental(name, query))
            if path == "/api/v2/incremental/organizations.json":
                return self.reply(200, account.time_incremental("organizations", query))
            if path.startswith("/api/v2/job_statuses/") and path.endswith(".json"):
                with account.lock:
                    return self.reply(*account.job_status(path.rsplit("/", 1)[1].removesuffix(".json")))
            return self.reply(404, {"error": "InvalidEndpoint", "description": "Not found"})

        def refused(self, failure: tuple[int, dict[str, str]] | None) -> bool:
            """Answers the failure the test queued (fail_next), else a 401 for a token the account
            does not know, as Zendesk words them; True when it answered."""
            if failure:
                status, headers = failure
                self.reply(status, {"error": "APIRateLimitExceeded" if status == 429 else "Forbidden"}, headers)
                return True
            if self.headers.get("Authorization") not in [f"Bearer {t}" for t in account.tokens]:
                self.reply(401, {"error": "invalid_token",
                                 "error_description": "The access token provided is expired, revoked, "
                                                      "malformed or invalid for other reasons."})
                return True
            return False

        def do_POST(self):  # noqa: N802
            self.write("POST")

        def do_PUT(self):  # noqa: N802
            self.write("PUT")

        def write(self, method: str) -> None:
            path = urlsplit(self.path).path
            raw = self.body()
            with account.lock:
                account.requests.append(f"{method} {path}")
                failure = account.fail_next.pop(0) if account.fail_next else None
            if path == "/oauth/tokens":
                kind = self.headers.get("Content-Type", "")
                form = json.loads(raw) if kind.startswith("application/json") else \
                    local_server.single_values(raw.decode())
                with account.lock:
                    return self.reply(*account.token(form, self.headers.get("Authorization", "").startswith("Basic")))
            if self.refused(failure):
                return
            if not self.headers.get("Content-Type", "").startswith("application/json"):
                return self.reply(415, {"error": "UnsupportedMediaType", "description": "Send JSON"})
            body = json.loads(raw)
            routes = {("POST", "create_many"): "create", ("PUT", "update_many"): "update",
                      ("POST", "create_or_update_many"): "create_or_update"}
            for name in ("tickets", "users", "organizations"):
                for (verb, endpoint), action in routes.items():
                    if method == verb and path == f"/api/v2/{name}/{endpoint}.json":
                        if action == "create_or_update" and name != "users":
                            continue
                        with account.lock:
                            account.bodies.append(body)
                            return self.reply(*account.bulk(name, action, body.get(name)))
            return self.reply(404, {"error": "InvalidEndpoint", "description": "Not found"})

    account.base = local_server.start(Handler, monkeypatch) + "/"
    return account
