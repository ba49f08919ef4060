"""A stand-in for a Marketo instance on a local port, for tests and the bench only. It answers as
Marketo's published REST API documentation shows:

- Authentication (client credentials at /identity/oauth/token; `Authorization: Bearer`; 601 / 602):
  https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/authentication
  https://developer.adobe.com/marketo-apis/api/identity
- Error codes (HTTP 200 with success:false and errors[{code, message}]; 601, 602, 606, 607, 615,
  1029; record-level status and reasons): https://developers.marketo.com/rest-api/error-codes/
- Paging tokens (nextPageToken, moreResult, batchSize 300): https://developers.marketo.com/rest-api/paging-tokens/
- Bulk Extract (create -> enqueue -> status Created/Queued/Processing/Completed -> file, 31-day
  range cap, queue of 10, 1029, fileSize / numberOfRecords, Range on the file endpoint):
  https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/bulk-extract/bulk-extract
  https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/bulk-extract/bulk-lead-extract
- Leads describe and sync (action createOnly / updateOnly / createOrUpdate, lookupField, 300 a
  call), activity types, custom objects (list, describe, sync with dedupeBy):
  https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/lead-database/leads
  https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/lead-database/activities
  http://developers.marketo.com/rest-api/lead-database/custom-objects/
- Companies and opportunities (describe with idField / dedupeFields / searchableFields; query with
  the required filterType (a searchable field) and filterValues (comma-separated, at most 300),
  optional fields / batchSize / nextPageToken; a requested field with no value is left out):
  https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/lead-database/companies
  https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/lead-database/opportunities

Leads are synthetic and computed from their number (lead i was created at BASE + i * step), so a
million of them cost nothing until an export writes them: the bench's data generation is an
export file written straight to disk. An export file writes empty values as `null`, as Marketo's
do. Knobs for the quirks: token_expires_after (602 once, then a new token is needed),
rate_limit_at (606 on those call numbers), quota_after (607 from then on), queue_full (1029 on
that many enqueues), malformed (a broken line in every export file)."""

from __future__ import annotations

import atexit
import csv
import json
import os
import re
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from connections.tests import local_server

CLIENT_ID = "4a1c2b3d-sluice-client"
CLIENT_SECRET = "Sëcret-of-the-service"
BASE = datetime(2024, 1, 1, tzinfo=UTC)
LEAD_FIELDS = [  # (REST name, display name, dataType, readOnly)
    ("id", "Id", "integer", True),
    ("email", "Email Address", "email", False),
    ("firstName", "First Name", "string", False),
    ("lastName", "Last Name", "string", False),
    ("company", "Company Name", "string", False),
    ("leadScore", "Lead Score", "integer", False),
    ("annualRevenue", "Annual Revenue", "currency", False),
    ("unsubscribed", "Unsubscribed", "boolean", False),
    ("createdAt", "Created At", "datetime", True),
    ("updatedAt", "Updated At", "datetime", True),
]
ACTIVITY_TYPES = [{"id": 1, "name": "Visit Webpage"}, {"id": 6, "name": "Send Email"}]
CAR_FIELDS = [
    ("marketoGUID", "string"),
    ("vin", "string"),
    ("model", "string"),
    ("leadId", "integer"),
    ("createdAt", "datetime"),
    ("updatedAt", "datetime"),
]
# Companies and opportunities: (name, dataType) and describe's keys, as Marketo documents them.
QUERY_OBJECTS = {
    "companies": {
        "name": "company",
        "idField": "id",
        "dedupeFields": ["externalCompanyId"],
        "searchableFields": [["externalCompanyId"], ["id"], ["company"]],
        "fields": [("id", "integer"), ("externalCompanyId", "string"), ("company", "string"),
                   ("industry", "string"), ("annualRevenue", "currency"), ("numberOfEmployees", "integer"),
                   ("createdAt", "datetime"), ("updatedAt", "datetime")],
        "count": 700,
    },
    "opportunities": {
        "name": "opportunity",
        "idField": "marketoGUID",
        "dedupeFields": ["externalOpportunityId"],
        "searchableFields": [["externalOpportunityId"], ["marketoGUID"]],
        "fields": [("marketoGUID", "string"), ("externalOpportunityId", "string"), ("name", "string"),
                   ("amount", "currency"), ("isWon", "boolean"), ("closeDate", "date"),
                   ("createdAt", "datetime"), ("updatedAt", "datetime")],
        "count": 40,
    },
}
FIRST = ["Ada", "Björn", "Chloé", "Dmitri", "Eun-ji", "Farah", "Gustav", "Hana"]


def mtime(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class FakeMarketo:
    lead_count: int = 1000
    step: timedelta = timedelta(hours=1)  # between two leads' creation
    start: datetime = BASE  # when lead 1 and car 0 were created
    token_expires_after: int | None = None  # 602 on the call after this many (once)
    rate_limit_at: set[int] = field(default_factory=set)  # 606 on these call numbers
    quota_after: int | None = None  # 607 once this many calls were made
    busy_at: set[int] = field(default_factory=set)  # 615 (more than 10 calls at once) on these
    http_401_at: set[int] = field(default_factory=set)  # HTTP 401 on these call numbers (token revoked)
    queue_full: int = 0  # 1029 "Too many jobs in queue" on this many enqueues
    malformed: bool = False
    updated_at_filter: bool = True  # False: a subscription without it (1035 on such a job)
    base: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: set[str] = field(default_factory=set)
    token_calls: int = 0
    calls: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)
    jobs: dict[str, dict] = field(default_factory=dict)
    written: dict[str, dict] = field(default_factory=dict)  # email -> lead written by a sync
    cars: dict[str, dict] = field(default_factory=dict)  # vin -> custom object record
    queries: list[dict] = field(default_factory=list)  # the company / opportunity query parameters
    folder: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="marketo-"))
    _expired_once: bool = False

    def __post_init__(self) -> None:
        atexit.register(shutil.rmtree, self.folder, True)  # the export files go with the process

    # -- data ------------------------------------------------------------------------------
    def lead(self, i: int) -> dict:
        created = self.start + self.step * i
        return {
            "id": i + 1,
            "email": f"lead{i + 1}@example.com",
            "firstName": FIRST[i % len(FIRST)],
            "lastName": None if i % 7 == 3 else f'Smith, "{i}"',
            "company": "Ünïcødé 日本" if i % 10 == 0 else f"Acme {i % 13}",
            "leadScore": i % 100,
            "annualRevenue": None if i % 5 == 0 else i * 10.5,
            "unsubscribed": i % 4 == 0,
            "createdAt": mtime(created),
            "updatedAt": mtime(created + timedelta(days=2)),
        }

    def lead_columns(self, numbers: range) -> pa.Table:
        """The same leads as lead(), a block at a time and as text columns the way an export file
        has them: the bench's million leads are written in seconds, not minutes."""
        i = np.arange(numbers.start, numbers.stop, dtype=np.int64)
        text = pc.cast(pa.array(i + 1), pa.string())
        seconds = i * int(self.step.total_seconds()) + int(self.start.timestamp())
        created = pa.array(seconds, pa.timestamp("s", tz="UTC"))
        updated = pa.array(seconds + 2 * 86400, pa.timestamp("s", tz="UTC"))
        null = pa.scalar("null")

        def when(mask: np.ndarray, yes: pa.Array | str, no: pa.Array | str) -> pa.Array:
            return pc.if_else(pa.array(mask), yes, no)

        return pa.table({
            "id": text,
            "email": pc.binary_join_element_wise("lead", text, "@example.com", ""),
            "firstName": pc.take(pa.array(FIRST), pa.array(i % len(FIRST))),
            "lastName": when(i % 7 == 3, null, pc.binary_join_element_wise('Smith, "', pc.cast(pa.array(i), pa.string()),
                                                                            '"', "")),
            "company": when(i % 10 == 0, "Ünïcødé 日本",
                            pc.binary_join_element_wise("Acme ", pc.cast(pa.array(i % 13), pa.string()), "")),
            "leadScore": pc.cast(pa.array(i % 100), pa.string()),
            "annualRevenue": when(i % 5 == 0, null, pc.cast(pa.array(i * 10.5), pa.string())),
            "unsubscribed": when(i % 4 == 0, "true", "false"),
            "createdAt": pc.strftime(created, "%Y-%m-%dT%H:%M:%SZ"),
            "updatedAt": pc.strftime(updated, "%Y-%m-%dT%H:%M:%SZ"),
        })

    def lead_range(self, filter_field: str, start: datetime, end: datetime) -> range:
        """Lead numbers whose createdAt (or updatedAt, two days later) is in [start, end]."""
        shift = timedelta(days=2) if filter_field == "updatedAt" else timedelta()
        step = self.step.total_seconds()
        low = max(0, -int(-((start - shift - self.start).total_seconds()) // step))
        high = min(self.lead_count - 1, int((end - shift - self.start).total_seconds() // step))
        return range(low, high + 1)

    def car(self, i: int) -> dict:
        when = mtime(self.start + timedelta(days=i))
        return {
            "marketoGUID": f"guid-{i}",
            "vin": f"VIN{i:05d}",
            "model": "Modèle T" if i % 2 else None,
            "leadId": i + 1,
            "createdAt": when,
            "updatedAt": when,
        }

    def query_record(self, entity: str, i: int) -> dict:
        when = self.start + timedelta(days=i)
        if entity == "companies":  # every other company is called the same: a query can match hundreds
            return {"id": 5000 + i, "externalCompanyId": f"EXT{i:04d}",
                    "company": "Ünïcødé GmbH" if i % 2 == 0 else f"Company {i}",
                    "industry": None if i % 3 == 0 else "Manufacturing", "annualRevenue": i * 1000.5,
                    "numberOfEmployees": i, "createdAt": mtime(BASE), "updatedAt": mtime(when)}
        return {"marketoGUID": f"opp-guid-{i}", "externalOpportunityId": f"OPP{i}", "name": f"Deal «{i}»",
                "amount": None if i % 4 == 0 else i * 99.5, "isWon": i % 2 == 0,
                "closeDate": (BASE + timedelta(days=30 + i)).date().isoformat(),
                "createdAt": mtime(BASE), "updatedAt": mtime(when)}

    def describe_query_object(self, entity: str) -> dict:
        meta = QUERY_OBJECTS[entity]
        return self.ok([{
            "name": meta["name"], "displayName": meta["name"].title(), "createdAt": mtime(BASE),
            "updatedAt": mtime(BASE), "idField": meta["idField"], "dedupeFields": meta["dedupeFields"],
            "searchableFields": meta["searchableFields"],
            "fields": [{"name": n, "displayName": n, "dataType": t, "updateable": n not in (
                meta["idField"], "createdAt", "updatedAt")} for n, t in meta["fields"]],
        }])

    def query(self, entity: str, params: dict) -> dict:
        """Marketo's query: filterType and filterValues required, 300 values at most, 300 records a
        page (nextPageToken); the requested fields only (id / dedupe fields / dates by default),
        each record with its seq; a field with no value is left out."""
        meta = QUERY_OBJECTS[entity]
        with self.lock:
            self.queries.append(dict(params))
        kind, raw = params.get("filterType"), params.get("filterValues")
        if not kind or not raw:
            return self.error("1003", "filterType and filterValues are required")
        if [kind] not in meta["searchableFields"]:
            return self.error("1003", f"Invalid filterType '{kind}'")
        values = raw.split(",")
        if len(values) > 300:
            return self.error("1003", "Too many values in filterValues (300 at most)")
        known = [n for n, _ in meta["fields"]]
        names = params["fields"].split(",") if params.get("fields") else [
            meta["idField"], *meta["dedupeFields"], "createdAt", "updatedAt"]
        unknown = [n for n in names if n not in known]
        if unknown:
            return self.error("1006", f"Field '{unknown[0]}' not found")
        matched = [r for r in (self.query_record(entity, i) for i in range(meta["count"]))
                   if str(r[kind]) in values]
        size = min(int(params.get("batchSize", 300)), 300)
        start = int(params.get("nextPageToken", "0").removeprefix("QTOKEN") or 0)
        page = [{"seq": start + seq, **{n: r[n] for n in names if r.get(n) is not None}}
                for seq, r in enumerate(matched[start : start + size])]
        more = start + size < len(matched)
        return self.ok(page, moreResult=more, **({"nextPageToken": f"QTOKEN{start + size}"} if more else {}))

    # -- answers ---------------------------------------------------------------------------
    @staticmethod
    def error(code: str, message: str) -> dict:
        return {"requestId": "e42b#1", "success": False, "errors": [{"code": code, "message": message}]}

    @staticmethod
    def ok(result: list, **extra) -> dict:
        return {"requestId": "e42b#2", "success": True, "result": result, **extra}

    def token(self, params: dict) -> tuple[int, dict]:
        with self.lock:
            self.token_calls += 1
            if params.get("client_id") != CLIENT_ID or params.get("client_secret") != CLIENT_SECRET:
                return 401, {"error": "invalid_client", "error_description": "Bad client credentials"}
            token = f"{uuid.uuid4()}:ab"
            self.tokens.add(token)
        return 200, {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": 3599,
            "scope": "api@acme.com",
        }

    def gate(self, authorization: str) -> dict | None:
        """The response-level errors every call can get, in Marketo's order of checks."""
        with self.lock:
            self.calls += 1
            number = self.calls
            token = authorization.removeprefix("Bearer ").strip()
            if not token:
                return self.error("600", "Access token not specified")
            if token not in self.tokens:
                return self.error("601", "Access token invalid")
            if (
                self.token_expires_after is not None
                and number > self.token_expires_after
                and not self._expired_once
            ):
                self._expired_once = True
                self.tokens.discard(token)
                return self.error("602", "Access token expired")
            if number in self.http_401_at:
                self.tokens.discard(token)
                return {"__status__": 401, **self.error("601", "Access token invalid")}
            if self.quota_after is not None and number > self.quota_after:
                return self.error("607", "Daily quota reached")
            if number in self.busy_at:
                return self.error("615", "Concurrent access limit reached")
            if number in self.rate_limit_at:
                return self.error("606", "Max rate limit '100' exceeded with in '20' secs")
        return None

    def get(self, path: str, params: dict) -> tuple[int, object, str]:
        if path == "/rest/v1/leads/describe.json":
            return (
                200,
                self.ok(
                    [
                        {
                            "id": n,
                            "displayName": d,
                            "dataType": t,
                            "length": 255,
                            "rest": {"name": r, "readOnly": ro},
                            "soap": {"name": d, "readOnly": ro},
                        }
                        for n, (r, d, t, ro) in enumerate(LEAD_FIELDS, 1)
                    ]
                ),
                "json",
            )
        if path == "/rest/v1/activities/types.json":
            return (
                200,
                self.ok(
                    [
                        {
                            **t,
                            "description": t["name"],
                            "primaryAttribute": {"name": "id", "dataType": "integer"},
                            "attributes": [],
                        }
                        for t in ACTIVITY_TYPES
                    ]
                ),
                "json",
            )
        if path == "/rest/v1/customobjects.json":
            return (
                200,
                self.ok(
                    [
                        {
                            "name": "car_c",
                            "displayName": "Car",
                            "idField": "marketoGUID",
                            "dedupeFields": ["vin"],
                        }
                    ]
                ),
                "json",
            )
        if path == "/rest/v1/customobjects/car_c/describe.json":
            return (
                200,
                self.ok(
                    [
                        {
                            "name": "car_c",
                            "displayName": "Car",
                            "idField": "marketoGUID",
                            "dedupeFields": ["vin"],
                            "searchableFields": [["vin"], ["marketoGUID"]],
                            "fields": [
                                {
                                    "name": n,
                                    "displayName": n,
                                    "dataType": t,
                                    "updateable": n not in ("marketoGUID", "createdAt", "updatedAt"),
                                }
                                for n, t in CAR_FIELDS
                            ],
                        }
                    ]
                ),
                "json",
            )
        if path in ("/rest/v1/companies/describe.json", "/rest/v1/opportunities/describe.json"):
            return 200, self.describe_query_object(path.split("/")[3]), "json"
        if path in ("/rest/v1/companies.json", "/rest/v1/opportunities.json"):
            return 200, self.query(path.split("/")[3].removesuffix(".json"), params), "json"
        if path in ("/rest/v1/campaigns.json", "/rest/v1/lists.json"):
            return 200, self.token_page(path, params), "json"
        if path == "/rest/asset/v1/programs.json":
            offset, size = int(params.get("offset", 0)), min(int(params.get("maxReturn", 20)), 200)
            rows = [
                {
                    "id": 1000 + i,
                    "name": f"Webinar {i}",
                    "description": "",
                    "type": "Event",
                    "channel": "Webinar",
                    "status": "on",
                    "workspace": "Default",
                    "url": f"https://app.example/#PG{i}",
                    "folder": {"type": "Folder", "value": 12, "folderName": "Events"},
                    "createdAt": mtime(BASE),
                    "updatedAt": mtime(BASE + timedelta(days=i)),
                }
                for i in range(450)
            ]
            page = rows[offset : offset + size]
            if not page:  # Marketo's Asset API: no result and a warning, not an empty list
                return (
                    200,
                    {
                        "success": True,
                        "warnings": ["No assets found for the given search criteria."],
                        "errors": [],
                        "requestId": "x",
                    },
                    "json",
                )
            return 200, self.ok(page), "json"
        match = re.match(
            r"^/bulk/v1/(leads|activities|customobjects/car_c)/export/([\w-]+)/(status|file)\.json$", path
        )
        if match:
            return self.job_get(match.group(2), match.group(3))
        return 404, self.error("404", "Not found"), "json"

    def token_page(self, path: str, params: dict) -> dict:
        """nextPageToken paging of 620 campaigns or lists, 300 a page; one empty page mid-way
        with moreResult true (Marketo may send one)."""
        kind = "campaign" if "campaigns" in path else "list"
        size = min(int(params.get("batchSize", 300)), 300)
        start = int(params.get("nextPageToken", "0").removeprefix("TOKEN") or 0)
        if start == 300 and "empty-served" not in self.jobs:
            self.jobs["empty-served"] = {}
            return self.ok([], moreResult=True, nextPageToken="TOKEN300")
        rows = [
            {
                "id": i,
                "name": f"{kind} {i}",
                "description": None,
                "type": "trigger",
                "programId": 1000 + i % 7,
                "programName": "Webinar",
                "workspaceName": "Default",
                "active": i % 2 == 0,
                "createdAt": mtime(BASE),
                "updatedAt": mtime(BASE + timedelta(hours=i)),
            }
            for i in range(start, min(start + size, 620))
        ]
        more = start + size < 620
        return self.ok(rows, moreResult=more, **({"nextPageToken": f"TOKEN{start + size}"} if more else {}))

    def create_job(self, kind: str, body: dict) -> dict:
        filt = body.get("filter") or {}
        key = next((k for k in ("createdAt", "updatedAt") if k in filt), None)
        if key is None:
            return self.error("1003", "Export filter must include createdAt or updatedAt")
        if key == "updatedAt" and not self.updated_at_filter:
            return self.error("1035", "Unsupported filter type for target subscription")
        start, end = parse_time(filt[key]["startAt"]), parse_time(filt[key]["endAt"])
        if end - start > timedelta(days=31):
            return self.error("1003", "Date range exceeds 31 days")
        if body.get("format", "CSV") != "CSV" or not body.get("fields"):
            return self.error("1003", "fields are required")
        job_id = str(uuid.uuid4())
        with self.lock:
            self.jobs[job_id] = {
                "kind": kind,
                "fields": list(body["fields"]),
                "filter": key,
                "start": start,
                "end": end,
                "types": filt.get("activityTypeIds"),
                "status": "Created",
                "polls": 0,
            }
        return self.ok([{"exportId": job_id, "format": "CSV", "status": "Created", "createdAt": mtime(BASE)}])

    def enqueue(self, job_id: str) -> dict:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                return self.error("1003", "Export job not found")
            if self.queue_full:
                self.queue_full -= 1
                return self.error("1029", "Too many jobs (10) in queue")
            job["status"] = "Queued"
        return self.ok([{"exportId": job_id, "status": "Queued"}])

    def job_get(self, job_id: str, what: str) -> tuple[int, object, str]:
        job = self.jobs.get(job_id)
        if job is None:
            return 200, self.error("1003", "Export job not found"), "json"
        if what == "status":
            if job["status"] == "Queued":
                job["status"] = "Processing"
            elif job["status"] == "Processing":
                self.write_file(job_id, job)
                job["status"] = "Completed"
            extra = (
                {
                    "numberOfRecords": job.get("records", 0),
                    "fileSize": job.get("size", 0),
                    "fileChecksum": "sha256:x",
                    "finishedAt": mtime(BASE),
                }
                if job["status"] == "Completed"
                else {}
            )
            return (
                200,
                self.ok([{"exportId": job_id, "format": "CSV", "status": job["status"], **extra}]),
                "json",
            )
        if job["status"] != "Completed":
            return 200, self.error("1003", "Export job is not completed"), "json"
        return 200, job["path"], "file"

    def rows(self, job: dict):
        if job["kind"] == "leads":
            for i in self.lead_range(job["filter"], job["start"], job["end"]):
                yield self.lead(i)
        elif job["kind"] == "activities":
            for i in self.lead_range(
                "createdAt", job["start"] - timedelta(hours=1), job["end"] - timedelta(hours=1)
            ):
                lead = self.lead(i)
                when = mtime(parse_time(lead["createdAt"]) + timedelta(hours=1))
                for type_id in job["types"] or [1, 6]:
                    if type_id == 6 and i % 2:
                        continue
                    yield {
                        "marketoGUID": f"{i}-{type_id}",
                        "leadId": i + 1,
                        "activityDate": when,
                        "activityTypeId": type_id,
                        "campaignId": None if type_id == 1 else 7,
                        "primaryAttributeValueId": 40 + type_id,
                        "primaryAttributeValue": "Pricing page",
                        "attributes": json.dumps(
                            {"Client IP Address": "203.0.113.9", "Query Parameters": "q=é"}
                        ),
                    }
        else:
            for i in range(60):
                car = self.car(i)
                if job["start"] <= parse_time(car["updatedAt"]) <= job["end"]:
                    yield car

    def write_file(self, job_id: str, job: dict) -> None:
        path = os.path.join(self.folder, f"{job_id}.csv")
        count = 0
        if job["kind"] == "leads" and not self.malformed:
            numbers = self.lead_range(job["filter"], job["start"], job["end"])
            schema = pa.schema([(n, pa.string()) for n in job["fields"]])
            options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
            with pacsv.CSVWriter(path, schema, write_options=options) as writer:
                for low in range(numbers.start, numbers.stop, 100_000):
                    block = range(low, min(low + 100_000, numbers.stop))
                    writer.write_table(self.lead_columns(block).select(job["fields"]))
                    count += len(block)
            job.update(path=path, records=count, size=os.path.getsize(path))
            return
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(job["fields"])
            names = job["fields"]
            for count, row in enumerate(self.rows(job), 1):  # noqa: B007
                writer.writerow(
                    [
                        "null"
                        if row.get(n) is None
                        else ("true" if row[n] is True else "false" if row[n] is False else row[n])
                        for n in names
                    ]
                )
                if self.malformed and count == 2:
                    out.write(",".join(["1"] * (len(names) + 5)) + "\n")  # too many columns
        job.update(path=path, records=count, size=os.path.getsize(path))

    def sync(self, path: str, body: dict) -> dict:
        action, rows = body.get("action", "createOrUpdate"), body.get("input") or []
        if len(rows) > 300:
            return self.error("1003", "Batch size exceeds 300")
        result = []
        if path == "/rest/v1/leads.json":
            key, store, known = body.get("lookupField", "email"), self.written, {f[0] for f in LEAD_FIELDS}
        else:
            key, store, known = "vin", self.cars, {f[0] for f in CAR_FIELDS}
        with self.lock:
            for seq, row in enumerate(rows):
                unknown = [k for k in row if k not in known]
                value = row.get(key)
                if unknown:
                    result.append(
                        {
                            "seq": seq,
                            "status": "skipped",
                            "reasons": [{"code": "1006", "message": f"Field '{unknown[0]}' not found"}],
                        }
                    )
                elif value in (None, ""):
                    result.append(
                        {
                            "seq": seq,
                            "status": "skipped",
                            "reasons": [
                                {"code": "1003", "message": f"Value for lookup field '{key}' required"}
                            ],
                        }
                    )
                elif value in store and action == "createOnly":
                    result.append(
                        {
                            "seq": seq,
                            "status": "skipped",
                            "reasons": [{"code": "1005", "message": "Lead already exists"}],
                        }
                    )
                elif value not in store and action == "updateOnly":
                    result.append(
                        {
                            "seq": seq,
                            "status": "skipped",
                            "reasons": [{"code": "1004", "message": "Lead not found"}],
                        }
                    )
                else:
                    status = "updated" if value in store else "created"
                    store[value] = {**store.get(value, {}), **row}
                    result.append({"seq": seq, "id": len(store), "status": status})
        return self.ok(result)


def handler_for(market: FakeMarketo):
    class Handler(local_server.JsonHandler):
        json_type = "application/json;charset=UTF-8"

        def _route(self, method: str) -> None:
            parts = urlsplit(self.path)
            params = {k: v[0] for k, v in parse_qs(parts.query).items()}
            raw = self.body() if method == "POST" else b""
            with market.lock:
                market.requests.append((method, parts.path))
            if parts.path == "/identity/oauth/token":
                form = {**params, **{k: v[0] for k, v in parse_qs(raw.decode()).items()}}
                return self.reply(*market.token(form))
            refused = market.gate(self.headers.get("Authorization") or "")
            if refused:
                return self.reply(refused.pop("__status__", 200), refused)
            if method == "GET":
                status, answer, kind = market.get(parts.path, params)
                if kind == "file":
                    return self.file(answer)
                return self.reply(status, answer)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self.reply(200, market.error("609", "Invalid JSON"))
            match = re.match(
                r"^/bulk/v1/(leads|activities|customobjects/car_c)/export/(create|([\w-]+)/enqueue)\.json$",
                parts.path,
            )
            if match and match.group(2) == "create":
                return self.reply(200, market.create_job(match.group(1), body))
            if match:
                return self.reply(200, market.enqueue(match.group(3)))
            if parts.path in ("/rest/v1/leads.json", "/rest/v1/customobjects/car_c.json"):
                return self.reply(200, market.sync(parts.path, body))
            return self.reply(404, market.error("404", "Not found"))

        def file(self, path: str) -> None:
            size = os.path.getsize(path)
            wanted = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
            start, end = (int(wanted.group(1)), int(wanted.group(2) or size - 1)) if wanted else (0, size - 1)
            end = min(end, size - 1)
            self.send_response(206 if wanted else 200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(end - start + 1))
            if wanted:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            with open(path, "rb") as source:
                source.seek(start)
                left = end - start + 1
                while left > 0:
                    chunk = source.read(min(left, 1 << 20))
                    self.wfile.write(chunk)
                    left -= len(chunk)

        def do_GET(self):  # noqa: N802
            self._route("GET")

        def do_POST(self):  # noqa: N802
            self._route("POST")

    return Handler


def serve(monkeypatch, **options) -> FakeMarketo:
    """Start the instance for the rest of the test; `market.base` is its address (instanceUrl)."""
    market = FakeMarketo(**options)
    market.base = local_server.start(handler_for(market), monkeypatch)
    return market


def serve_standalone(**options) -> tuple[FakeMarketo, ThreadingHTTPServer]:
    """For the bench (no pytest): the server and its ThreadingHTTPServer, to shut down."""
    market = FakeMarketo(**options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(market))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    os.environ["SLUICE_NET_ALLOW"] = f"127.0.0.1:{port}"
    market.base = f"http://127.0.0.1:{port}"
    return market, server
