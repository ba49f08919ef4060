"""A stand-in for Google Analytics 4 (Admin API account summaries, Data API metadata and runReport)
and Google's OAuth token endpoint on one local port, for tests only. Written from Google's
published documentation:

- accountSummaries.list (accountSummaries[].propertySummaries[], pageSize / pageToken / nextPageToken):
  https://developers.google.com/analytics/devguides/config/admin/v1/rest/v1beta/accountSummaries/list
- properties.getMetadata (dimensions[] / metrics[] with apiName, uiName, type, customDefinition):
  https://developers.google.com/analytics/devguides/reporting/data/v1/rest/v1beta/properties/getMetadata
- properties.runReport (dateRanges, dimensions, metrics, limit up to 100,000, offset, rowCount,
  rows[].dimensionValues / metricValues as strings, returnPropertyQuota -> propertyQuota):
  https://developers.google.com/analytics/devguides/reporting/data/v1/rest/v1beta/properties/runReport
  and https://developers.google.com/analytics/devguides/reporting/data/v1/basics (pagination)
- quotas (tokensPerDay / tokensPerHour, RESOURCE_EXHAUSTED when spent):
  https://developers.google.com/analytics/devguides/reporting/data/v1/quotas
- errors as {"error": {"code", "message", "status"}} (429 RESOURCE_EXHAUSTED, 401 UNAUTHENTICATED,
  400 INVALID_ARGUMENT): https://cloud.google.com/apis/design/errors
- the token endpoint (refresh_token grant, no new refresh token in the answer):
  https://developers.google.com/identity/protocols/oauth2/web-server#offline

Dates come as YYYYMMDD; a report aggregates over the dimensions asked for; nine dimensions and ten
metrics at most per request are this server's own check of what the flow sends."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from connections.tests import local_server

CLIENT_ID = "1234-sluice.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-sluice-secret"
PROPERTY = "properties/314159265"
COUNTRIES = ["France", "Japan", "Côte d’Ivoire", "United States", "(not set)"]
DIMENSIONS = {"date": "Date", "country": "Country", "city": "City", "deviceCategory": "Device category",
              "eventName": "Event name", "sessionSource": "Session source", "browser": "Browser",
              "language": "Language", "pagePath": "Page path", "hostName": "Hostname",
              "customEvent:price_tier": "Price tier", "customUser:plan": "Plan"}
METRICS = {"sessions": "TYPE_INTEGER", "totalUsers": "TYPE_INTEGER", "newUsers": "TYPE_INTEGER",
           "screenPageViews": "TYPE_INTEGER", "eventCount": "TYPE_INTEGER", "bounceRate": "TYPE_FLOAT",
           "averageSessionDuration": "TYPE_SECONDS", "engagementRate": "TYPE_FLOAT",
           "purchaseRevenue": "TYPE_CURRENCY", "keyEvents": "TYPE_INTEGER", "activeUsers": "TYPE_INTEGER",
           "customEvent:basket_value": "TYPE_CURRENCY"}


def _day(text: str) -> date:
    """runReport's date forms: YYYY-MM-DD, today, yesterday, NdaysAgo."""
    today = date.today()
    if text == "today":
        return today
    if text == "yesterday":
        return today - timedelta(days=1)
    if text.endswith("daysAgo"):
        return today - timedelta(days=int(text[:-len("daysAgo")]))
    return date.fromisoformat(text)


def _error(code: int, status: str, message: str) -> tuple[int, dict]:
    return code, {"error": {"code": code, "message": message, "status": status}}


class FakeGoogle:
    def __init__(self, token: str):
        self.tokens = {token}
        self.lock = threading.Lock()
        self.reports: list[dict] = []  # every runReport body
        self.calls = 0
        self.token_calls: list[dict] = []
        self.summary_page_size = 200
        self.tokens_per_day = 25_000
        # quirks a test switches on
        self.revoke_after: int | None = None  # after this many API calls, the token expires once
        self.exhausted: list[int] = []  # API calls (1-based) that answer 429 RESOURCE_EXHAUSTED
        self.malformed_page: int | None = None  # this runReport page answers rows that are not a list
        self.metadata = {"dimensions": [{"apiName": n, "uiName": u, "customDefinition": ":" in n,
                                         "category": "Custom" if ":" in n else "Other"}
                                        for n, u in DIMENSIONS.items()],
                         "metrics": [{"apiName": n, "uiName": n, "type": t, "customDefinition": ":" in n}
                                     for n, t in METRICS.items()],
                         "name": f"{PROPERTY}/metadata"}

    def check(self, headers) -> tuple[int, dict] | None:
        with self.lock:
            self.calls += 1
            if self.revoke_after is not None and self.calls > self.revoke_after:
                self.revoke_after = None
                self.tokens.clear()
            if headers.get("Authorization") not in [f"Bearer {t}" for t in self.tokens]:
                return _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. "
                                                      "Expected OAuth 2 access token.")
            if self.calls in self.exhausted:
                return _error(429, "RESOURCE_EXHAUSTED", "Exhausted property tokens per hour for a project "
                                                         "per property.")
        return None

    def summaries(self, params: dict) -> tuple[int, dict]:
        accounts = [{"name": "accountSummaries/1", "account": "accounts/1", "displayName": "Acme",
                     "propertySummaries": [{"property": PROPERTY, "displayName": "Acme web",
                                            "propertyType": "PROPERTY_TYPE_ORDINARY", "parent": "accounts/1"}]},
                    {"name": "accountSummaries/2", "account": "accounts/2", "displayName": "Zürich GmbH",
                     "propertySummaries": [{"property": "properties/42", "displayName": "App",
                                            "propertyType": "PROPERTY_TYPE_ORDINARY", "parent": "accounts/2"}]}]
        size = min(int(params.get("pageSize") or 50), self.summary_page_size)
        start = int(params.get("pageToken") or 0)
        body: dict = {"accountSummaries": accounts[start:start + size]}
        if start + size < len(accounts):
            body["nextPageToken"] = str(start + size)
        return 200, body

    def run_report(self, prop: str, body: dict) -> tuple[int, dict]:
        self.reports.append(body)
        page = sum(1 for r in self.reports if r.get("dateRanges") == body.get("dateRanges")
                   and r.get("offset", 0) < body.get("offset", 0)) + 1
        dims = [d["name"] for d in body.get("dimensions") or []]
        mets = [m["name"] for m in body.get("metrics") or []]
        if len(dims) > 9 or len(mets) > 10:
            return _error(400, "INVALID_ARGUMENT", "Requests are limited to 9 dimensions and 10 metrics.")
        bad = [n for n in dims if n not in DIMENSIONS] + [n for n in mets if n not in METRICS]
        if bad:
            return _error(400, "INVALID_ARGUMENT", f"Field {bad[0]} is not a valid dimension or metric.")
        [span] = body["dateRanges"]
        start, end = _day(span["startDate"]), _day(span["endDate"])
        groups: dict[tuple, list[float]] = {}
        for day_index in range((end - start).days + 1):
            day = start + timedelta(days=day_index)
            for c_index, country in enumerate(COUNTRIES):
                full = {"date": day.strftime("%Y%m%d"), "country": country}
                key = tuple(full.get(n, f"{n}-{c_index % 2}") for n in dims)
                values = [day.toordinal() % 50 + c_index if METRICS[m] == "TYPE_INTEGER" else
                          round(0.25 * (c_index + 1), 2) for m in mets]
                sums = groups.setdefault(key, [0] * len(mets))
                for i, v in enumerate(values):
                    sums[i] += v
        rows = [{"dimensionValues": [{"value": v} for v in key],
                 "metricValues": [{"value": str(int(v)) if METRICS[m] == "TYPE_INTEGER" else str(v)}
                                  for m, v in zip(mets, sums, strict=True)]}
                for key, sums in sorted(groups.items())]
        offset, limit = int(body.get("offset") or 0), min(int(body.get("limit") or 10_000), 100_000)
        chunk = rows[offset:offset + limit]
        answer: dict = {"dimensionHeaders": [{"name": n} for n in dims],
                        "metricHeaders": [{"name": n, "type": METRICS[n]} for n in mets],
                        "rowCount": len(rows), "metadata": {"currencyCode": "EUR", "timeZone": "Europe/Paris"},
                        "kind": "analyticsData#runReport"}
        if chunk:
            answer["rows"] = chunk  # Google leaves "rows" out of an empty report
        if self.malformed_page == page:
            answer["rows"] = {"unexpected": "object"}
        if body.get("returnPropertyQuota"):
            self.tokens_per_day -= 10
            answer["propertyQuota"] = {
                "tokensPerDay": {"consumed": 10, "remaining": self.tokens_per_day},
                "tokensPerHour": {"consumed": 10, "remaining": 4990},
                "concurrentRequests": {"consumed": 0, "remaining": 10},
                "serverErrorsPerProjectPerHour": {"consumed": 0, "remaining": 10},
                "potentiallyThresholdedRequestsPerHour": {"consumed": 0, "remaining": 120},
                "tokensPerProjectPerHour": {"consumed": 10, "remaining": 1240}}
        return 200, answer

    def token(self, form: dict) -> tuple[int, dict]:
        self.token_calls.append(form)
        if form.get("grant_type") == "authorization_code" and form.get("code") == "google-code":
            access = f"ya29.{uuid.uuid4().hex[:12]}"
            self.tokens.add(access)
            return 200, {"access_token": access, "expires_in": 3599, "refresh_token": "google-refresh",
                         "token_type": "Bearer", "scope": "https://www.googleapis.com/auth/analytics.readonly"}
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != "google-refresh":
            return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
        access = f"ya29.{uuid.uuid4().hex[:12]}"
        self.tokens.add(access)
        return 200, {"access_token": access, "expires_in": 3599, "token_type": "Bearer",
                     "scope": "https://www.googleapis.com/auth/analytics.readonly"}


def serve(monkeypatch: pytest.MonkeyPatch, token: str = "ya29.first") -> FakeGoogle:
    """Start Google for the rest of the test; `fake.base` stands for every Google host (apiBaseUrl)."""
    fake = FakeGoogle(token)

    class Handler(local_server.JsonHandler):
        json_type = "application/json; charset=UTF-8"

        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            refused = fake.check(self.headers)
            if refused:
                return self.reply(*refused)
            if parts.path == "/v1beta/accountSummaries":
                return self.reply(*fake.summaries(local_server.single_values(parts.query)))
            if parts.path == f"/v1beta/{PROPERTY}/metadata":
                return self.reply(200, fake.metadata)
            if parts.path.endswith("/metadata"):
                return self.reply(*_error(403, "PERMISSION_DENIED", "User does not have sufficient "
                                                                    "permissions for this property."))
            self.reply(*_error(404, "NOT_FOUND", "Method not found."))

        def do_POST(self):  # noqa: N802
            parts = urlsplit(self.path)
            if parts.path == "/token":
                return self.reply(*fake.token(self.form()))
            refused = fake.check(self.headers)
            if refused:
                return self.reply(*refused)
            if parts.path == f"/v1beta/{PROPERTY}:runReport":
                return self.reply(*fake.run_report(PROPERTY, json.loads(self.body())))
            self.reply(*_error(404, "NOT_FOUND", "Method not found."))

    fake.base = local_server.start(Handler, monkeypatch)
    return fake
