"""A local Infor Nexus REST API (3.1) for the connector tests.

Infor Nexus's API reference sits behind its developer portal's sign-in (developer.infornexus.com),
which we could not read; this server follows what public material shows of the API instead, and
the connector's docs say so:
- https://docs.aws.amazon.com/appflow/1.0/APIReference/API_InforNexusConnectorProfileCredentials.html
  (the four credentials; instanceUrl);
- public API clients' requests: `https://network.infornexus.com/rest/3.1/OrderDetail/query?oql=...`,
  `oql=1=1` for "everything", HMAC_1 signing (Authorization `HMAC_1 <access key>:<signature>:<user>`,
  `x-dapi-date`, `datakey` headers), answers with `result` and `resultInfo`, and `__metadata`
  (`uid`, `apiVersion`, `type`, `fingerprint`, `self`, create/modify timestamps) on each record.

It checks every request's signature with its own implementation of the scheme (not the
connector's), pages by limit/offset with `resultInfo.hasMore`, evaluates the OQL time conditions the
connector sends, and can answer 429, revoke the key mid-run (401) or send a malformed page."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from connections.tests.local_server import JsonHandler, start

CREDENTIALS = {"accessKeyId": "AKIN100dac", "userId": "DataApiAgent@5717989018077705",
               "secretAccessKey": "fk-secret-for-tests", "datakey": "42f0145data"}
START = datetime(2026, 1, 1, tzinfo=UTC)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _order(i: int) -> dict:
    created = START + timedelta(minutes=i - 1)
    return {"__metadata": {"apiVersion": "3.1", "type": "OrderDetail", "uid": str(280110000000 + i),
                           "fingerprint": f"{i:032x}", "createTimestamp": _stamp(created),
                           "modifyTimestamp": _stamp(created + timedelta(seconds=30)),
                           "self": f"https://network.infornexus.com/rest/3.1/OrderDetail/{280110000000 + i}"},
            "poNumber": f"PO-{i:05d}", "orderType": "Standard", "totalAmount": 1234.5 if i % 2 else 10,
            "currencyCode": "EUR", "buyer": {"name": "Zoë Bäcker 日本", "partyUid": "5717989018077705"},
            "notes": None, "lineItems": [{"lineNumber": 1, "quantity": 2}]}


@dataclass
class Fake:
    base: str = ""
    count: int = 250
    requests: list[dict] = field(default_factory=list)  # {"path", "query", "headers"}
    rate_limited: set[int] = field(default_factory=set)
    malformed_at: int | None = None
    revoke_after: int | None = None


def expected_authorization(method: str, path_and_query: str, date: str) -> str:
    base = f"{date}{method}{path_and_query}".lower()
    digest = hmac.new(CREDENTIALS["secretAccessKey"].encode(), base.encode(), hashlib.sha256).digest()
    return f"HMAC_1 {CREDENTIALS['accessKeyId']}:{base64.b64encode(digest).decode()}:{CREDENTIALS['userId']}"


_CONDITION = re.compile(r"^modifyTimestamp (>=|<) '([^']+)'$")


def _keep(record: dict, oql: str) -> bool:
    if oql == "1=1":
        return True
    stamp = record["__metadata"]["modifyTimestamp"]
    for part in oql.split(" AND "):
        match = _CONDITION.match(part)
        if not match:
            raise ValueError(f"unsupported OQL {oql!r}")
        op, value = match.groups()
        if not (stamp >= value if op == ">=" else stamp < value):
            return False
    return True


def serve(monkeypatch: pytest.MonkeyPatch, **options: Any) -> Fake:
    fake = Fake(**options)

    class Handler(JsonHandler):
        def do_GET(self):
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            fake.requests.append({"path": parts.path, "query": query,
                                  "headers": {k.lower(): v for k, v in self.headers.items()}})
            number = len(fake.requests)
            if number in fake.rate_limited:
                return self.reply(429, {"message": "Rate limit exceeded"}, {"Retry-After": "1"})
            date = self.headers.get("x-dapi-date") or ""
            try:
                sent = datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            except ValueError:
                return self.reply(401, {"message": "Missing or malformed x-dapi-date"})
            fresh = abs((datetime.now(UTC) - sent).total_seconds()) < 900
            good = self.headers.get("Authorization") == expected_authorization("GET", self.path, date)
            revoked = fake.revoke_after is not None and number > fake.revoke_after
            if not (fresh and good and self.headers.get("datakey") == CREDENTIALS["datakey"]) or revoked:
                return self.reply(401, {"message": "Authentication failed"})
            match = re.match(r"^/rest/3\.1/([$A-Za-z0-9_]+)/query$", parts.path)
            if not match:
                return self.reply(404, {"message": "Resource not found"})
            if number == fake.malformed_at:
                return self.send(200, b"<html>Service temporarily unavailable</html>", "text/html")
            if match.group(1) != "OrderDetail":
                return self.reply(200, {"resultInfo": {"count": 0, "hasMore": False, "firstRowNumber": 0}})
            records = [r for r in (_order(i) for i in range(1, fake.count + 1)) if _keep(r, query["oql"])]
            offset, limit = int(query.get("offset", 0)), int(query.get("limit", 100))
            page = records[offset:offset + limit]
            self.reply(200, {"result": page, "resultInfo": {
                "count": len(page), "hasMore": offset + len(page) < len(records), "firstRowNumber": offset,
                "estimatedTotalCount": len(records)}})

    fake.base = start(Handler, monkeypatch)
    return fake
