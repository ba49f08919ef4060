"""A stand-in for a Salesforce org and its login server on a local port, for tests only.

Its answers follow the shapes of Salesforce's published REST API and Bulk API 2.0 examples: the
OAuth token endpoint (access_token, refresh_token, instance_url, id, issued_at, signature; invalid_grant
for a revoked refresh token), describe-global (`sobjects/`), the object describe, `query` / `queryAll`
with `nextRecordsUrl` paging and `SELECT COUNT()`, sObject Collections (POST / PATCH / DELETE
`composite/sobjects`, upsert on an external id, allOrNone), Bulk API 2.0 query jobs (CSV results paged
with `Sforce-Locator`) and ingest jobs (upload, UploadComplete, failedResults), and errors as
Salesforce sends them (401 INVALID_SESSION_ID, 400 INVALID_TYPE / INVALID_FIELD with the SOQL error
text, 403 REQUEST_LIMIT_EXCEEDED). The org evaluates the small part of SOQL that Sluice writes
(a field list, one object, conditions ANDed), so a pushed-down filter really narrows what comes back."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import pytest

from connections.tests import local_server
from connections.tests.salesforce_streaming_server import EventBus

CLIENT_ID = "3MVG9sluice.connected.app"
CLIENT_SECRET = "sluice-consumer-secret"
VERSION = "v62.0"
DATA = f"/services/data/{VERSION}/"
COMETD = f"/cometd/{VERSION[1:]}"


def field(name, sf_type="string", *, nillable=True, createable=True, updateable=True, filterable=True,
          external_id=False, id_lookup=False, label=""):
    """One entry of an object describe's "fields", with the attributes Sluice reads."""
    return {"name": name, "label": label or name, "type": sf_type, "nillable": nillable,
            "createable": createable, "updateable": updateable, "filterable": filterable,
            "externalId": external_id, "idLookup": id_lookup, "custom": name.endswith("__c"),
            "calculated": False, "length": 255 if sf_type == "string" else 0}


SYSTEM = [
    field("IsDeleted", "boolean", nillable=False, createable=False, updateable=False),
    field("CreatedDate", "datetime", nillable=False, createable=False, updateable=False),
    field("LastModifiedDate", "datetime", nillable=False, createable=False, updateable=False),
    field("SystemModstamp", "datetime", nillable=False, createable=False, updateable=False),
]
DESCRIBES = {
    "Account": [
        field("Id", "id", nillable=False, createable=False, updateable=False, id_lookup=True, label="Account ID"),
        field("Name", nillable=False, id_lookup=True, label="Account Name"),
        field("Type", "picklist"), field("Industry", "picklist"), field("BillingCity"),
        field("BillingAddress", "address", createable=False, updateable=False, filterable=False),
        field("AnnualRevenue", "currency"), field("NumberOfEmployees", "int"),
        field("Description", "textarea", filterable=False), field("Active__c", "boolean"),
        field("SLAExpirationDate__c", "date"),
        field("Account_Key__c", external_id=True, id_lookup=True, label="Account Key"),
        *SYSTEM,
    ],
    # A custom object with writable fields only (beside Id), for the contract test's round trip.
    "Ledger_Entry__c": [
        field("Id", "id", nillable=False, createable=False, updateable=False, id_lookup=True),
        field("Name", nillable=False, id_lookup=True), field("Amount__c", "currency"),
        field("Booked_On__c", "date"), field("Entry_Key__c", external_id=True, id_lookup=True),
    ],
}
GLOBAL = [
    {"name": "Account", "label": "Account", "queryable": True, "createable": True, "updateable": True,
     "deletable": True, "custom": False, "urls": {"sobject": f"{DATA}sobjects/Account"}},
    {"name": "Ledger_Entry__c", "label": "Ledger Entry", "queryable": True, "createable": True,
     "updateable": True, "deletable": True, "custom": True, "urls": {"sobject": f"{DATA}sobjects/Ledger_Entry__c"}},
    {"name": "AccountHistory", "label": "Account History", "queryable": True, "createable": False,
     "updateable": False, "deletable": False, "custom": False, "urls": {}},
    {"name": "ApexTestQueueItem", "label": "Apex Test Queue Item", "queryable": False, "createable": False,
     "updateable": False, "deletable": False, "custom": False, "urls": {}},
]
# Event objects, as describe-global lists them (Change Data Capture and a platform event).
GLOBAL += [
    {"name": "AccountChangeEvent", "label": "Change Event: Account", "queryable": False, "createable": False,
     "updateable": False, "deletable": False, "custom": False, "urls": {}},
    {"name": "Order_Placed__e", "label": "Order Placed", "queryable": False, "createable": True,
     "updateable": False, "deletable": False, "custom": True, "urls": {}},
]
DESCRIBES["AccountChangeEvent"] = [
    field("Id", "id", nillable=False, createable=False, updateable=False),
    field("ChangeEventHeader", "ComplexValue", createable=False, updateable=False, filterable=False),
    field("Name"), field("Industry", "picklist"), field("NumberOfEmployees", "int"),
]
DESCRIBES["Order_Placed__e"] = [field("Order_Number__c"), field("Amount__c", "currency"),
                                field("CreatedDate", "datetime", createable=False, updateable=False)]
INDUSTRIES = ["Energy", "Banking", "Retail", "Media"]


def sf_datetime(moment: datetime) -> str:
    """Salesforce's REST form: 2024-01-02T03:04:05.000+0000."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def account(n: int, modified: datetime, **extra) -> dict:
    return {
        "Id": f"001{n:015d}"[:18], "Name": f"Account {n}", "Type": "Customer - Direct",
        "Industry": INDUSTRIES[n % 4], "BillingCity": "San Francisco",
        "BillingAddress": {"city": "San Francisco", "country": "US", "postalCode": "94105",
                           "state": "CA", "street": "1 Market St"},
        "AnnualRevenue": 1000.5 * n, "NumberOfEmployees": n, "Description": None, "Active__c": n % 2 == 0,
        "SLAExpirationDate__c": (date(2025, 1, 1) + timedelta(days=n % 300)).isoformat(),
        "Account_Key__c": f"K-{n}", "IsDeleted": False, "CreatedDate": sf_datetime(modified - timedelta(days=1)),
        "LastModifiedDate": sf_datetime(modified), "SystemModstamp": sf_datetime(modified), **extra,
    }


def error(code: str, message: str, status: int = 400, **extra) -> tuple[int, list]:
    return status, [{"message": message, "errorCode": code, **extra}]


# --- the part of SOQL the org evaluates -----------------------------------------------------

_SELECT = re.compile(r"^SELECT (?P<fields>.+?) FROM (?P<object>\w+)(?: WHERE (?P<where>.+))?$", re.S)
_CONDITION = re.compile(r"^\(?(?P<field>\w+) (?P<op>=|!=|<=|>=|<|>|LIKE|IN) (?P<value>.+?)\)?$", re.S)
_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def unquote(text: str) -> str:
    assert text[0] == "'" and text[-1] == "'", text
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            i += 1
            out.append(_UNESCAPE.get(body[i], body[i]) if body[i] not in "%_" else "\\" + body[i])
        else:
            assert ch != "'", f"an unescaped quote in {text}"
            out.append(ch)
        i += 1
    return "".join(out)


def value_of(text: str):
    text = text.strip()
    if text.startswith("'"):
        return unquote(text)
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text):
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        return date.fromisoformat(text)
    return float(text)


def comparable(value, sample):
    if isinstance(sample, datetime) and isinstance(value, str):
        return datetime.fromisoformat(value.replace("+0000", "+00:00"))
    if isinstance(sample, date) and isinstance(value, str):
        return date.fromisoformat(value)
    if isinstance(sample, str) and isinstance(value, str):
        return value.lower()  # Salesforce compares text without regard to case
    return value


def like_regex(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return "".join(out)


def matches(record: dict, where: list[tuple[str, str, object]]) -> bool:
    for name, op, wanted in where:
        have = record.get(name)
        if op == "IN":
            if comparable(have, wanted[0]) not in [comparable(w, w) for w in wanted]:
                return False
            continue
        if op == "LIKE":
            pattern = like_regex(str(wanted))
            if have is None or not re.fullmatch(pattern, str(have), re.I | re.S):
                return False
            continue
        if have is None or wanted is None:
            if not ((op == "=" and have is wanted) or (op == "!=" and have is not wanted)):
                return False
            continue
        left, right = comparable(have, wanted), comparable(wanted, wanted)
        ok = {"=": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
              ">": left > right, ">=": left >= right}[op]
        if not ok:
            return False
    return True


class FakeOrg:
    """The org's state, which tests read and change."""

    def __init__(self, token: str):
        self.tokens = {token}
        self.refresh_tokens = {"sf-refresh"}
        now = datetime.now(UTC).replace(microsecond=0)
        self.records = {
            "Account": [account(n, now - timedelta(days=30) + timedelta(minutes=n)) for n in range(1, 2501)],
            "Ledger_Entry__c": [{"Id": f"a01{n:015d}"[:18], "Name": f"Entry {n}", "Amount__c": 12.5 * n,
                                 "Booked_On__c": f"2025-03-0{n}", "Entry_Key__c": f"E-{n}"} for n in (1, 2, 3)],
        }
        self.deleted = {"Account": [account(9001, now - timedelta(days=2), IsDeleted=True, Name="Gone Inc")]}
        self.describes = {k: list(v) for k, v in DESCRIBES.items()}
        self.page_size = 1000
        self.queries: list[str] = []  # the SOQL text of every query and queryAll, and of Bulk query jobs
        self.requests: list[str] = []  # "METHOD path?query" of every call
        self.bodies: list[object] = []  # the JSON bodies of composite calls, and uploaded CSV texts
        self.token_calls: list[dict] = []
        self.fail_next: list[tuple[int, dict, object]] = []  # (status, headers, body) to answer next
        self.cursors: dict[str, list[dict]] = {}
        self.jobs: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.base = ""
        self.codes: dict[str, str] = {}  # authorization code -> its PKCE challenge
        self.deny = False  # the person chooses Deny on the consent page
        self.job_error = ""  # set: Bulk API 2.0 query jobs end Failed with this errorMessage
        self.streaming = EventBus()  # the Streaming API's events and sessions (salesforce_streaming_server)

    # SOQL ----------------------------------------------------------------------------------

    def run_query(self, text: str, include_deleted: bool) -> tuple[int, object]:
        match = _SELECT.match(text)
        if not match:
            return error("MALFORMED_QUERY", f"unexpected token: {text[:40]}")
        entity = match["object"]
        if entity not in self.describes:
            return error("INVALID_TYPE", f"\n{text[:60]}\n^\nERROR at Row:1:Column:1\nsObject type '{entity}' is "
                         "not supported. If you are attempting to use a custom object, be sure to append the "
                         "'__c' after the entity name.")
        known = {f["name"] for f in self.describes[entity]}
        fields = [f.strip() for f in match["fields"].split(",")]
        for name in fields:
            if name not in known and name != "COUNT()":
                return error("INVALID_FIELD", f"\nSELECT {name} FROM {entity}\n^\nERROR at Row:1:Column:8\n"
                             f"No such column '{name}' on entity '{entity}'. If you are attempting to use a "
                             "custom field, be sure to append the '__c' after the custom field name.")
        where = []
        for part in (match["where"] or "").split(" AND ") if match["where"] else []:
            cond = _CONDITION.match(part.strip())
            assert cond, f"the org does not understand {part!r}"
            if cond["op"] == "IN":
                values = [value_of(v) for v in cond["value"].strip("()").split(", ")]
                where.append((cond["field"], "IN", values))
            else:
                where.append((cond["field"], cond["op"], value_of(cond["value"])))
        rows = self.records[entity] + (self.deleted.get(entity, []) if include_deleted else [])
        rows = [r for r in rows if matches(r, where)]
        if fields == ["COUNT()"]:
            return 200, {"totalSize": len(rows), "done": True, "records": []}
        return 200, [{name: r.get(name) for name in fields} | {"_type": entity, "_id": r["Id"]} for r in rows]

    def page(self, rows: list[dict], offset: int, cursor: str) -> dict:
        chunk = rows[offset:offset + self.page_size]
        done = offset + self.page_size >= len(rows)
        body = {"totalSize": len(rows), "done": done,
                "records": [{"attributes": {"type": r["_type"], "url": f"{DATA}sobjects/{r['_type']}/{r['_id']}"},
                             **{k: v for k, v in r.items() if not k.startswith("_")}} for r in chunk]}
        if not done:
            body["nextRecordsUrl"] = f"{DATA}query/{cursor}-{offset + self.page_size}"
        return body

    # writes ----------------------------------------------------------------------------------

    def check_record(self, entity: str, record: dict, operation: str) -> list[dict] | None:
        """Salesforce's per-record errors for the validation rules of this org, or None."""
        known = {f["name"]: f for f in self.describes[entity]}
        for name in record:
            if name not in known:
                return [{"statusCode": "INVALID_FIELD", "message": f"No such column '{name}' on sobject of type "
                         f"{entity}", "fields": []}]
        if operation == "insert" and not record.get("Name"):
            return [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Name]",
                     "fields": ["Name"]}]
        if isinstance(record.get("NumberOfEmployees"), (int, float)) and record["NumberOfEmployees"] < 0:
            return [{"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                     "message": "Employees cannot be negative", "fields": ["NumberOfEmployees"]}]
        return None

    def apply(self, entity: str, operation: str, record: dict, key: str = "Id") -> dict:
        """One record of a write: {"id", "success", "errors"[, "created"]} as sObject Collections answer."""
        rows = self.records[entity]
        problem = self.check_record(entity, record, operation)
        if problem:
            return {"success": False, "errors": problem}
        if operation == "delete" or operation == "update":
            found = next((r for r in rows if r["Id"] == record.get("Id")), None)
            if found is None:
                return {"success": False, "errors": [{"statusCode": "ENTITY_IS_DELETED" if operation == "delete"
                                                      else "INVALID_CROSS_REFERENCE_KEY",
                                                      "message": "entity is deleted" if operation == "delete"
                                                      else "invalid cross reference id", "fields": []}]}
            if operation == "delete":
                rows.remove(found)
            else:
                found.update(record)
            return {"id": found["Id"], "success": True, "errors": []}
        if operation == "upsert":
            found = next((r for r in rows if record.get(key) is not None and r.get(key) == record.get(key)), None)
            if found is not None:
                found.update(record)
                return {"id": found["Id"], "success": True, "errors": [], "created": False}
        new_id = ("001" if entity == "Account" else "a01") + uuid.uuid4().hex[:15]
        rows.append({**record, "Id": new_id})
        return {"id": new_id, "success": True, "errors": [], **({"created": True} if operation == "upsert" else {})}

    def collection(self, entity_records: list[dict], operation: str, all_or_none: bool, key: str = "Id") -> list:
        snapshot = {k: [dict(r) for r in v] for k, v in self.records.items()}
        results = [self.apply(r["attributes"]["type"], operation,
                              {k: v for k, v in r.items() if k != "attributes"}, key) for r in entity_records]
        if all_or_none and not all(r["success"] for r in results):
            self.records = snapshot
            return [r if not r["success"] else
                    {"success": False, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                                   "message": "Record rolled back because not all records were "
                                                              "valid and the request was using AllOrNone header",
                                                   "fields": []}]} for r in results]
        return results

    def ingest(self, job: dict) -> None:
        """Process an uploaded ingest job: failed rows kept for failedResults."""
        rows = list(csv.DictReader(io.StringIO(job["data"], newline="")))
        types = {f["name"]: f["type"] for f in self.describes[job["object"]]}
        failed, processed = [], 0
        for row in rows:
            record = {}
            for k, v in row.items():
                if v == "#N/A" or v == "":
                    record[k] = None
                elif types.get(k) == "int":
                    record[k] = int(v)
                elif types.get(k) in ("currency", "double"):
                    record[k] = float(v)
                elif types.get(k) == "boolean":
                    record[k] = v == "true"
                else:
                    record[k] = v
            if job["operation"] == "insert":
                record = {k: v for k, v in record.items() if v is not None}
            result = self.apply(job["object"], job["operation"], record, job.get("externalIdFieldName") or "Id")
            processed += 1
            if not result["success"]:
                e = result["errors"][0]
                failed.append({"sf__Id": "", "sf__Error": f"{e['statusCode']}:{e['message']}:"
                               f"{','.join(e['fields'])} --", **row})
        job.update(numberRecordsProcessed=processed, numberRecordsFailed=len(failed), failed=failed)


def serve(monkeypatch: pytest.MonkeyPatch, token: str = "sf-token") -> FakeOrg:
    """Start the org (and its login server, on the same port) for the rest of the test; `org.base`
    is its address: the instance URL its token endpoint answers, and a loginUrl for connections."""
    org = FakeOrg(token)

    class Handler(local_server.JsonHandler):
        json_type = "application/json;charset=UTF-8"

        def do_GET(self):  # noqa: N802
            self.handle_call("GET")

        def do_POST(self):  # noqa: N802
            self.handle_call("POST")

        def do_PATCH(self):  # noqa: N802
            self.handle_call("PATCH")

        def do_PUT(self):  # noqa: N802
            self.handle_call("PUT")

        def do_DELETE(self):  # noqa: N802
            self.handle_call("DELETE")

        def handle_call(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = local_server.single_values(parts.query)
            raw = self.body()
            if parts.path == "/services/oauth2/token":
                return self.reply(*self.token(raw))
            if parts.path == "/services/oauth2/authorize":
                return self.authorize(query)
            with org.lock:
                org.requests.append(f"{method} {self.path}")
                failure = org.fail_next.pop(0) if org.fail_next else None
            if failure:
                return self.reply(failure[0], failure[2], failure[1])
            if self.headers.get("Authorization") not in [f"Bearer {t}" for t in org.tokens]:
                return self.reply(*error("INVALID_SESSION_ID", "Session expired or invalid", 401))
            if parts.path == COMETD:
                answers = org.streaming.answer(json.loads(raw or b"[]"))
                if answers is None:  # a dropped connection: closed without an answer
                    self.close_connection = True
                    return None
                return self.reply(200, answers, {"Set-Cookie": "BAYEUX_BROWSER=5z1l-sluice; Path=/cometd/"})
            if not parts.path.startswith(DATA):
                return self.reply(*error("NOT_FOUND", "The requested resource does not exist", 404))
            with org.lock:
                return self.reply(*self.route(method, parts.path[len(DATA):], query, raw))

        def authorize(self, query: dict) -> None:
            """A user already logged in who approved the app before: Salesforce sends the browser
            straight back to the callback with a code (or access_denied when org.deny is set)."""
            if query.get("client_id") != CLIENT_ID:
                return self.reply(400, {"error": "invalid_client_id", "error_description": "client identifier invalid"})
            code = f"aPrx{uuid.uuid4().hex}"
            org.codes[code] = query.get("code_challenge", "")
            back = {"state": query.get("state", "")} | (
                {"error": "access_denied", "error_description": "end-user denied authorization"} if org.deny
                else {"code": code})
            self.send_response(302)
            self.send_header("Location", f"{query['redirect_uri']}?{urlencode(back)}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def token(self, raw: bytes):
            form = local_server.single_values(raw.decode())
            client = form.get("client_id"), form.get("client_secret")
            auth = self.headers.get("Authorization") or ""
            if auth.startswith("Basic "):
                client = tuple(base64.b64decode(auth[6:]).decode().split(":", 1))
            org.token_calls.append(form)
            if client != (CLIENT_ID, CLIENT_SECRET):
                return 400, {"error": "invalid_client", "error_description": "invalid client credentials"}
            if form.get("grant_type") == "authorization_code":
                if form.get("code") not in org.codes:
                    return 400, {"error": "invalid_grant", "error_description": "invalid authorization code"}
                org.codes.pop(form["code"])
                refresh = f"sf-refresh-{uuid.uuid4().hex[:8]}"
                org.refresh_tokens.add(refresh)
            elif form.get("grant_type") == "refresh_token":
                if form.get("refresh_token") not in org.refresh_tokens:
                    return 400, {"error": "invalid_grant", "error_description": "expired access/refresh token"}
                refresh = None  # Salesforce does not rotate refresh tokens
            else:
                return 400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
            access = f"00Dsluice!{uuid.uuid4().hex}"
            org.tokens.add(access)
            body = {"access_token": access, "signature": "base64signature=", "scope": "refresh_token api",
                    "instance_url": org.base.rstrip("/"), "id": f"{org.base}id/00Dxx0000001gPL/005xx000001Sv6A",
                    "token_type": "Bearer", "issued_at": "1700000000000"}
            return 200, body | ({"refresh_token": refresh} if refresh else {})

        def route(self, method: str, path: str, query: dict, raw: bytes):
            body = json.loads(raw) if raw and self.headers.get("Content-Type", "").startswith("application/json") \
                else None
            if path == "limits/":
                return 200, {"DailyApiRequests": {"Max": 15000, "Remaining": 14990}}
            if path == "sobjects/":
                return 200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": GLOBAL}
            m = re.fullmatch(r"sobjects/(\w+)/describe/", path)
            if m:
                if m[1] not in org.describes:
                    return error("NOT_FOUND", "The requested resource does not exist", 404)
                return 200, {"name": m[1], "label": m[1], "queryable": True, "fields": org.describes[m[1]]}
            if path in ("query/", "queryAll/"):
                org.queries.append(query["q"])
                status, rows = org.run_query(query["q"], path == "queryAll/")
                if status != 200 or isinstance(rows, dict):
                    return status, rows
                cursor = f"01gD0000002HU6K{len(org.cursors):03d}"
                org.cursors[cursor] = rows
                return 200, org.page(rows, 0, cursor)
            m = re.fullmatch(r"query/(\w+)-(\d+)", path)
            if m:
                return 200, org.page(org.cursors[m[1]], int(m[2]), m[1])
            if path.startswith("composite/sobjects"):
                return self.composite(method, path, query, body)
            if path == "jobs/query" and method == "POST":
                org.queries.append(body["query"])
                status, rows = org.run_query(body["query"], body["operation"] == "queryAll")
                if status != 200:
                    return status, rows
                job_id = f"750R0000000zlh{len(org.jobs):04d}"
                org.jobs[job_id] = {"rows": rows, "polls": 0, "fields": _SELECT.match(body["query"])["fields"]}
                return 200, {"id": job_id, "operation": body["operation"], "object": "Account",
                             "state": "UploadComplete", "contentType": "CSV", "apiVersion": 62.0}
            m = re.fullmatch(r"jobs/query/(\w+)(/results)?", path)
            if m:
                job = org.jobs[m[1]]
                if not m[2]:
                    job["polls"] += 1
                    if org.job_error and job["polls"] >= 2:
                        return 200, {"id": m[1], "state": "Failed", "errorMessage": org.job_error}
                    return 200, {"id": m[1], "state": "InProgress" if job["polls"] < 2 else "JobComplete",
                                 "numberRecordsProcessed": len(job["rows"])}
                return self.results(job, query)
            if path == "jobs/ingest" and method == "POST":
                job_id = f"7505e00000Gg{len(org.jobs):04d}"
                org.jobs[job_id] = {**body, "id": job_id, "state": "Open", "data": "", "polls": 0}
                return 200, {"id": job_id, "operation": body["operation"], "object": body["object"],
                             "state": "Open", "contentUrl": f"services/data/{VERSION}/jobs/ingest/{job_id}/batches"}
            m = re.fullmatch(r"jobs/ingest/(\w+)(/batches|/failedResults/)?", path)
            if m:
                job = org.jobs[m[1]]
                if m[2] == "/batches" and method == "PUT":
                    job["data"] += raw.decode()
                    org.bodies.append(raw.decode())
                    return 201, None
                if m[2] == "/failedResults/":
                    return self.csv_reply(job["failed"], ["sf__Id", "sf__Error", *csv.DictReader(
                        io.StringIO(job["data"])).fieldnames])
                if method == "PATCH":
                    job["state"] = body["state"]
                    if body["state"] == "UploadComplete":
                        org.ingest(job)
                    return 200, {k: v for k, v in job.items() if k not in ("data", "failed")}
                job["polls"] += 1
                state = "InProgress" if job["polls"] < 2 else "JobComplete"
                return 200, {"id": m[1], "state": state, "object": job["object"], "operation": job["operation"],
                             "numberRecordsProcessed": job["numberRecordsProcessed"],
                             "numberRecordsFailed": job["numberRecordsFailed"]}
            return error("NOT_FOUND", "The requested resource does not exist", 404)

        def composite(self, method: str, path: str, query: dict, body):
            org.bodies.append(body if body is not None else query)
            if method == "DELETE":
                ids = query["ids"].split(",")
                if len(ids) > 200:
                    return error("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records")
                rows = [{"attributes": {"type": next((e for e, rs in org.records.items()
                                                      if any(r["Id"] == i for r in rs)), "Account")}, "Id": i}
                        for i in ids]
                return 200, org.collection(rows, "delete", query.get("allOrNone") == "true")
            if len(body["records"]) > 200:
                return error("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records")
            m = re.fullmatch(r"composite/sobjects/(\w+)/(\w+)", path)
            operation = {"POST": "insert", "PATCH": "upsert" if m else "update"}[method]
            return 200, org.collection(body["records"], operation, body.get("allOrNone", False),
                                       m[2] if m else "Id")

        def results(self, job: dict, query: dict):
            start = int(query.get("locator") or 0)
            size = int(query.get("maxRecords") or 50000)
            chunk = job["rows"][start:start + size]
            fields = [f.strip() for f in job["fields"].split(",")]

            def text(v):
                if v is None:
                    return ""
                if isinstance(v, bool):
                    return "true" if v else "false"
                if isinstance(v, str) and v.endswith("+0000"):  # Bulk API answers datetimes in Z form
                    return v.replace(".000+0000", ".000Z")
                return str(v)

            rows = [{f: text(r.get(f)) for f in fields} for r in chunk]
            more = start + size < len(job["rows"])
            return self.csv_reply(rows, fields, {"Sforce-Locator": str(start + size) if more else "null",
                                                 "Sforce-NumberOfRecords": str(len(chunk))})

        def csv_reply(self, rows, fields, headers=None):
            out = io.StringIO(newline="")
            writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n", quoting=csv.QUOTE_ALL)
            writer.writeheader()
            writer.writerows(rows)
            return 200, out.getvalue().encode(), {"Content-Type": "text/csv", **(headers or {})}

        def reply(self, status: int, body, headers: dict[str, str] | None = None) -> None:
            if isinstance(body, bytes):  # a Bulk API 2.0 result: CSV
                return self.send(status, body, "text/csv", headers)
            return super().reply(status, body, headers)

    org.base = local_server.start(Handler, monkeypatch) + "/"
    return org
