"""Three local APIs for the Generic REST examples (connections/connectors/genericrest/examples/),
each written from its vendor's published docs, and each able to misbehave on demand for the
hostile-spec tests.

- GitHub-style: GET /repos/{owner}/{repo}/issues with state, since (ISO 8601, issues updated at or
  after), per_page and page; the next page in the Link header (rel="next"), absolute URLs.
  https://docs.github.com/en/rest/issues/issues#list-repository-issues and
  https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
- Stripe-style: GET /v1/customers with limit (1-100), starting_after (an object id) and
  created[gte] (epoch seconds); answers {"object": "list", "url", "has_more", "data"}, newest first.
  https://docs.stripe.com/api/pagination and https://docs.stripe.com/api/customers/list
- HubSpot-style: POST /crm/v3/objects/contacts/search with filterGroups (lastmodifieddate GTE epoch
  ms), limit and after; answers {"total", "results": [{"id", "properties", "createdAt",
  "updatedAt", "archived"}], "paging": {"next": {"after"}}}, and OAuth 2.0 authorization code with
  POST /oauth/v1/token (client_id and client_secret in the form body).
  https://developers.hubspot.com/docs/api/crm/search and
  https://developers.hubspot.com/docs/api/oauth-quickstart-guide
"""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import pytest

from connections.tests.local_server import JsonHandler, single_values, start

TOKEN = "ghp_local0123456789"
STRIPE_KEY = "sk_test_local0123456789"
HUBSPOT_CLIENT_ID, HUBSPOT_SECRET = "hs-client", "hs-secret-0123"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Server:
    """What the three share: the requests seen, and misbehaviour switches."""

    def __init__(self):
        self.base = ""
        self.requests: list[dict] = []
        self.next_host = ""  # a next link to another host (GitHub-style)
        self.repeat = False  # ignore the cursor: the same page again (Stripe-style)
        self.huge_bytes = 0  # answer this many bytes of JSON instead (Stripe-style)
        self.rate_limited: set[int] = set()  # call numbers answered 429 with Retry-After: 1


class GitHub(Server):
    def __init__(self, count: int):
        super().__init__()
        now = datetime.now(UTC)
        self.issues = [self.issue(n, now - timedelta(days=2, minutes=n)) for n in range(1, count + 1)]

    @staticmethod
    def issue(number: int, updated: datetime) -> dict:
        return {
            "id": 1000 + number,
            "number": number,
            "title": f"Issue n°{number}",
            "state": "open",
            "user": {"login": f"user{number % 3}"},
            "labels": [{"name": "bug"}] if number % 2 else [],
            "created_at": _iso(updated - timedelta(hours=1)),
            "updated_at": _iso(updated),
            "closed_at": None,
        }

    def answer(self, handler: JsonHandler, path: str, params: dict) -> None:
        if handler.headers.get("Authorization") not in (f"Bearer {TOKEN}", f"token {TOKEN}"):
            return handler.reply(401, {"message": "Bad credentials"})
        if path != "/repos/octo/hello/issues":
            return handler.reply(404, {"message": "Not Found"})
        issues = sorted(self.issues, key=lambda i: i["created_at"], reverse=True)
        if params.get("since"):
            since = datetime.fromisoformat(params["since"].replace("Z", "+00:00"))
            issues = [
                i for i in issues if datetime.fromisoformat(i["updated_at"].replace("Z", "+00:00")) >= since
            ]
        per_page, page = int(params.get("per_page") or 30), int(params.get("page") or 1)
        chunk = issues[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(issues):
            host = self.next_host or self.base
            query = urlencode({**params, "page": page + 1})
            last = urlencode({**params, "page": math.ceil(len(issues) / per_page)})
            headers["Link"] = f'<{host}{path}?{query}>; rel="next", <{self.base}{path}?{last}>; rel="last"'
        handler.reply(200, chunk, headers)


class Stripe(Server):
    def __init__(self, count: int):
        super().__init__()
        start_at = int(datetime.now(UTC).timestamp()) - 3 * 86400
        self.customers = [self.customer(n, start_at + n) for n in range(count)]

    @staticmethod
    def customer(n: int, created: int) -> dict:
        return {
            "id": f"cus_{n:08d}",
            "object": "customer",
            "created": created,
            "email": f"c{n}@example.com",
            "name": f"Client {n}",
            "balance": n % 7 * 100,
            "delinquent": n % 11 == 0,
            "metadata": {"n": str(n)},
            "address": None,
        }

    def answer(self, handler: JsonHandler, path: str, params: dict) -> None:
        auth = handler.headers.get("Authorization") or ""
        basic = "Basic " + base64.b64encode(f"{STRIPE_KEY}:".encode()).decode()
        if auth not in (f"Bearer {STRIPE_KEY}", basic):
            return handler.reply(
                401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}
            )
        if path != "/v1/customers":
            return handler.reply(
                404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}
            )
        if self.huge_bytes:
            return self.send_huge(handler)
        limit = min(max(int(params.get("limit") or 10), 1), 100)
        rows = self.ordered
        if params.get("created[gte]"):
            rows = [c for c in rows if c["created"] >= int(params["created[gte]"])]
        after = params.get("starting_after")
        if after and not self.repeat:
            index = self._index.get(after) if rows is self._ordered else \
                next((i for i, c in enumerate(rows) if c["id"] == after), None)
            if index is None:
                return handler.reply(
                    400,
                    {"error": {"type": "invalid_request_error", "message": f"No such customer: '{after}'"}},
                )
            rows = rows[index + 1 :]
        handler.reply(
            200,
            {"object": "list", "url": "/v1/customers", "has_more": len(rows) > limit, "data": rows[:limit]},
        )

    @property
    def ordered(self) -> list[dict]:
        if getattr(self, "_ordered_for", None) != len(self.customers):
            self._ordered = sorted(self.customers, key=lambda c: (c["created"], c["id"]), reverse=True)
            self._ordered_for = len(self.customers)
            self._index = {c["id"]: i for i, c in enumerate(self._ordered)}
        return self._ordered

    def send_huge(self, handler: JsonHandler) -> None:
        block = (json.dumps({"id": "cus_x", "name": "x" * 1000}) + ",").encode() * 1000
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(self.huge_bytes))
        handler.end_headers()
        sent = 0
        try:
            while sent < self.huge_bytes:
                part = block[: self.huge_bytes - sent]
                handler.wfile.write(part)
                sent += len(part)
        except OSError:
            pass  # the client stopped reading at its cap, as it should


class HubSpot(Server):
    def __init__(self, count: int):
        super().__init__()
        now = datetime.now(UTC)
        self.contacts = [self.contact(n, now - timedelta(days=1, minutes=n)) for n in range(1, count + 1)]
        self.access_token, self.refresh_token = "hs-access-1", "hs-refresh-1"
        self.codes: dict[str, str] = {}  # code -> redirect_uri

    @staticmethod
    def contact(n: int, modified: datetime) -> dict:
        stamp = modified.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {
            "id": str(500 + n),
            "properties": {
                "email": f"p{n}@example.org",
                "firstname": f"Prénom {n}",
                "lastmodifieddate": stamp,
                "createdate": stamp,
            },
            "createdAt": stamp,
            "updatedAt": stamp,
            "archived": False,
        }

    def token(self, handler: JsonHandler) -> None:
        form = handler.form()
        if (form.get("client_id"), form.get("client_secret")) != (HUBSPOT_CLIENT_ID, HUBSPOT_SECRET):
            return handler.reply(
                400,
                {
                    "status": "BAD_CLIENT_ID",
                    "error": "invalid_client",
                    "message": "missing or unknown client_id",
                },
            )
        grant = form.get("grant_type")
        if grant == "authorization_code" and self.codes.pop(form.get("code", ""), None) == form.get(
            "redirect_uri"
        ):
            pass
        elif grant == "refresh_token" and form.get("refresh_token") == self.refresh_token:
            pass
        else:
            return handler.reply(
                400, {"status": "BAD_AUTH_CODE", "error": "invalid_grant", "message": "bad code"}
            )
        number = int(self.access_token.rsplit("-", 1)[1]) + 1
        self.access_token = f"hs-access-{number}"
        handler.reply(
            200,
            {
                "token_type": "bearer",
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": 1800,
            },
        )

    def search(self, handler: JsonHandler, body: dict) -> None:
        if handler.headers.get("Authorization") != f"Bearer {self.access_token}":
            return handler.reply(
                401,
                {
                    "status": "error",
                    "message": "Authentication credentials not found.",
                    "category": "INVALID_AUTHENTICATION",
                },
            )
        rows = sorted(self.contacts, key=lambda c: (c["updatedAt"], c["id"]))
        for group in body.get("filterGroups") or []:
            for f in group.get("filters") or []:
                if f.get("propertyName") == "lastmodifieddate" and f.get("operator") == "GTE":
                    since = datetime.fromtimestamp(int(f["value"]) / 1000, UTC)
                    rows = [
                        c
                        for c in rows
                        if datetime.fromisoformat(c["updatedAt"].replace("Z", "+00:00")) >= since
                    ]
        limit = min(int(body.get("limit") or 10), 200)
        offset = int(body.get("after") or 0)
        page = rows[offset : offset + limit]
        answer = {"total": len(rows), "results": page}
        if offset + limit < len(rows):
            answer["paging"] = {
                "next": {"after": str(offset + limit), "link": "?after=" + str(offset + limit)}
            }
        handler.reply(200, answer)


def serve(kind: str, monkeypatch: pytest.MonkeyPatch, count: int = 25):
    state = {"github": GitHub, "stripe": Stripe, "hubspot": HubSpot}[kind](count)

    class Handler(JsonHandler):
        def do_GET(self):
            self.handle_call("GET", b"")

        def do_POST(self):
            self.handle_call("POST", self.body() if kind == "hubspot" and "/oauth/" not in self.path else b"")

        def handle_call(self, method: str, raw: bytes) -> None:
            parts = urlsplit(self.path)
            params = single_values(parts.query)
            body = json.loads(raw) if raw else None
            state.requests.append({"method": method, "path": parts.path, "params": params, "body": body})
            if len(state.requests) in state.rate_limited:
                return self.reply(429, {"message": "slow down"}, {"Retry-After": "1"})
            if kind == "hubspot":
                return (
                    state.token(self) if parts.path == "/oauth/v1/token" else state.search(self, body or {})
                )
            state.answer(self, parts.path, params)

    state.base = start(Handler, monkeypatch)
    return state
