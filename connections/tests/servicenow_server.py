"""A stand-in for a ServiceNow instance on a local port, for tests only. It answers the REST Table
API (`GET /api/now/table/<table>`) the way ServiceNow's API reference shows: basic authentication,
`{"result": [...]}` bodies with every value as text ("" when empty), `sysparm_fields`,
`sysparm_limit` / `sysparm_offset` paging with `X-Total-Count` and a `Link` header, and errors as
`{"error": {"message", "detail"}, "status": "failure"}`. `sysparm_query` is evaluated for the
encoded-query subset Sluice sends (=, !=, <, <=, >, >=, LIKE, BETWEEN, IN, ISNOTEMPTY, ^OR, ^,
ORDERBY), so a query that is wrong returns wrong records. The system tables sys_db_object and
sys_dictionary describe incident (which extends task), task and a custom table u_asset_audit."""

from __future__ import annotations

import base64
import re
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import pytest

from connections.tests import local_server

MAX_LIMIT = 10_000
BASE_TIME = datetime(2024, 3, 1, 8, 0, 0, tzinfo=UTC)


def sn_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")


def sys_id(n: int, prefix: str = "9d385017c611228701d22104cc95") -> str:
    return f"{prefix}{n:04x}"


def incident(n: int, **extra) -> dict:
    """An incident as the Table API returns it with sysparm_display_value=false and
    sysparm_exclude_reference_link=true (after the example in ServiceNow's reference)."""
    updated = BASE_TIME + timedelta(hours=n)
    return {
        "sys_id": sys_id(n), "number": f"INC{10000 + n:07d}", "short_description": f"Unable to connect to email ({n})",
        "description": "", "priority": str(n % 5 + 1), "impact": "2", "state": "7" if n % 3 == 0 else "2",
        "active": "false" if n % 3 == 0 else "true", "category": "inquiry", "child_incidents": "0",
        "assigned_to": "681ccaf9c0a8016400b98a06818d57c7", "opened_at": sn_time(updated - timedelta(minutes=30)),
        "closed_at": sn_time(updated) if n % 3 == 0 else "", "sys_domain": "global",
        "sys_created_by": "glide.maint", "sys_updated_by": "glide.maint",
        "sys_created_on": sn_time(updated - timedelta(minutes=30)), "sys_updated_on": sn_time(updated),
        **extra,
    }


def asset_audit(n: int) -> dict:
    return {"sys_id": sys_id(n, "a1b2c3d4e5f60718293a4b5c6d7e"), "u_name": f"Laptop {n}", "u_amount": f"{n * 10.5}",
            "u_audited": f"2024-02-{n:02d}", "sys_created_on": sn_time(BASE_TIME), "sys_updated_on": sn_time(BASE_TIME)}


TABLES = [  # sys_db_object rows
    {"sys_id": "8c58a5aa0a0a0b07008047e8ef0fe0a6", "name": "task", "label": "Task", "super_class": ""},
    {"sys_id": "8ccd1b1d0a0a0b0700f3f9e1a4eb9f3b", "name": "incident", "label": "Incident",
     "super_class": "8c58a5aa0a0a0b07008047e8ef0fe0a6"},
    {"sys_id": "2f2e8c3b1b3e2010ab9a0f2b6e4bcb11", "name": "u_asset_audit", "label": "Asset audit", "super_class": ""},
    {"sys_id": "01f7d3a1c0a8016400a5e3f6c8b0b2b9", "name": "sys_user", "label": "User", "super_class": ""},
]


def dictionary_row(table: str, element: str, internal_type: str, label: str, max_length: int = 40,
                   mandatory: bool = False) -> dict:
    return {"name": table, "element": element, "column_label": label, "internal_type": internal_type,
            "max_length": str(max_length), "mandatory": "true" if mandatory else "false"}


DICTIONARY = [
    {"name": "task", "element": "", "column_label": "Task", "internal_type": "collection", "max_length": "40",
     "mandatory": "false"},
    dictionary_row("task", "sys_id", "GUID", "Sys ID", 32),
    dictionary_row("task", "number", "string", "Number", 40),
    dictionary_row("task", "short_description", "string", "Short description", 160),
    dictionary_row("task", "description", "string", "Description", 4000),
    dictionary_row("task", "priority", "integer", "Priority"),
    dictionary_row("task", "impact", "integer", "Impact"),
    dictionary_row("task", "state", "integer", "State"),
    dictionary_row("task", "active", "boolean", "Active"),
    dictionary_row("task", "assigned_to", "reference", "Assigned to", 32),
    dictionary_row("task", "opened_at", "glide_date_time", "Opened"),
    dictionary_row("task", "closed_at", "glide_date_time", "Closed"),
    dictionary_row("task", "sys_domain", "domain_id", "Domain", 32),
    dictionary_row("task", "sys_created_by", "string", "Created by"),
    dictionary_row("task", "sys_updated_by", "string", "Updated by"),
    dictionary_row("task", "sys_created_on", "glide_date_time", "Created"),
    dictionary_row("task", "sys_updated_on", "glide_date_time", "Updated"),
    {"name": "incident", "element": "", "column_label": "Incident", "internal_type": "collection",
     "max_length": "40", "mandatory": "false"},
    dictionary_row("incident", "category", "string", "Category"),
    dictionary_row("incident", "child_incidents", "integer", "Child Incidents"),
    dictionary_row("u_asset_audit", "sys_id", "GUID", "Sys ID", 32),
    dictionary_row("u_asset_audit", "u_name", "string", "Name", 100, mandatory=True),
    dictionary_row("u_asset_audit", "u_amount", "decimal", "Amount", 15),
    dictionary_row("u_asset_audit", "u_audited", "glide_date", "Audited"),
    dictionary_row("u_asset_audit", "sys_created_on", "glide_date_time", "Created"),
    dictionary_row("u_asset_audit", "sys_updated_on", "glide_date_time", "Updated"),
]

_CONDITION = re.compile(r"^([A-Za-z0-9_.]+?)(ISNOTEMPTY|ISEMPTY|BETWEEN|NOT IN|IN|NOTLIKE|LIKE|STARTSWITH|!=|>=|<=|=|>|<)(.*)$",
                        re.DOTALL)


def _compare(value: str, operator: str, operand: str, numeric: bool) -> bool:
    if operator == "ISNOTEMPTY":
        return value != ""
    if operator == "ISEMPTY":
        return value == ""
    if operator == "LIKE":
        return operand.lower() in value.lower()
    if operator == "STARTSWITH":
        return value.lower().startswith(operand.lower())
    if operator in ("IN", "NOT IN"):
        return (value in operand.split(",")) == (operator == "IN")
    if value == "":
        return False  # an empty value matches no comparison
    if operator == "BETWEEN":
        low, _, high = operand.partition("@")
        return _compare(value, ">=", low, numeric) and _compare(value, "<=", high, numeric)

    def key(v: str):
        return float(v) if numeric else v.lower()

    try:
        a, b = key(value), key(operand)
    except ValueError:
        return False
    return {"=": a == b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[operator]


def matches(record: dict, query: str, numeric_fields: set[str]) -> bool:
    """Evaluate an encoded query (without its ORDERBY parts): ^ is AND, ^OR binds tighter."""
    if not query:
        return True
    terms = [part.split("^OR") for part in re.split(r"\^(?!OR)", query)]  # AND of ORs
    for alternatives in terms:
        if not any(_condition(record, c, numeric_fields) for c in alternatives):
            return False
    return True


def _condition(record: dict, text: str, numeric_fields: set[str]) -> bool:
    found = _CONDITION.match(text)
    if not found:
        raise ValueError(f"unreadable condition {text!r}")
    field, operator, operand = found.groups()
    if operand.lower().startswith("javascript:"):
        raise ValueError("script in a query")
    return _compare(str(record.get(field, "")), operator, operand, field in numeric_fields)


class FakeServiceNow:
    """The instance's state, which tests read and change."""

    def __init__(self, username: str, password: str):
        self.credentials = (username, password)
        self.tables: dict[str, list[dict]] = {
            "incident": [incident(n) for n in range(1, 2501)],
            "u_asset_audit": [asset_audit(n) for n in range(1, 6)],
            "sys_db_object": [dict(t) for t in TABLES],
            "sys_dictionary": [dict(d) for d in DICTIONARY],
        }
        self.tables["task"] = self.tables["incident"]
        self.requests: list[dict] = []  # {"path", "params"} of every Table API call
        self.fail_next: list[tuple[int, dict[str, str], dict | str]] = []  # (status, headers, body)
        self.lock = threading.Lock()
        self.base = ""

    def numeric_fields(self) -> set[str]:
        return {d["element"] for d in self.tables["sys_dictionary"]
                if d["internal_type"] in ("integer", "decimal", "float", "longint")}

    def queries(self, table: str) -> list[str]:
        """The sysparm_query of every call to a table, in order."""
        return [r["params"].get("sysparm_query", "") for r in self.requests if r["path"] == f"/api/now/table/{table}"]

    def answer(self, table: str, params: dict) -> tuple[int, dict, dict]:
        if table not in self.tables:
            return 400, {"error": {"message": "Invalid table " + table, "detail": None}, "status": "failure"}, {}
        query = params.get("sysparm_query", "")
        order = [p[len("ORDERBY"):] for p in query.split("^") if p.startswith("ORDERBY")]
        where = "^".join(p for p in query.split("^") if not p.startswith("ORDERBY"))
        numeric = self.numeric_fields()
        try:
            rows = [r for r in self.tables[table] if matches(r, where, numeric)]
        except ValueError as exc:
            return 400, {"error": {"message": "Invalid query", "detail": str(exc)}, "status": "failure"}, {}
        for name in reversed(order):
            rows.sort(key=lambda r: r.get(name, ""))
        limit = min(int(params.get("sysparm_limit", MAX_LIMIT)), MAX_LIMIT)
        offset = int(params.get("sysparm_offset", 0))
        page = rows[offset:offset + limit]
        fields = [f for f in params.get("sysparm_fields", "").split(",") if f]
        if fields:
            page = [{f: r.get(f, "") for f in fields} for r in page]
        headers = {"X-Total-Count": str(len(rows))}
        links = []

        def link(at: int, rel: str) -> None:
            links.append(f'<{self.base}api/now/table/{table}?{urlencode({**params, "sysparm_offset": at})}>;rel="{rel}"')

        link(0, "first")
        if offset > 0:
            link(max(0, offset - limit), "prev")
        if offset + limit < len(rows):
            link(offset + limit, "next")
        link(max(0, (len(rows) - 1) // max(limit, 1) * limit), "last")
        headers["Link"] = ",".join(links)
        return 200, {"result": page}, headers


def serve(monkeypatch: pytest.MonkeyPatch, username: str = "sluice.integration",
          password: str = "Pässwörd^1") -> FakeServiceNow:
    """Start the instance for the rest of the test; `instance.base` is its address (instanceUrl)."""
    instance = FakeServiceNow(username, password)

    class Handler(local_server.JsonHandler):
        json_type = "application/json;charset=UTF-8"

        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            params = local_server.single_values(parts.query, keep_blank_values=True)
            with instance.lock:
                instance.requests.append({"path": parts.path, "params": params})
                failure = instance.fail_next.pop(0) if instance.fail_next else None
            if failure:
                return self.reply(failure[0], failure[2], failure[1])
            if not self.signed_in():
                return self.reply(401, {"error": {"message": "User Not Authenticated",
                                                  "detail": "Required to provide Auth information"},
                                        "status": "failure"}, {"WWW-Authenticate": 'BASIC realm="Service-now"'})
            if not parts.path.startswith("/api/now/table/"):
                return self.reply(400, {"error": {"message": "Requested URI does not represent any resource",
                                                  "detail": None}, "status": "failure"})
            status, body, headers = instance.answer(parts.path.removeprefix("/api/now/table/"), params)
            return self.reply(status, body, headers)

        def signed_in(self) -> bool:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return False
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return (user, password) == instance.credentials

        def reply(self, status: int, body: dict | str, headers: dict[str, str] | None = None) -> None:
            if isinstance(body, str):  # an HTML page, as an instance answers some errors
                return self.send(status, body.encode(), "text/html", headers)
            return super().reply(status, body, headers)

    instance.base = local_server.start(Handler, monkeypatch) + "/"
    return instance
