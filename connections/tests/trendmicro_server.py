"""A local Deep Security API (Trend Micro Cloud One Workload Security) for the connector tests,
written from Trend Micro's published API documentation:

- Search for resources (search criteria; ID searches with idValue/idTest and no fieldName; date-range
  searches with fieldName, firstDate/lastDate and their *Inclusive flags; maxItems, default 5000;
  sortByObjectID): https://automation.trendmicro.com/deep-security/Guides/how-to-search and
  https://docs.trendmicro.com/en-us/documentation/article/trend-micro-cloud-one-workload-security-sdk-search
- Authentication (api-secret-key and api-version: v1 headers) and the resources' shapes (Computer,
  Policy, AntiMalwareEvent, IntrusionPreventionEvent, FirewallEvent; dates as epoch milliseconds):
  https://automation.trendmicro.com/deep-security/api-reference/
- Rate limits (HTTP 429 "Too many API requests", no Retry-After documented):
  https://automation.trendmicro.com/deep-security/Guides/rate-limits and
  https://automation.trendmicro.com/deep-security/Guides/api-rate-handle/

Quirks kept: unknown IDs' fields as null, unicode host names, dates as epoch milliseconds (0 for
"never"), tags as lists, the 429 answer, a key revoked mid-run (401), and a malformed page on demand."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from connections.tests.local_server import JsonHandler, start

KEY = "2:tm-secret-key"
START = datetime(2026, 1, 1, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)
RESOURCES = {  # resource -> (list key, id key)
    "computers": ("computers", "ID"),
    "policies": ("policies", "ID"),
    "antimalwareevents": ("antiMalwareEvents", "antiMalwareEventID"),
    "intrusionpreventionevents": ("intrusionPreventionEvents", "intrusionPreventionEventID"),
    "firewallevents": ("firewallEvents", "firewallEventID"),
}


def _computer(i: int) -> dict:
    return {"ID": i, "hostName": "büro-日本" if i == 1 else f"host-{i}.example.com",
            "displayName": "" if i % 7 else f"Server {i}", "description": None, "platform": "Red Hat 9 (64 bit)",
            "policyID": 1 + i % 3, "groupID": 0, "agentVersion": "20.0.0-8438",
            "lastAgentCommunication": 0 if i == 2 else START_MS + i * 1000, "lastIPUsed": f"10.0.0.{i % 250}",
            "computerStatus": {"agentStatus": "active"}}


def _event(id_key: str, i: int) -> dict:
    # one event a minute from START; the first has no host (a manager-side event)
    return {id_key: i, "logDate": START_MS + (i - 1) * 60_000, "hostID": None if i == 1 else 1 + i % 5,
            "hostName": None if i == 1 else f"host-{1 + i % 5}", "tags": ["prod", "ünïcode"] if i % 2 else [],
            "malwareName": "Eicar_test_file", "reason": "Ping of death", "severity": "high",
            "action": "deny", "sourceIP": "203.0.113.9", "destinationIP": "10.0.0.1", "destinationPort": 443,
            "protocol": "TCP", "direction": "incoming", "repeatCount": 1}


@dataclass
class Fake:
    base: str = ""
    key: str = KEY
    count: int = 1200  # records of each resource
    requests: list[dict] = field(default_factory=list)  # {"resource", "body", "headers"}
    rate_limited: set[int] = field(default_factory=set)  # request numbers (1-based) answered 429
    malformed_at: int | None = None  # this request number gets a broken page
    revoke_after: int | None = None  # requests after this many answer 401


def _matches(record: dict, id_key: str, criteria: list[dict]) -> bool:
    for c in criteria:
        if "idTest" in c:
            value, test = c["idValue"], c["idTest"]
            rid = record[id_key]
            ok = {"greater-than": rid > value, "less-than": rid < value, "equal": rid == value,
                  "greater-than-or-equal": rid >= value, "less-than-or-equal": rid <= value}[test]
        elif "firstDate" in c or "lastDate" in c:
            when = record.get(c["fieldName"]) or 0
            ok = True
            if "firstDate" in c:
                ok = when >= c["firstDate"] if c.get("firstDateInclusive", True) else when > c["firstDate"]
            if ok and "lastDate" in c:
                ok = when <= c["lastDate"] if c.get("lastDateInclusive", True) else when < c["lastDate"]
        else:
            raise ValueError(f"unsupported criterion {c}")
        if not ok:
            return False
    return True


def serve(monkeypatch: pytest.MonkeyPatch, **options: Any) -> Fake:
    fake = Fake(**options)

    class Handler(JsonHandler):
        def do_POST(self):
            parts = self.path.strip("/").split("/")
            body = json.loads(self.body() or b"{}")
            fake.requests.append({"resource": parts[1] if len(parts) > 1 else "", "body": body,
                                  "headers": {k.lower(): v for k, v in self.headers.items()}})
            number = len(fake.requests)
            if number in fake.rate_limited:
                return self.reply(429, {"message": "Too many API requests."})
            revoked = fake.revoke_after is not None and number > fake.revoke_after
            if self.headers.get("api-secret-key") != fake.key or revoked:
                return self.reply(401, {"message": "Authentication failed: invalid API key."})
            if self.headers.get("api-version") != "v1":
                return self.reply(400, {"message": "The api-version header is required."})
            if len(parts) != 3 or parts[0] != "api" or parts[2] != "search" or parts[1] not in RESOURCES:
                return self.reply(404, {"message": "Not found."})
            if number == fake.malformed_at:
                return self.send(200, b'{"firewallEvents": [{"firewallEventID": 1, ', "application/json")
            list_key, id_key = RESOURCES[parts[1]]
            make = _computer if parts[1] in ("computers", "policies") else (lambda i: _event(id_key, i))
            if parts[1] == "policies":
                make = lambda i: {"ID": i, "name": f"Policy {i}", "description": "Bâse", "parentID": None,  # noqa: E731
                                  "autoRequiresUpdate": "on", "ruleIDs": [i, i + 1]}
            criteria = body.get("searchCriteria") or []
            records = [r for r in (make(i) for i in range(1, fake.count + 1)) if _matches(r, id_key, criteria)]
            if body.get("sortByObjectID"):
                records.sort(key=lambda r: r[id_key])
            records = records[:int(body.get("maxItems") or 5000)]
            self.reply(200, {list_key: records})

    fake.base = start(Handler, monkeypatch) + "/api"
    return fake
