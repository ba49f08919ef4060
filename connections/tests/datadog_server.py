"""A local Datadog API, written from Datadog's published API reference:
- Logs Search API v2, POST /api/v2/logs/events/search (filter.query/from/to, page.limit up to 1000,
  page.cursor from meta.page.after): https://docs.datadoghq.com/api/latest/logs/#search-logs
- Events v2 search, POST /api/v2/events/search (same shape): https://docs.datadoghq.com/api/latest/events/#search-events
- Incident search, GET /api/v2/incidents/search (query, page[size], page[offset]; results under
  data.attributes.incidents[].data, meta.pagination.next_offset):
  https://docs.datadoghq.com/api/latest/incidents/#search-for-incidents
- Monitor search, GET /api/v1/monitor/search (query, page from 0, per_page; metadata.page_count):
  https://docs.datadoghq.com/api/latest/monitors/#monitors-search
- Timeseries query, GET /api/v1/query (from/to epoch seconds, series[].pointlist of [ms, value]):
  https://docs.datadoghq.com/api/latest/metrics/#query-timeseries-points
- API key check, GET /api/v1/validate: https://docs.datadoghq.com/api/latest/authentication/#validate-api-key
- Rate limits: X-RateLimit-Limit/Period/Remaining/Reset (seconds to the reset) and HTTP 429:
  https://docs.datadoghq.com/api/latest/rate-limits/
- Errors: {"errors": ["Forbidden"]} with HTTP 403 for a wrong key (the reference's examples).
Quirks kept: ISO timestamps with milliseconds and Z, nulls (a log without host), unicode messages,
opaque cursors, a malformed page on demand, 429 / Remaining 0 on chosen calls."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from connections.tests.local_server import JsonHandler, single_values, start

API_KEY, APP_KEY = "dd-api-0123456789abcdef", "dd-app-fedcba9876543210"
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    if text == "now":
        return datetime.now(UTC)
    if text.startswith("now-") and text.endswith("m"):
        return datetime.now(UTC) - timedelta(minutes=int(text[4:-1]))
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def make_logs(count: int) -> list[dict]:
    logs = []
    for i in range(count):
        logs.append({"id": f"AQAAAY{i:06d}", "type": "log", "attributes": {
            "timestamp": _iso(T0 + timedelta(minutes=i)),
            "host": None if i == 3 else f"web-{i % 3}", "service": "web" if i % 2 == 0 else "db",
            "status": "error" if i % 5 == 0 else "info", "message": f"requête {i} — ok ✓",
            "tags": ["env:prod", f"n:{i}"], "attributes": {"http": {"status_code": 200 + i}}}})
    return logs


def _matches(query: str, record: dict) -> bool:
    """Enough of Datadog's search syntax for the tests: * or space-separated key:value terms."""
    attributes = record.get("attributes") or {}
    for term in query.split():
        if term == "*":
            continue
        key, _, value = term.partition(":")
        if str(attributes.get(key)) != value:
            return False
    return True


class DatadogServer:
    def __init__(self, logs: int = 25):
        self.logs = make_logs(logs)
        self.events = [{"id": f"ev-{i}", "type": "event", "attributes": {
            "timestamp": _iso(T0 + timedelta(minutes=i)), "message": f"déploiement {i}", "tags": ["source:ci"],
            "attributes": {"title": f"Deploy {i}", "priority": "normal", "source_type_name": "ci"}}}
            for i in range(7)]
        self.incidents = [{"data": {"id": f"00000000-0000-0000-0000-00000000000{i}", "type": "incidents",
                                    "attributes": {"public_id": i + 1, "title": f"Panne n°{i}",
                                                   "created": (T0 + timedelta(hours=i)).isoformat(),
                                                   "modified": (T0 + timedelta(hours=i, minutes=5)).isoformat(),
                                                   "resolved": None, "state": "active", "severity": "SEV-2",
                                                   "customer_impacted": i % 2 == 0}}} for i in range(5)]
        self.monitors = [{"id": 1000 + i, "name": f"CPU high {i}", "type": "metric alert", "status": "OK",
                          "query": "avg(last_5m):avg:system.cpu.user{*} > 90", "tags": ["team:ops"],
                          "creator": {"handle": "ops@example.com"},
                          "last_triggered_ts": int((T0 + timedelta(hours=i)).timestamp())} for i in range(5)]
        self.calls = 0
        self.requests: list[dict] = []
        self.rate_limited: set[int] = set()  # call numbers answered 429
        self.exhausted: set[int] = set()  # call numbers answered with X-RateLimit-Remaining: 0
        self.malformed_page: int | None = None  # a logs page answered without a data list
        self.search_pages = 0
        self.base = ""


def serve(monkeypatch: pytest.MonkeyPatch, logs: int = 25) -> DatadogServer:
    state = DatadogServer(logs)

    class Handler(JsonHandler):
        def do_GET(self):
            self.handle_call("GET", b"")

        def do_POST(self):
            self.handle_call("POST", self.body())

        def handle_call(self, method: str, raw: bytes) -> None:
            state.calls += 1
            number = state.calls
            parts = urlsplit(self.path)
            params = single_values(parts.query, keep_blank_values=True)
            body = json.loads(raw) if raw else None
            state.requests.append({"method": method, "path": parts.path, "params": params, "body": body,
                                   "api_key": self.headers.get("DD-API-KEY"),
                                   "app_key": self.headers.get("DD-APPLICATION-KEY")})
            limit = {"X-RateLimit-Limit": "100", "X-RateLimit-Period": "10",
                     "X-RateLimit-Remaining": "0" if number in state.exhausted | state.rate_limited else "57",
                     "X-RateLimit-Reset": "3"}
            if number in state.rate_limited:
                return self.reply(429, {"errors": ["Rate limit exceeded"]}, limit)
            if self.headers.get("DD-API-KEY") != API_KEY:
                return self.reply(403, {"errors": ["Forbidden"]}, limit)
            if parts.path == "/api/v1/validate":
                return self.reply(200, {"valid": True}, limit)
            if self.headers.get("DD-APPLICATION-KEY") != APP_KEY:
                return self.reply(403, {"errors": ["Forbidden"]}, limit)
            route = {"/api/v2/logs/events/search": lambda: self.search(state.logs, body, logs=True),
                     "/api/v2/events/search": lambda: self.search(state.events, body),
                     "/api/v2/incidents/search": lambda: self.incidents(params),
                     "/api/v1/monitor/search": lambda: self.monitors(params),
                     "/api/v1/query": lambda: self.query(params)}.get(parts.path)
            if route is None:
                return self.reply(404, {"errors": ["Not found"]}, limit)
            status, answer = route()
            self.reply(status, answer, limit)

        def search(self, records: list[dict], body: dict, logs: bool = False) -> tuple[int, dict]:
            flt, page = body.get("filter") or {}, body.get("page") or {}
            start, end = _parse(flt.get("from") or "now-15m"), _parse(flt.get("to") or "now")
            found = [r for r in records if start <= _parse(r["attributes"]["timestamp"]) < end
                     and _matches(flt.get("query") or "*", r)]
            offset = int(base64.b64decode(page["cursor"]).decode()) if page.get("cursor") else 0
            size = min(int(page.get("limit") or 10), 1000)
            chunk = found[offset:offset + size]
            if logs:
                state.search_pages += 1
                if state.search_pages == state.malformed_page:
                    return 200, {"data": {"oops": True}, "meta": {"status": "done"}}
            meta: dict = {"status": "done", "elapsed": 12, "request_id": "req-1"}
            if offset + size < len(found):
                meta["page"] = {"after": base64.b64encode(str(offset + size).encode()).decode()}
            return 200, {"data": chunk, "meta": meta, "links": {}}

        def incidents(self, params: dict) -> tuple[int, dict]:
            size, offset = int(params.get("page[size]") or 10), int(params.get("page[offset]") or 0)
            chunk = state.incidents[offset:offset + size]
            return 200, {"data": {"type": "incidents_search_results",
                                  "attributes": {"incidents": chunk, "total": len(state.incidents)}},
                         "meta": {"pagination": {"offset": offset, "size": size, "next_offset": offset + size}}}

        def monitors(self, params: dict) -> tuple[int, dict]:
            per_page, page = int(params.get("per_page") or 30), int(params.get("page") or 0)
            count = -(-len(state.monitors) // per_page)
            return 200, {"monitors": state.monitors[page * per_page:(page + 1) * per_page],
                         "metadata": {"page": page, "page_count": count, "per_page": per_page,
                                      "total_count": len(state.monitors)}}

        def query(self, params: dict) -> tuple[int, dict]:
            start, end = int(params["from"]), int(params["to"])
            points = [[t * 1000.0, (None if t == start + 120 else round(t % 97 / 7, 3))]
                      for t in range(start - start % 60, end, 60) if t >= start]
            return 200, {"status": "ok", "res_type": "time_series", "query": params["query"],
                         "from_date": start * 1000, "to_date": end * 1000, "series": [{
                             "metric": "system.cpu.user", "scope": "host:web-1", "expression": params["query"],
                             "display_name": "system.cpu.user", "length": len(points), "pointlist": points,
                             "unit": [{"family": "percentage", "name": "percent"}, None]}]}

    state.base = start(Handler, monkeypatch)
    return state
