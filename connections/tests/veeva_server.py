"""A stand-in for a Veeva Vault on a local port, for tests only, written from Veeva's published
Vault API reference:
- https://developer.veevavault.com/api/ (Authentication: `POST /api/{version}/auth` with username
  and password, answering `sessionId`; every response's `responseStatus` and `errors[{type, message}]`,
  INVALID_SESSION_ID, API_LIMIT_EXCEEDED; the X-VaultAPI-BurstLimitRemaining /
  X-VaultAPI-DailyLimitRemaining response headers; Metadata: `/metadata/vobjects`,
  `/metadata/vobjects/{name}`, `/metadata/objects/documents/properties`)
- https://limited.veevavault.dev/vault-api/api-reference/21.3/vault-query-language-vql/submitting-a-query/
  (`POST /api/{version}/query`, form field q, `responseDetails` with pagesize, pageoffset, size,
  total and next_page)
- http://developer.veevavault.com/docs/vault-query-api-overview/ (VQL: case-sensitive names and
  values, quoted string values)
- https://general.veevavault.dev/vault-api/references/api-rate-limits (burst limits)
- https://developer.veevavault.com/api/24.1/ (Documents: Download Document Version File,
  Retrieve Document Version Renditions, Download Document Version Rendition File) and
  https://limited.veevavault.dev/vault-api/api-reference/24.2/documents/document-attachments/download-document-attachment/
  (a download answers `Content-Type` of the file and `Content-Disposition: attachment;filename="..."`)

Quirks kept: failures are HTTP 200 with responseStatus FAILURE; date-times are ISO text with
milliseconds and `Z`; nulls; unicode and quotes in names; picklists as lists. The WHERE clause is
evaluated for the subset Sluice sends (`field op 'value'` joined by AND, with `\\'` and `\\\\`
escapes), so a wrong query returns wrong records. Switches: `expire_after` (queries answered before
the session is ended), `limit_at` (the query page that answers API_LIMIT_EXCEEDED), `malformed_at`
(the query page answered without a data list). Document files: document n's version file is
"brochure-<n>.pdf" (document 7's name is sent as RFC 6266 `filename*`), document 5 is a
placeholder without a file (answered as Vault's JSON FAILURE; the error type is this server's
choice), odd documents have a viewable rendition; `files_fetched` counts the downloads."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from connections.tests import local_server

VERSION = "v24.1"
BASE_TIME = datetime(2024, 3, 1, 8, 0, 0, tzinfo=UTC)
DOCUMENT_TYPES = ("Promotional Piece", "Reference", "Reviewer's Guide")


def vault_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def document(n: int) -> dict:
    return {
        "id": n, "name__v": f"Cholecap brochure {n} — ü’s", "title__v": None if n % 4 == 0 else f"Title {n}",
        "type__v": DOCUMENT_TYPES[n % 3], "status__v": "Approved" if n % 2 else "Draft",
        "major_version_number__v": n % 3, "minor_version_number__v": 1,
        "document_creation_date__v": vault_time(BASE_TIME - timedelta(days=1)),
        "modified_date__v": vault_time(BASE_TIME + timedelta(hours=n)),
        "product__v": ["00P000000000101"], "size__v": n * 1024,
    }


def product(n: int) -> dict:
    return {"id": f"00P{n:012d}", "name__v": f"Product {n} 日本", "price__c": n * 2.5,
            "active__c": n % 2 == 0, "launch_date__c": f"2024-01-{n % 28 + 1:02d}",
            "modified_date__v": vault_time(BASE_TIME + timedelta(minutes=n)), "status__v": ["active__v"]}


DOCUMENT_PROPERTIES = [
    {"name": "id", "type": "id", "required": True, "queryable": True, "label": "ID"},
    {"name": "name__v", "type": "String", "required": True, "queryable": True, "label": "Name"},
    {"name": "title__v", "type": "String", "queryable": True, "label": "Title"},
    {"name": "type__v", "type": "String", "queryable": True, "label": "Type"},
    {"name": "status__v", "type": "String", "queryable": True, "label": "Status"},
    {"name": "major_version_number__v", "type": "Number", "scale": 0, "queryable": True, "label": "Major"},
    {"name": "minor_version_number__v", "type": "Number", "scale": 0, "queryable": True, "label": "Minor"},
    {"name": "document_creation_date__v", "type": "DateTime", "queryable": True, "label": "Created"},
    {"name": "modified_date__v", "type": "DateTime", "queryable": True, "label": "Last modified"},
    {"name": "product__v", "type": "ObjectReference", "queryable": True, "label": "Product"},
    {"name": "size__v", "type": "Number", "queryable": True, "label": "Size"},
    {"name": "binder_metadata__v", "type": "String", "queryable": False, "label": "Binder"},
]
PRODUCT_FIELDS = [
    {"name": "id", "type": "ID", "required": True, "label": "ID"},
    {"name": "name__v", "type": "String", "required": True, "label": "Product Name"},
    {"name": "price__c", "type": "Number", "scale": 2, "label": "Price"},
    {"name": "active__c", "type": "Boolean", "label": "Active"},
    {"name": "launch_date__c", "type": "Date", "label": "Launch"},
    {"name": "modified_date__v", "type": "DateTime", "label": "Last Modified Date"},
    {"name": "status__v", "type": "Picklist", "label": "Status"},
]
OBJECTS = [{"name": "product__v", "label": "Product", "label_plural": "Products", "status": ["active__v"]},
           {"name": "study__v", "label": "Study", "label_plural": "Studies", "status": ["active__v"]}]

_CONDITION = re.compile(r"\s*([a-z0-9_]+)\s*(>=|<=|!=|=|<|>)\s*'((?:[^'\\]|\\.)*)'\s*(?:AND\s+|$)")
_QUERY = re.compile(r"^SELECT (?P<fields>.+?) FROM (?P<all>ALLVERSIONS )?(?P<entity>[a-z0-9_]+)"
                    r"(?: WHERE (?P<where>.+?))? ORDER BY id ASC$", re.DOTALL)


def parse_where(where: str) -> list[tuple[str, str, str]]:
    found, pos = [], 0
    while pos < len(where):
        match = _CONDITION.match(where, pos)
        if not match:
            raise ValueError(f"cannot parse WHERE at {where[pos:]!r}")
        value = re.sub(r"\\(.)", r"\1", match.group(3))
        found.append((match.group(1), match.group(2), value))
        pos = match.end()
    return found


def _keep(row: dict, conditions: list[tuple[str, str, str]]) -> bool:
    for name, op, value in conditions:
        have = row.get(name)
        have = "" if have is None else str(have)
        ok = {"=": have == value, "!=": have != value, "<": have < value, "<=": have <= value,
              ">": have > value, ">=": have >= value}[op]
        if not ok:
            return False
    return True


class Vault:
    def __init__(self, user: str, password: str, documents: int = 25, products: int = 12, page_size: int = 10):
        self.user, self.password = user, password
        self.documents = [document(n) for n in range(1, documents + 1)]
        self.products = [product(n) for n in range(1, products + 1)]
        self.page_size = page_size
        self.sessions: set[str] = set()
        self.sign_ins = 0
        self.queries: list[str] = []
        self.query_pages = 0  # query pages answered (first and next pages)
        self.expire_after: int | None = None
        self.limit_at: int | None = None
        self.malformed_at: int | None = None
        self.pending: dict[str, list[dict]] = {}
        self.next_page_host = ""  # e.g. "https://elsewhere.example": next_page as a full URL
        self.base = ""
        self.lock = threading.Lock()
        self.files_fetched: list[str] = []

    def find(self, doc_id: int, major: int, minor: int) -> dict | None:
        return next((d for d in self.documents if d["id"] == doc_id and d["major_version_number__v"] == major
                     and d["minor_version_number__v"] == minor), None)

    def run_query(self, q: str) -> tuple[str, list[dict]] | None:
        match = _QUERY.match(q)
        if not match:
            return None
        entity = match.group("entity")
        rows = {"documents": self.documents, "product__v": self.products}.get(entity)
        if rows is None:
            return None
        names = [n.strip() for n in match.group("fields").split(",")]
        known = {p["name"] for p in DOCUMENT_PROPERTIES} if entity == "documents" else \
            {f["name"] for f in PRODUCT_FIELDS}
        if any(n not in known for n in names):
            return None
        conditions = parse_where(match.group("where")) if match.group("where") else []
        kept = [{n: r.get(n) for n in names} for r in sorted(rows, key=lambda r: str(r["id"]))
                if _keep(r, conditions)]
        if entity == "documents":
            kept.sort(key=lambda r: r.get("id") or 0)
        token = str(uuid.uuid4())
        self.pending[token] = kept
        return token, kept


def _handler(vault: Vault):
    class Handler(local_server.JsonHandler):
        def answer(self, body: dict, status: int = 200) -> None:
            self.reply(status, body, {"X-VaultAPI-BurstLimitRemaining": "1999",
                                      "X-VaultAPI-DailyLimitRemaining": "99999"})

        def failure(self, kind: str, message: str) -> None:
            self.answer({"responseStatus": "FAILURE", "errors": [{"type": kind, "message": message}]})

        def authorized(self) -> bool:
            if self.headers.get("Authorization") not in vault.sessions:
                self.failure("INVALID_SESSION_ID", "Invalid or expired session ID.")
                return False
            return True

        def do_POST(self):
            path = urlsplit(self.path).path
            if path == f"/api/{VERSION}/auth":
                form = self.form()
                with vault.lock:
                    vault.sign_ins += 1
                    if form.get("username") != vault.user or form.get("password") != vault.password:
                        return self.failure("USERNAME_OR_PASSWORD_INCORRECT",
                                            "Authentication failed for user: " + str(form.get("username")))
                    session = uuid.uuid4().hex.upper()
                    vault.sessions.add(session)
                return self.answer({"responseStatus": "SUCCESS", "sessionId": session, "userId": 12021,
                                    "vaultIds": [{"id": 1776, "name": "PharmaDocs", "url": vault.base + "/api"}],
                                    "vaultId": 1776})
            if path == f"/api/{VERSION}/query":
                if not self.authorized():
                    return None
                q = self.form().get("q", "")
                vault.queries.append(q)
                found = vault.run_query(q)
                if found is None:
                    return self.failure("MALFORMED_URL", f"Error parsing query [{q[:60]}]")
                return self.page(found[0], 0)
            return self.reply(404, {"responseStatus": "FAILURE", "errors": [{"type": "MALFORMED_URL"}]})

        def page(self, token: str, offset: int) -> None:
            with vault.lock:
                vault.query_pages += 1
                number = vault.query_pages
                if vault.expire_after is not None and number == vault.expire_after + 1:
                    vault.sessions.clear()  # the session ends mid-run; this call finds it gone
                    vault.query_pages -= 1
                    vault.expire_after = None
                    return self.failure("INVALID_SESSION_ID", "Invalid or expired session ID.")
            if number == vault.limit_at:
                return self.failure("API_LIMIT_EXCEEDED", "API burst limit exceeded for this Vault.")
            if number == vault.malformed_at:
                return self.answer({"responseStatus": "SUCCESS", "responseDetails": {"pagesize": 10},
                                    "data": "<truncated>"})
            rows = vault.pending.get(token)
            if rows is None:
                return self.failure("INVALID_DATA", "Invalid query page.")
            chunk = rows[offset:offset + vault.page_size]
            details = {"pagesize": vault.page_size, "pageoffset": offset, "size": len(chunk), "total": len(rows)}
            if offset + vault.page_size < len(rows):
                details["next_page"] = (f"{vault.next_page_host}/api/{VERSION}/query/{token}?pagesize={vault.page_size}"
                                        f"&pageoffset={offset + vault.page_size}")
            if offset:
                details["previous_page"] = (f"/api/{VERSION}/query/{token}?pagesize={vault.page_size}"
                                            f"&pageoffset={max(0, offset - vault.page_size)}")
            self.answer({"responseStatus": "SUCCESS", "responseDetails": details, "data": chunk})

        def do_GET(self):
            parts = urlsplit(self.path)
            if not self.authorized():
                return None
            path = parts.path
            if path == f"/api/{VERSION}/metadata/vobjects":
                return self.answer({"responseStatus": "SUCCESS", "objects": OBJECTS})
            if path == f"/api/{VERSION}/metadata/vobjects/product__v":
                return self.answer({"responseStatus": "SUCCESS",
                                    "object": {"name": "product__v", "label": "Product", "fields": PRODUCT_FIELDS}})
            if path.startswith(f"/api/{VERSION}/metadata/vobjects/"):
                return self.failure("MALFORMED_URL", "The specified resource cannot be found.")
            if path == f"/api/{VERSION}/metadata/objects/documents/properties":
                return self.answer({"responseStatus": "SUCCESS", "properties": DOCUMENT_PROPERTIES})
            match = re.match(rf"^/api/{VERSION}/objects/documents/(\d+)/versions/(\d+)/(\d+)/"
                             r"(file|renditions)(?:/([a-z_]+))?$", path)
            if match:
                return self.document_file(match)
            match = re.match(rf"^/api/{VERSION}/query/([0-9a-f-]+)$", path)
            if match:
                params = local_server.single_values(parts.query)
                return self.page(match.group(1), int(params.get("pageoffset") or 0))
            return self.failure("MALFORMED_URL", "The specified resource cannot be found.")

        def document_file(self, match: re.Match) -> None:
            doc_id, major, minor = (int(match.group(i)) for i in (1, 2, 3))
            found = vault.find(doc_id, major, minor)
            if found is None:
                return self.failure("INVALID_DATA", f"Invalid document version [{doc_id}/{major}/{minor}].")
            rendered = doc_id % 2 == 1
            if match.group(4) == "renditions" and match.group(5) is None:
                base = f"{vault.base}/api/{VERSION}/objects/documents/{doc_id}/versions/{major}/{minor}/renditions"
                kinds = ["viewable_rendition__v"] if rendered else []
                return self.answer({"responseStatus": "SUCCESS", "renditionTypes": kinds,
                                    "renditions": {k: f"{base}/{k}" for k in kinds}})
            if match.group(4) == "renditions":
                if not rendered or match.group(5) != "viewable_rendition__v":
                    return self.failure("INVALID_DATA", f"Rendition [{match.group(5)}] not found.")
                content, name = f"viewable rendition of {doc_id}\n".encode(), f"brochure-{doc_id}-viewable.pdf"
            elif doc_id == 5:
                return self.failure("INVALID_DATA", "Document has no content: it is a placeholder.")
            else:
                content = f"%PDF-1.4 document {doc_id} version {major}.{minor}\n".encode() * (doc_id * 50)
                name = f"brochure-{doc_id}.pdf"
            vault.files_fetched.append(self.path)
            disposition = "attachment;filename*=UTF-8''Brosch%C3%BCre%207.pdf" if doc_id == 7 and \
                match.group(4) == "file" else f'attachment;filename="{name}"'
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Disposition", disposition)
            self.send_header("Content-Length", str(len(content)))
            self.send_header("X-VaultAPI-BurstLimitRemaining", "1998")
            self.end_headers()
            self.wfile.write(content)

    return Handler


def serve(monkeypatch: pytest.MonkeyPatch, user: str = "integration@pharma.com", password: str = "pw",
          **kwargs) -> Vault:
    vault = Vault(user, password, **kwargs)
    vault.base = local_server.start(_handler(vault), monkeypatch)
    return vault
