"""A local Dynatrace environment (Environment API v2), written from Dynatrace's API documentation:
- Authentication, `Authorization: Api-Token <token>`; 401 {"error": {"code": 401, "message": ...}}:
  https://docs.dynatrace.com/docs/dynatrace-api/basics/dynatrace-api-authentication
- Problems, GET /api/v2/problems (from/to, pageSize, nextPageKey; "when nextPageKey is set to obtain
  subsequent pages, you must omit all other query parameters"):
  https://docs.dynatrace.com/docs/dynatrace-api/environment-api/problems-v2/problems/get-problems-list
- Events, GET /api/v2/events: https://docs.dynatrace.com/docs/dynatrace-api/environment-api/events-v2/get-events-list
- Audit logs, GET /api/v2/auditlogs: https://docs.dynatrace.com/docs/dynatrace-api/environment-api/audit-logs/get-log
- Entities, GET /api/v2/entities (entitySelector=type("HOST"), fields):
  https://docs.dynatrace.com/docs/dynatrace-api/environment-api/entity-v2/get-entities-list
- Metric data points, GET /api/v2/metrics/query (metricSelector; result[].data[].timestamps/values):
  https://docs.dynatrace.com/docs/dynatrace-api/environment-api/metric-v2/get-data-points
- Access limits, 429 with Retry-After: https://docs.dynatrace.com/docs/dynatrace-api/basics/access-limit
Quirks kept: epoch milliseconds, endTime -1 for an open problem, nulls, unicode titles, opaque
nextPageKeys that must travel alone (400 otherwise), 429 on chosen calls, a malformed page on demand."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from connections.tests.local_server import JsonHandler, single_values, start

TOKEN = "dt0c01.SLUICETEST.0123456789abcdef"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class DynatraceServer:
    def __init__(self):
        # one problem a day for 70 days: a 70-day range is read as three windows
        self.problems = [{"problemId": f"P-{i:04d}", "displayId": f"P-26{i:04d}", "title": f"Réponse lente {i} ⚠",
                          "status": "OPEN" if i % 10 == 0 else "CLOSED", "severityLevel": "PERFORMANCE",
                          "impactLevel": "SERVICES", "startTime": ms(T0 + timedelta(days=i, hours=1)),
                          "endTime": -1 if i % 10 == 0 else ms(T0 + timedelta(days=i, hours=2)),
                          "rootCauseEntity": None if i % 3 else {"entityId": {"id": "HOST-1", "type": "HOST"},
                                                                  "name": "web-1"},
                          "affectedEntities": [{"entityId": {"id": "SERVICE-9", "type": "SERVICE"}}],
                          "managementZones": []} for i in range(70)]
        self.events = [{"eventId": f"ev-{i}", "startTime": ms(T0 + timedelta(hours=i)), "endTime": None,
                        "eventType": "CUSTOM_DEPLOYMENT", "title": f"Déploiement {i}", "status": "CLOSED",
                        "entityId": {"entityId": {"id": "HOST-1", "type": "HOST"}, "name": "web-1"},
                        "properties": [{"key": "version", "value": f"1.{i}"}]} for i in range(5)]
        self.auditlogs = [{"logId": f"{ms(T0 + timedelta(minutes=i))}0000{i}", "eventType": "UPDATE",
                           "category": "CONFIG", "entityId": "builtin:alerting.profile", "environmentId": "abc12345",
                           "user": "ops@example.com", "userType": "USER_NAME", "userOrigin": "webui",
                           "timestamp": ms(T0 + timedelta(minutes=i)), "success": True, "message": None,
                           "patch": '[{"op":"replace"}]'} for i in range(4)]
        self.entities = [{"entityId": f"HOST-{i}", "type": "HOST", "displayName": f"web-{i}",
                          "firstSeenTms": ms(T0), "lastSeenTms": ms(T0 + timedelta(days=i)),
                          "tags": [{"key": "env", "value": "prod"}], "properties": {"osType": "LINUX"}}
                         for i in range(6)]
        self.calls = 0
        self.requests: list[dict] = []
        self.rate_limited: set[int] = set()
        self.malformed_page: int | None = None
        self.problem_pages = 0
        self.base = ""


def _when(text: str | None, default: int) -> int:
    """from/to: epoch milliseconds, or the relative form now-5m the documentation shows."""
    if not text:
        return default
    if text.startswith("now-") and text.endswith("m"):
        return ms(datetime.now(UTC) - timedelta(minutes=int(text[4:-1])))
    return int(text)


def _page(items: list[dict], key: str, params: dict, stored: dict) -> dict:
    offset, size = stored.get("offset", 0), stored["size"]
    chunk = items[offset:offset + size]
    answer = {"totalCount": len(items), "pageSize": size, key: chunk}
    if offset + size < len(items):
        answer["nextPageKey"] = base64.b64encode(json.dumps({**stored, "offset": offset + size}).encode()).decode()
    else:
        answer["nextPageKey"] = None
    return answer


def serve(monkeypatch: pytest.MonkeyPatch) -> DynatraceServer:
    state = DynatraceServer()

    class Handler(JsonHandler):
        def do_GET(self):
            state.calls += 1
            parts = urlsplit(self.path)
            params = single_values(parts.query, keep_blank_values=True)
            state.requests.append({"path": parts.path, "params": params,
                                   "auth": self.headers.get("Authorization")})
            if state.calls in state.rate_limited:
                return self.reply(429, {"error": {"code": 429, "message": "Too Many Requests"}},
                                  {"Retry-After": "2", "X-RateLimit-Limit": "50"})
            if self.headers.get("Authorization") != f"Api-Token {TOKEN}":
                return self.reply(401, {"error": {"code": 401, "message": "Token Authentication failed"}})
            if "nextPageKey" in params:
                if len(params) > 1:
                    return self.reply(400, {"error": {"code": 400, "message": "Constraints violated.",
                                                      "constraintViolations": [{"message": "nextPageKey must be "
                                                                                "the only parameter"}]}})
                stored = json.loads(base64.b64decode(params["nextPageKey"]))
            else:
                stored = {"from": _when(params.get("from"), 0), "to": _when(params.get("to"), 2**62),
                          "size": int(params.get("pageSize") or 50), "selector": params.get("entitySelector"),
                          "metric": params.get("metricSelector")}
            route = parts.path.removeprefix("/api/v2")

            def within(items, field):
                return [i for i in items if stored["from"] <= i[field] < stored["to"]]
            if route == "/problems":
                state.problem_pages += 1
                if state.problem_pages == state.malformed_page:
                    return self.reply(200, {"totalCount": 1, "problems": "oops"})
                return self.reply(200, _page(within(state.problems, "startTime"), "problems", params, stored))
            if route == "/events":
                return self.reply(200, _page(within(state.events, "startTime"), "events", params, stored))
            if route == "/auditlogs":
                return self.reply(200, _page(within(state.auditlogs, "timestamp"), "auditLogs", params, stored))
            if route == "/entities":
                wanted = (stored["selector"] or "").removeprefix('type("').removesuffix('")')
                found = [e for e in within(state.entities, "lastSeenTms") if e["type"] == wanted]
                return self.reply(200, _page(found, "entities", params, stored))
            if route == "/metrics/query":
                stamps = list(range(stored["from"] - stored["from"] % 60000 + 60000, stored["to"], 60000))[:20]
                data = [{"dimensions": [host], "dimensionMap": {"dt.entity.host": host}, "timestamps": stamps,
                         "values": [None if n == 1 else round(n * 1.5, 2) for n in range(len(stamps))]}
                        for host in ("HOST-1", "HOST-2")]
                return self.reply(200, {"totalCount": 1, "nextPageKey": None, "resolution": "1m",
                                        "result": [{"metricId": stored["metric"], "dataPointCountRatio": 0.0001,
                                                    "dimensionCountRatio": 0.01, "data": data}]})
            return self.reply(404, {"error": {"code": 404, "message": "Not found"}})

    state.base = start(Handler, monkeypatch)
    return state
