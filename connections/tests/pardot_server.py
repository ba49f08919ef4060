"""A stand-in for Pardot (Account Engagement) API v5 and its Salesforce login server on one local
port, for tests only. Written from Salesforce's published documentation:

- Version 5 overview (objects under /api/v5/objects/<object>, `fields=` required and only those fields
  returned, `limit` up to 1000, `nextPageToken` / `nextPageUrl` paging where the token stands for the
  whole query, errors as {"code", "message"}):
  https://developer.salesforce.com/docs/marketing/pardot/guide/version5overview.html
- Authentication (Salesforce OAuth, `Authorization: Bearer` plus the `Pardot-Business-Unit-Id` header,
  pi.pardot.com / pi.demo.pardot.com): https://developer.salesforce.com/docs/marketing/pardot/guide/authentication.html
- Error codes (66 concurrent requests, 122 daily API rate limit met, 181 business unit id missing or
  invalid, 184 access token invalid or expired):
  https://developer.salesforce.com/docs/marketing/pardot/guide/error-codes.html
- Prospect query filters updatedAtAfterOrEqualTo / updatedAtBeforeOrEqualTo:
  https://developer.salesforce.com/docs/marketing/pardot/guide/prospect-v5.html
- AppFlow's Pardot notes (daily and concurrent quotas, error 122): the AppFlow User Guide,
  ../shared/seeds/003_72fcd71accf1dafc.txt, "Salesforce Pardot".

Quota answers come as HTTP 429 with the code in the body (the docs give the codes, not a
Retry-After). Dates are ISO 8601 with the account's offset (-05:00), as v5 sends them."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest

from connections.connectors.pardot.catalog import OBJECTS
from connections.tests import local_server

CLIENT_ID = "3MVG9pardot.connected.app"
CLIENT_SECRET = "pardot-consumer-secret"
BUSINESS_UNIT = "0Uv5e0000008OQwCAM"
EST = timezone(timedelta(hours=-5))
START = datetime(2026, 1, 1, 9, 0, tzinfo=EST)


def _prospect(n: int) -> dict:
    return {
        "id": n, "email": f"p{n}@example.com", "firstName": "Zoë" if n == 1 else f"First{n}",
        "lastName": "日本" if n == 1 else f"Last{n}", "company": None if n % 7 == 0 else f"Co {n % 13}",
        "jobTitle": None, "phone": None, "city": "Lyon", "state": None, "country": "France", "score": n % 100,
        "grade": "A", "campaignId": 10 + n % 3, "assignedUserId": None, "salesforceId": f"00Q{n:012d}",
        "optedOut": n % 11 == 0, "isDoNotEmail": False, "isDeleted": False,
        "lastActivityAt": None, "createdAt": (START + timedelta(hours=n)).isoformat(),
        "updatedAt": (START + timedelta(hours=n)).isoformat(),
    }


class FakePardot:
    def __init__(self, token: str, prospects: int):
        self.tokens = {token}
        self.refresh_tokens = {"pardot-refresh"}
        self.lock = threading.Lock()
        self.records: dict[str, list[dict]] = {name: [] for name in OBJECTS}
        self.records["prospects"] = [_prospect(n) for n in range(1, prospects + 1)]
        self.records["users"] = [{"id": 1, "email": "admin@example.com", "firstName": "Ada", "lastName": "Admin",
                                  "jobTitle": None, "role": "Administrator", "salesforceId": "005000000000001",
                                  "isDeleted": False, "createdAt": START.isoformat(), "updatedAt": START.isoformat()}]
        self.records["emails"] = [{"id": n, "name": f"Mail {n}", "subject": "Ça va ?", "campaignId": 10,
                                   "listId": 5, "prospectId": n, "clientType": "Builder", "isOperational": False,
                                   "sentAt": (START + timedelta(days=n)).isoformat()} for n in range(1, 6)]
        self.pages: dict[str, dict] = {}  # nextPageToken -> the query it continues
        self.requests: list[dict] = []  # (path, params) of every object query
        self.token_calls: list[dict] = []
        # quirks a test switches on
        self.revoke_after: int | None = None  # after this many object queries, the token expires once
        self.busy: list[int] = []  # object queries (1-based) that answer code 66
        self.daily_limit_at: int | None = None  # this object query and every later one answer code 122
        self.malformed_page: int | None = None  # this page of a query answers values that are not a list

    def query(self, name: str, params: dict, headers) -> tuple[int, dict]:
        with self.lock:
            self.requests.append({"object": name, **params})
            number = len(self.requests)
            if headers.get("Authorization") not in [f"Bearer {t}" for t in self.tokens]:
                return 401, {"code": 184, "message": "access_token is invalid, unverified, or has expired"}
            if self.revoke_after is not None and number > self.revoke_after:
                self.revoke_after = None
                self.tokens.clear()
                return 401, {"code": 184, "message": "access_token is invalid, unverified, or has expired"}
            if headers.get("Pardot-Business-Unit-Id") != BUSINESS_UNIT:
                return 400, {"code": 181, "message": "The Business Unit ID is missing or invalid"}
            if number in self.busy:
                return 429, {"code": 66, "message": "You have exceeded your concurrent request limit. Please "
                                                    "wait, before trying again"}
            if self.daily_limit_at is not None and number >= self.daily_limit_at:
                return 429, {"code": 122, "message": "Daily API rate limit met."}
        if name not in OBJECTS:
            return 404, {"code": 1, "message": "Invalid object"}
        if "nextPageToken" in params:
            if len(params) > 1:
                return 400, {"code": 224, "message": "nextPageToken cannot be combined with other parameters"}
            state = self.pages.pop(params["nextPageToken"], None)
            if state is None:
                return 400, {"code": 225, "message": "Invalid nextPageToken"}
        else:
            fields = [f for f in params.get("fields", "").split(",") if f]
            if not fields:
                return 400, {"code": 228, "message": "The fields parameter is required"}
            known = dict(OBJECTS[name].fields)
            bad = [f for f in fields if f not in known]
            if bad:
                return 400, {"code": 229, "message": f"Invalid fields specified: {', '.join(bad)}"}
            state = {"fields": fields, "limit": min(int(params.get("limit", 200)), 1000), "offset": 0, "page": 1,
                     "after": params.get("updatedAtAfterOrEqualTo"), "before": params.get("updatedAtBeforeOrEqualTo")}
        rows = self.records[name]
        if state["after"]:
            rows = [r for r in rows if datetime.fromisoformat(r["updatedAt"]) >= datetime.fromisoformat(state["after"])]
        if state["before"]:
            rows = [r for r in rows if datetime.fromisoformat(r["updatedAt"]) <= datetime.fromisoformat(state["before"])]
        chunk = rows[state["offset"]:state["offset"] + state["limit"]]
        if self.malformed_page == state["page"]:
            return 200, {"values": {"oops": True}, "nextPageToken": None, "nextPageUrl": None}
        body = {"values": [{f: r.get(f) for f in state["fields"]} for r in chunk],
                "nextPageToken": None, "nextPageUrl": None}
        if state["offset"] + state["limit"] < len(rows):
            token = uuid.uuid4().hex
            self.pages[token] = {**state, "offset": state["offset"] + state["limit"], "page": state["page"] + 1}
            body["nextPageToken"] = token
            body["nextPageUrl"] = f"/api/v5/objects/{name}?nextPageToken={token}"
        return 200, body

    def token(self, form: dict) -> tuple[int, dict]:
        self.token_calls.append(form)
        if form.get("grant_type") == "authorization_code" and form.get("code") == "pardot-code":
            access = f"fresh-{uuid.uuid4().hex[:8]}"
            self.tokens.add(access)
            return 200, {"access_token": access, "refresh_token": "pardot-refresh", "token_type": "Bearer",
                         "scope": "refresh_token pardot_api", "issued_at": "1700000000000"}
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") not in self.refresh_tokens:
            return 400, {"error": "invalid_grant", "error_description": "expired access/refresh token"}
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return 400, {"error": "invalid_client", "error_description": "invalid client credentials"}
        access = f"fresh-{uuid.uuid4().hex[:8]}"
        self.tokens.add(access)
        return 200, {"access_token": access, "scope": "refresh_token pardot_api", "token_type": "Bearer",
                     "instance_url": "https://example.my.salesforce.com", "issued_at": "1700000000000"}


def serve(monkeypatch: pytest.MonkeyPatch, token: str = "pardot-token", prospects: int = 2500) -> FakePardot:
    """Start Pardot and its login server for the rest of the test; `fake.base` is the address for both
    instanceUrl and loginUrl."""
    fake = FakePardot(token, prospects)

    class Handler(local_server.JsonHandler):
        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            prefix = "/api/v5/objects/"
            if not parts.path.startswith(prefix):
                return self.reply(404, {"code": 1, "message": "Invalid action"})
            params = local_server.single_values(parts.query, keep_blank_values=True)
            self.reply(*fake.query(parts.path[len(prefix):], params, self.headers))

        def do_POST(self):  # noqa: N802
            if urlsplit(self.path).path != "/services/oauth2/token":
                return self.reply(404, {"code": 1, "message": "Invalid action"})
            self.reply(*fake.token(self.form()))

    fake.base = local_server.start(Handler, monkeypatch)
    return fake

