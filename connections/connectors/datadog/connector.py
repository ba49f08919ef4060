"""The Datadog connector: logs (Logs Search API v2), events (Events API v2 search), incidents
(incident search), monitors (monitor search) and metric timeseries (the v1 timeseries query), each
read with the query filter and the date range AppFlow's Datadog connector requires.

The query is an EQUAL_TO Filter task on the field `query` (its VALUE is Datadog search syntax, e.g.
`service:web status:error`, or a metric query such as `avg:system.cpu.user{*}` for metrics); every
record carries the query that found it, so the engine's own EQUAL_TO check keeps it. The date range
is a BETWEEN Filter task on the object's time field (and/or the incremental window), pushed down as
the API's from/to where it takes one; rows are also kept to it here."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pyarrow as pa

from connections.connectors.base import (
    ConfigField,
    ConnectionInfo,
    ConnectorError,
    Entity,
    EntityField,
    MissingAtSource,
    SourceBatch,
    Window,
)
from connections.connectors.records import as_json, at, epoch
from connections.connectors.saas import VALUE_OPERATORS, SaasConnector
from connections.connectors.windowing import in_window, unreadable_warning
from flows.engine.values import parse_value

from .api import SITES, DatadogApi

PAGE_SIZE = 1000  # the largest page[limit] the logs and events search APIs take
INCIDENT_PAGE = 100
MONITOR_PAGE = 100
QUERY = "query"
ARROW_TYPES = {"string": pa.string(), "integer": pa.int64(), "double": pa.float64(), "boolean": pa.bool_(),
               "datetime": pa.timestamp("us", tz="UTC")}


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# object -> fields: (name, type, getter, primary key); the first datetime field is its time field
Spec = tuple[str, str, Callable[[Mapping[str, Any]], Any], bool]
_QUERY: Spec = (QUERY, "string", lambda r: None, False)  # filled by read(): the query that found the record
OBJECTS: dict[str, tuple[str, tuple[Spec, ...]]] = {
    "logs": ("Logs (Logs Search API)", (
        ("id", "string", at("id"), True),
        ("timestamp", "datetime", lambda r: _iso(at("attributes", "timestamp")(r)), False),
        ("host", "string", at("attributes", "host"), False),
        ("service", "string", at("attributes", "service"), False),
        ("status", "string", at("attributes", "status"), False),
        ("message", "string", at("attributes", "message"), False),
        ("tags", "string", as_json("attributes", "tags"), False),
        ("attributes", "string", as_json("attributes", "attributes"), False),
        _QUERY)),
    "events": ("Events", (
        ("id", "string", at("id"), True),
        ("timestamp", "datetime", lambda r: _iso(at("attributes", "timestamp")(r)), False),
        ("title", "string", at("attributes", "attributes", "title"), False),
        ("message", "string", at("attributes", "message"), False),
        ("source", "string", at("attributes", "attributes", "source_type_name"), False),
        ("priority", "string", at("attributes", "attributes", "priority"), False),
        ("tags", "string", as_json("attributes", "tags"), False),
        _QUERY)),
    "incidents": ("Incidents", (
        ("id", "string", at("id"), True),
        ("created", "datetime", lambda r: _iso(at("attributes", "created")(r)), False),
        ("modified", "datetime", lambda r: _iso(at("attributes", "modified")(r)), False),
        ("resolved", "datetime", lambda r: _iso(at("attributes", "resolved")(r)), False),
        ("public_id", "integer", at("attributes", "public_id"), False),
        ("title", "string", at("attributes", "title"), False),
        ("state", "string", at("attributes", "state"), False),
        ("severity", "string", at("attributes", "severity"), False),
        ("customer_impacted", "boolean", at("attributes", "customer_impacted"), False),
        _QUERY)),
    "monitors": ("Monitors", (
        ("id", "integer", at("id"), True),
        ("last_triggered", "datetime", lambda r: epoch(r.get("last_triggered_ts")), False),
        ("name", "string", at("name"), False),
        ("type", "string", at("type"), False),
        ("status", "string", at("status"), False),
        ("monitor_query", "string", at("query"), False),
        ("tags", "string", as_json("tags"), False),
        ("creator", "string", at("creator", "handle"), False),
        _QUERY)),
    "metrics": ("Metric timeseries (a metric query)", (
        ("timestamp", "datetime", lambda r: epoch(r.get("time"), 1000.0), True),
        ("metric", "string", at("metric"), True),
        ("scope", "string", at("scope"), True),
        ("expression", "string", at("expression"), False),
        ("value", "double", at("value"), False),
        ("unit", "string", at("unit"), False),
        _QUERY)),
}


# what a date range may be on: a BETWEEN on any other field is not one
TIME_FIELDS = [[s[0]] for _, specs in OBJECTS.values() for s in specs if s[1] == "datetime"]


def _time_field(obj: str) -> str:
    return next(s[0] for s in OBJECTS[obj][1] if s[1] == "datetime")


def _coerce(value: Any, data_type: str) -> Any:
    if value is None:
        return None
    if data_type == "string" and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
    if data_type == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    if data_type == "double":
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if data_type == "boolean" and not isinstance(value, bool):
        return None
    return value


def _task_operator(task: Mapping[str, Any]) -> str:
    operator = task.get("connectorOperator")
    return str(next(iter(operator.values()), "")) if isinstance(operator, Mapping) and operator else ""


class DatadogConnector(SaasConnector):
    """Reads a Datadog organization with an API key and an application key (source only)."""

    connector_type: ClassVar[str] = "Datadog"
    properties_key: ClassVar[str] = "Datadog"
    display_name: ClassVar[str] = "Datadog"
    description: ClassVar[str] = (
        "Logs, events, incidents, monitors and metric timeseries of a Datadog organization, read with an "
        "API key and an application key; every flow names a query filter and a date range."
    )
    can_be_source: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "api_key"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("apiKey", "secret", "API key", secret=True,
                    help="In Datadog: Organization Settings, API Keys. Stored encrypted; Sluice never "
                         "shows it again."),
        ConfigField("applicationKey", "secret", "Application key", secret=True,
                    help="Organization Settings, Application Keys; it reads with its user's permissions "
                         "(scopes logs_read_data, events_read, incident_read, monitors_read, metrics_read)."),
        ConfigField("site", "choice", "Site", choices=tuple(SITES), default="US1",
                    help="The Datadog site of your organization (where you log in: US1 app.datadoghq.com, "
                         "EU app.datadoghq.eu, ...).", sends_credentials_to=True),
        ConfigField("instanceUrl", "url", "API address", required=False,
                    help="Leave empty: the site decides. Only to reach Datadog through another address "
                         "(a proxy, a test server); the SSRF guard applies.", sends_credentials_to=True),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    fastest_schedule_minutes: ClassVar[int] = 1
    filter_operators: ClassVar[tuple[str, ...]] = ("PROJECTION", "BETWEEN", "EQUAL_TO", *VALUE_OPERATORS)
    pushdown_operators: ClassVar[tuple[str, ...]] = ("BETWEEN", "EQUAL_TO")

    @classmethod
    def check_source_values(cls, props: Mapping[str, Any]) -> list[tuple[str, str]]:
        name = str(props.get("object") or "")
        if name not in OBJECTS:
            given = f' (not "{name[:60]}")' if name else ""
            return [("object", f"must be one of {', '.join(OBJECTS)}{given}")]
        return []

    @classmethod
    def check_flow_tasks(cls, tasks: list[Any]) -> list[tuple[tuple, str]]:
        """AppFlow's Datadog connector requires a query filter and a date range on every flow."""
        filters = [(i, t) for i, t in enumerate(tasks)
                   if isinstance(t, Mapping) and t.get("taskType") == "Filter"]
        problems: list[tuple[tuple, str]] = []
        queries = [(i, t) for i, t in filters
                   if _task_operator(t) == "EQUAL_TO" and t.get("sourceFields") == [QUERY]]
        if not queries:
            problems.append(((), "Datadog needs a query filter: add a Filter task with EQUAL_TO on the "
                                 "field query, its VALUE the Datadog search (e.g. service:web status:error, "
                                 "or * for everything; a metric query such as avg:system.cpu.user{*} for "
                                 "metrics)"))
        for i, task in queries:
            props = task.get("taskProperties") if isinstance(task.get("taskProperties"), Mapping) else {}
            if "VALUES" in props or not str(props.get("VALUE") or "").strip():
                problems.append(((i, "taskProperties"), "the Datadog query goes in VALUE, as one text "
                                                        "(VALUES would split it at commas)"))
        ranges = [t for _, t in filters
                  if _task_operator(t) == "BETWEEN" and t.get("sourceFields") in TIME_FIELDS]
        if not ranges:
            problems.append(((), "Datadog needs a date range: add a Filter task with BETWEEN on the object's "
                                 "time field (timestamp for logs, events and metrics; created for incidents; "
                                 "last_triggered for monitors)"))
        return problems

    def test(self, conn: ConnectionInfo) -> None:
        # GET /api/v1/validate checks the API key only; a one-record monitor search checks the
        # application key too, which every read needs.
        api = DatadogApi(conn)
        api.get("/api/v1/validate", what="the API key check")
        api.get("/api/v1/monitor/search", {"per_page": 1},
                what="a monitor search (the application key check)")

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        if parent:
            raise ConnectorError("Datadog objects have no children.")
        return [Entity(name, label) for name, (label, _) in OBJECTS.items()]

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        specs = self._specs(entity)
        time_field = _time_field(entity)
        return [EntityField(name, kind, nullable=not pk, primary_key=pk,
                            timestamp_for_incremental=kind == "datetime",
                            filter_operators=("PROJECTION", "BETWEEN") if name == time_field
                            else ("PROJECTION", "EQUAL_TO") if name == QUERY else ("PROJECTION",))
                for name, kind, _, pk in specs]

    @staticmethod
    def _specs(entity: str) -> tuple[Spec, ...]:
        if entity not in OBJECTS:
            raise MissingAtSource(f'Datadog has no object "{entity}"; use one of {", ".join(OBJECTS)}.',
                                  entity=entity)
        return OBJECTS[entity][1]

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        specs = {s[0]: s for s in self._specs(entity)}
        names = fields or list(specs)
        unknown = [n for n in names if n not in specs]
        if unknown:
            raise MissingAtSource(f"Datadog {entity} have no field {', '.join(unknown)}. "
                                  f"Fields: {', '.join(specs)}.", entity=entity, fields=unknown)
        time_field = window.field or _time_field(entity)
        if time_field not in specs or specs[time_field][1] != "datetime":
            raise ConnectorError(f'The incremental timestamp field "{time_field}" is not a time field of '
                                 f"Datadog {entity}; use {_time_field(entity)}.")
        query, start, end = _pushdown(filters, window, time_field)
        columns = list(dict.fromkeys(names + ([time_field] if not window.is_open else [])))
        schema = pa.schema([(n, ARROW_TYPES[specs[n][1]]) for n in columns])
        api = DatadogApi(conn)
        pages = _READERS[entity](api, query, start if time_field == _time_field(entity) else None,
                                 end if time_field == _time_field(entity) else None)
        for number, (records, raw) in enumerate(pages, start=1):
            rows = [{n: query if n == QUERY else _coerce(specs[n][2](r), specs[n][1]) for n in columns}
                    for r in records]
            table = pa.Table.from_pylist(rows, schema=schema)
            warnings = []
            if not window.is_open:
                table, unreadable = in_window(table, Window(window.start, window.end, time_field))
                if unreadable:
                    warnings.append(unreadable_warning(unreadable, window, entity))
            notes = [f"Datadog: {api.calls} API call(s), {api.waited:g} s waited for its rate limit."] \
                if number == 1 or api.waited else []
            yield SourceBatch(table=table.select(names), bytes_read=raw, warnings=warnings, notes=notes)


def _pushdown(filters: list[Mapping[str, Any]], window: Window, time_field: str,
              ) -> tuple[str, datetime | None, datetime | None]:
    """(query, start, end): the EQUAL_TO on query; the BETWEEN on the time field narrowed by the
    window (a BETWEEN's upper bound is inclusive: Datadog's `to` is sent one millisecond later)."""
    query, start, end = "*", window.start, window.end
    for f in filters:
        values = [str(v) for v in f.get("values") or []]
        if f.get("field") == QUERY and f.get("operator") == "EQUAL_TO" and len(values) == 1:
            query = values[0]
        elif f.get("field") == time_field and f.get("operator") == "BETWEEN" and len(values) == 2:
            try:
                low, high = (datetime.fromtimestamp(parse_value(v, "datetime") / 1e6, UTC) for v in values)
            except ValueError as exc:
                raise ConnectorError(f"The date range of the Datadog flow: {exc}.") from None
            high += timedelta(milliseconds=1)
            start = low if start is None else max(start, low)
            end = high if end is None else min(end, high)
    return query, start, end


def _stamp(when: datetime | None, default: str) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if when else default


def _malformed(what: str, page: int, detail: str) -> ConnectorError:
    return ConnectorError(f"Datadog answered page {page} of {what} with a malformed body ({detail}); the "
                          "run stops and nothing is published.")


def _search(path: str, what: str) -> Callable[..., Iterator[tuple[list[dict], int]]]:
    """Logs and events search (POST, cursor paging: meta.page.after goes back as page.cursor).
    Without a date range Datadog's own default applies (the last 15 minutes)."""
    def pages(api: DatadogApi, query: str, start: datetime | None, end: datetime | None):
        span = {"from": _stamp(start, "now-15m"), "to": _stamp(end, "now")}
        body: dict[str, Any] = {"filter": {"query": query, **span}, "sort": "timestamp",
                                "page": {"limit": PAGE_SIZE}}
        number = 0
        while True:
            number += 1
            page = api.post(path, body, what=what)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise _malformed(what, number, "no list of records under data")
            yield data, len(json.dumps(page))
            meta = page.get("meta") if isinstance(page.get("meta"), dict) else {}
            after = (meta.get("page") or {}).get("after") if isinstance(meta.get("page"), dict) else None
            if not after or not data:
                return
            body = {**body, "page": {"limit": PAGE_SIZE, "cursor": after}}
    return pages


def _incidents(api: DatadogApi, query: str, start: datetime | None, end: datetime | None):
    """GET /api/v2/incidents/search, offset paging (meta.pagination.next_offset); the date range is
    kept here (the search query could say created:..., but the user's query is sent as written)."""
    offset, number = 0, 0
    while True:
        number += 1
        page = api.get("/api/v2/incidents/search", {"query": query, "page[size]": INCIDENT_PAGE,
                                                    "page[offset]": offset}, what="incidents")
        data = page.get("data") if isinstance(page, dict) else None
        attributes = data.get("attributes") if isinstance(data, dict) else None
        found = attributes.get("incidents") if isinstance(attributes, dict) else None
        if not isinstance(found, list):
            raise _malformed("incidents", number, "no list under data.attributes.incidents")
        records = [i.get("data") for i in found if isinstance(i, dict) and isinstance(i.get("data"), dict)]
        yield records, len(json.dumps(page))
        pagination = (page.get("meta") or {}).get("pagination") or {}
        following = pagination.get("next_offset")
        if len(found) < INCIDENT_PAGE or not isinstance(following, int) or following <= offset:
            return
        offset = following


def _monitors(api: DatadogApi, query: str, start: datetime | None, end: datetime | None):
    """GET /api/v1/monitor/search, page numbers from 0 up to metadata.page_count."""
    number = 0
    while True:
        page = api.get("/api/v1/monitor/search", {"query": "" if query == "*" else query, "page": number,
                                                  "per_page": MONITOR_PAGE}, what="monitors")
        monitors = page.get("monitors") if isinstance(page, dict) else None
        if not isinstance(monitors, list):
            raise _malformed("monitors", number + 1, "no list under monitors")
        yield [m for m in monitors if isinstance(m, dict)], len(json.dumps(page))
        count = (page.get("metadata") or {}).get("page_count")
        number += 1
        if not isinstance(count, int) or number >= count or not monitors:
            return


def _metrics(api: DatadogApi, query: str, start: datetime | None, end: datetime | None):
    """GET /api/v1/query: one answer, a record per point of each series (from/to in epoch seconds;
    without a date range the last hour)."""
    if query == "*":
        raise ConnectorError("Datadog metrics need a metric query in the query filter, e.g. "
                             "avg:system.cpu.user{*}.")
    now = datetime.now(UTC)
    frm, to = start or now - timedelta(hours=1), end or now
    params = {"from": int(frm.timestamp()), "to": math.ceil(to.timestamp()), "query": query}
    page = api.get("/api/v1/query", params, what=f"the metric query {query}")
    series = page.get("series") if isinstance(page, dict) else None
    if not isinstance(series, list) or page.get("status") == "error":
        detail = (str(page.get("error") or "no list under series")[:200] if isinstance(page, dict)
                  else "not an object")
        raise _malformed(f"the metric query {query}", 1, detail)
    records = []
    for s in series:
        if not isinstance(s, dict):
            continue
        unit = (s.get("unit") or [None])[0] if isinstance(s.get("unit"), list) else None
        for point in s.get("pointlist") or []:
            if isinstance(point, list) and len(point) == 2:
                records.append({"time": point[0], "value": point[1], "metric": s.get("metric"),
                                "scope": s.get("scope"), "expression": s.get("expression"),
                                "unit": unit.get("name") if isinstance(unit, dict) else None})
    yield records, len(json.dumps(page))


_READERS: dict[str, Callable[..., Iterator[tuple[list[dict], int]]]] = {
    "logs": _search("/api/v2/logs/events/search", "logs"),
    "events": _search("/api/v2/events/search", "events"),
    "incidents": _incidents,
    "monitors": _monitors,
    "metrics": _metrics,
}
