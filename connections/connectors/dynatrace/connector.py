"""The Dynatrace connector: problems, events, audit logs, monitored entities of one type
(`entities/<TYPE>`, e.g. entities/HOST) and the data points of a metric selector
(`metrics/<selector>`, e.g. metrics/builtin:host.cpu.usage:avg), read through the Environment API v2.

Dates: Dynatrace answers epoch milliseconds. The date range (the incremental window, narrowed by a
BETWEEN Filter on the object's time field) is sent as from/to; one request spans at most 30 days
(AppFlow's rule for Dynatrace), so a longer range is read as consecutive 30-day windows, and a BETWEEN
filter wider than 30 days is refused when the flow is saved."""

from __future__ import annotations

import json
import re
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

from .api import DynatraceApi, size

PAGE_SIZE = 500  # the largest pageSize problems and entities take (events 1000, audit logs 5000)
MAX_SPAN = timedelta(days=30)
ENTITY_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{1,60}$")
ENTITY_TYPES = ("HOST", "PROCESS_GROUP", "PROCESS_GROUP_INSTANCE", "SERVICE", "APPLICATION",
                "KUBERNETES_CLUSTER")
ARROW_TYPES = {"string": pa.string(), "integer": pa.int64(), "double": pa.float64(), "boolean": pa.bool_(),
               "datetime": pa.timestamp("us", tz="UTC")}


def _time(*path: str) -> Callable[[Mapping[str, Any]], Any]:
    # Dynatrace answers epoch milliseconds; -1 (an open problem's endTime) reads as null
    return lambda record: epoch(at(*path)(record), 1000.0)


Spec = tuple[str, str, Callable[[Mapping[str, Any]], Any], bool]
# kind -> (label, path, list key in the answer, its fields; the first datetime field is the time field)
KINDS: dict[str, tuple[str, str, str, tuple[Spec, ...]]] = {
    "problems": ("Problems", "/problems", "problems", (
        ("problemId", "string", at("problemId"), True),
        ("startTime", "datetime", _time("startTime"), False),
        ("endTime", "datetime", _time("endTime"), False),
        ("displayId", "string", at("displayId"), False),
        ("title", "string", at("title"), False),
        ("status", "string", at("status"), False),
        ("severityLevel", "string", at("severityLevel"), False),
        ("impactLevel", "string", at("impactLevel"), False),
        ("rootCauseEntity", "string", at("rootCauseEntity", "entityId", "id"), False),
        ("affectedEntities", "string", as_json("affectedEntities"), False),
        ("managementZones", "string", as_json("managementZones"), False))),
    "events": ("Events", "/events", "events", (
        ("eventId", "string", at("eventId"), True),
        ("startTime", "datetime", _time("startTime"), False),
        ("endTime", "datetime", _time("endTime"), False),
        ("eventType", "string", at("eventType"), False),
        ("title", "string", at("title"), False),
        ("status", "string", at("status"), False),
        ("entityId", "string", at("entityId", "entityId", "id"), False),
        ("entityName", "string", at("entityId", "name"), False),
        ("properties", "string", as_json("properties"), False))),
    "auditlogs": ("Audit logs", "/auditlogs", "auditLogs", (
        ("logId", "string", at("logId"), True),
        ("timestamp", "datetime", _time("timestamp"), False),
        ("eventType", "string", at("eventType"), False),
        ("category", "string", at("category"), False),
        ("user", "string", at("user"), False),
        ("userType", "string", at("userType"), False),
        ("userOrigin", "string", at("userOrigin"), False),
        ("entityId", "string", at("entityId"), False),
        ("success", "boolean", at("success"), False),
        ("message", "string", at("message"), False),
        ("patch", "string", at("patch"), False))),
    "entities": ("Monitored entities", "/entities", "entities", (
        ("entityId", "string", at("entityId"), True),
        ("lastSeen", "datetime", _time("lastSeenTms"), False),
        ("firstSeen", "datetime", _time("firstSeenTms"), False),
        ("type", "string", at("type"), False),
        ("displayName", "string", at("displayName"), False),
        ("tags", "string", as_json("tags"), False),
        ("properties", "string", as_json("properties"), False))),
    "metrics": ("Metric data points", "/metrics/query", "result", (
        ("timestamp", "datetime", _time("timestamp"), True),
        ("metricId", "string", at("metricId"), True),
        ("dimensions", "string", as_json("dimensionMap"), True),
        ("value", "double", at("value"), False))),
}


def _kind(entity: str) -> tuple[str, str]:
    """(kind, argument): the entity type of entities/<TYPE>, the selector of metrics/<selector>."""
    if entity in ("problems", "events", "auditlogs"):
        return entity, ""
    prefix, _, argument = entity.partition("/")
    if prefix == "entities" and ENTITY_TYPE.match(argument):
        return prefix, argument
    if prefix == "metrics" and argument.strip():
        return prefix, argument.strip()
    raise MissingAtSource(f'Dynatrace has no object "{entity[:100]}". Use problems, events, auditlogs, '
                          "entities/<entity type> (e.g. entities/HOST) or metrics/<metric selector> "
                          "(e.g. metrics/builtin:host.cpu.usage:avg).", entity=entity)


def _time_field(kind: str) -> str:
    return next(s[0] for s in KINDS[kind][3] if s[1] == "datetime")


def _coerce(value: Any, data_type: str) -> Any:
    if value is None:
        return None
    if data_type == "string" and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
    if data_type == "double":
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if data_type == "boolean" and not isinstance(value, bool):
        return None
    return value


def _bounds(task: Mapping[str, Any]) -> tuple[int, int] | None:
    props = task.get("taskProperties")
    if not isinstance(props, Mapping):
        return None
    try:
        return (parse_value(str(props.get("LOWER_BOUND")), "datetime"),
                parse_value(str(props.get("UPPER_BOUND")), "datetime"))
    except ValueError:
        return None  # the engine's own checks name a bad bound


def split(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) as consecutive windows of at most 30 days."""
    spans = []
    while start < end:
        spans.append((start, min(start + MAX_SPAN, end)))
        start = spans[-1][1]
    return spans


class DynatraceConnector(SaasConnector):
    """Reads a Dynatrace environment with an API token (source only)."""

    connector_type: ClassVar[str] = "Dynatrace"
    properties_key: ClassVar[str] = "Dynatrace"
    display_name: ClassVar[str] = "Dynatrace"
    description: ClassVar[str] = (
        "Problems, events, audit logs, monitored entities and metric data points of a Dynatrace "
        "environment (SaaS or Managed), read with an API token; at most 30 days per request."
    )
    can_be_source: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "api_key"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("apiToken", "secret", "API token", secret=True,
                    help="In Dynatrace: Access tokens, Generate new token, with the scopes problems.read, "
                         "events.read, auditLogs.read, entities.read and metrics.read. Stored encrypted."),
        ConfigField("instanceUrl", "url", "Environment URL",
                    help="SaaS: https://<environment id>.live.dynatrace.com (or the id alone). Managed: "
                         "https://<your domain>/e/<environment id>. The SSRF guard applies.",
                    sends_credentials_to=True),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    fastest_schedule_minutes: ClassVar[int] = 1
    filter_operators: ClassVar[tuple[str, ...]] = ("PROJECTION", "BETWEEN", "EQUAL_TO", *VALUE_OPERATORS)
    pushdown_operators: ClassVar[tuple[str, ...]] = ("BETWEEN",)

    @classmethod
    def check_source_values(cls, props: Mapping[str, Any]) -> list[tuple[str, str]]:
        try:
            _kind(str(props.get("object") or ""))
        except ConnectorError as exc:
            return [("object", exc.message)]
        return []

    @classmethod
    def check_flow_tasks(cls, tasks: list[Any]) -> list[tuple[tuple, str]]:
        """A BETWEEN date range wider than 30 days is refused (AppFlow's rule for Dynatrace)."""
        problems: list[tuple[tuple, str]] = []
        for index, task in enumerate(tasks):
            if not isinstance(task, Mapping) or task.get("taskType") != "Filter":
                continue
            operator = task.get("connectorOperator")
            if not isinstance(operator, Mapping) or "BETWEEN" not in operator.values():
                continue
            bounds = _bounds(task)
            if bounds and bounds[1] - bounds[0] > MAX_SPAN.total_seconds() * 1e6:
                days = (bounds[1] - bounds[0]) / 86_400e6
                problems.append(((index, "taskProperties"),
                                 f"Dynatrace reads a date range of at most 30 days (this one spans "
                                 f"{days:.1f} days); narrow LOWER_BOUND / UPPER_BOUND, or use a scheduled "
                                 "incremental flow"))
        return problems

    def test(self, conn: ConnectionInfo) -> None:
        DynatraceApi(conn).get("/problems", {"pageSize": 1, "from": "now-5m"},
                               what="the problems (connection test)")

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        if parent in (None, ""):
            return [Entity("problems", "Problems"), Entity("events", "Events"),
                    Entity("auditlogs", "Audit logs"),
                    Entity("entities", "Monitored entities (by type)", has_children=True)]
        if parent != "entities":
            raise ConnectorError(f'Dynatrace has nothing under "{parent}"; only entities has children.')
        return [Entity(f"entities/{t}", t.replace("_", " ").title()) for t in ENTITY_TYPES]

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        kind, _ = _kind(entity)
        time_field = _time_field(kind)
        return [EntityField(name, data_type, nullable=not pk, primary_key=pk,
                            timestamp_for_incremental=data_type == "datetime",
                            filter_operators=("PROJECTION", "BETWEEN") if name == time_field
                            else ("PROJECTION",))
                for name, data_type, _, pk in KINDS[kind][3]]

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        kind, argument = _kind(entity)
        label, path, list_key, spec_list = KINDS[kind]
        specs = {s[0]: s for s in spec_list}
        names = fields or list(specs)
        unknown = [n for n in names if n not in specs]
        if unknown:
            raise MissingAtSource(f"Dynatrace {kind} have no field {', '.join(unknown)}. "
                                  f"Fields: {', '.join(specs)}.", entity=entity, fields=unknown)
        time_field = window.field or _time_field(kind)
        if time_field not in specs or specs[time_field][1] != "datetime":
            raise ConnectorError(f'The incremental timestamp field "{time_field}" is not a time field of '
                                 f"Dynatrace {kind}; use {_time_field(kind)}.")
        start, end = _range(filters, window, time_field)
        if time_field != _time_field(kind):
            start = end = None  # only the object's own time field is what Dynatrace's from/to select
        columns = list(dict.fromkeys(names + ([time_field] if not window.is_open else [])))
        schema = pa.schema([(n, ARROW_TYPES[specs[n][1]]) for n in columns])
        api = DynatraceApi(conn)
        number = 0
        for span in _spans(kind, start, end):
            for page in api.pages(path, _params(kind, argument, span), what=f"{label.lower()}"):
                number += 1
                records = page.get(list_key)
                if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                    raise ConnectorError(f"Dynatrace answered page {number} of {entity} without a list of "
                                         f"{list_key}; the run stops and nothing is published.")
                if kind == "metrics":
                    records = _points(records)
                rows = [{n: _coerce(specs[n][2](r), specs[n][1]) for n in columns} for r in records]
                table = pa.Table.from_pylist(rows, schema=schema)
                warnings = []
                if not window.is_open:
                    table, unreadable = in_window(table, Window(window.start, window.end, time_field))
                    if unreadable:
                        warnings.append(unreadable_warning(unreadable, window, entity))
                notes = [f"Dynatrace: {api.calls} API call(s), {api.waited:g} s waited for its rate limit."] \
                    if number == 1 or api.waited else []
                yield SourceBatch(table=table.select(names), bytes_read=size(page), warnings=warnings,
                                  notes=notes)


def _range(filters: list[Mapping[str, Any]], window: Window, time_field: str,
           ) -> tuple[datetime | None, datetime | None]:
    """The window narrowed by a BETWEEN on the time field (its inclusive upper bound + 1 ms)."""
    start, end = window.start, window.end
    for f in filters:
        values = [str(v) for v in f.get("values") or []]
        if f.get("field") == time_field and f.get("operator") == "BETWEEN" and len(values) == 2:
            try:
                low, high = (datetime.fromtimestamp(parse_value(v, "datetime") / 1e6, UTC) for v in values)
            except ValueError as exc:
                raise ConnectorError(f"The date range of the Dynatrace flow: {exc}.") from None
            high += timedelta(milliseconds=1)
            start = low if start is None else max(start, low)
            end = high if end is None else min(end, high)
    return start, end


def _spans(kind: str, start: datetime | None, end: datetime | None,
           ) -> list[tuple[datetime | None, datetime | None]]:
    """30-day windows; entities are selected by when they were seen, any span at once. Without a
    start, the last 30 days up to the end (Dynatrace's own defaults are as short as 2 hours)."""
    if kind == "entities":
        return [(start, end)]
    end = end or datetime.now(UTC)
    start = start or end - MAX_SPAN
    return list(split(start, end)) or [(start, end)]


def _stamp(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _params(kind: str, argument: str, span: tuple[datetime | None, datetime | None]) -> dict[str, Any]:
    start, end = span
    params: dict[str, Any] = {}
    if start is not None:
        params["from"] = _stamp(start)
    if end is not None:
        params["to"] = _stamp(end)
    if kind == "metrics":
        return {"metricSelector": argument, **params}  # Dynatrace picks the resolution
    params["pageSize"] = PAGE_SIZE
    if kind == "entities":
        params["entitySelector"] = f'type("{argument}")'
        params["fields"] = "+tags,+properties,+lastSeenTms,+firstSeenTms"
    return params


def _points(results: list[dict]) -> list[dict]:
    """A record per data point: result[].data[].timestamps / values, paired."""
    points = []
    for result in results:
        for series in result.get("data") or []:
            if not isinstance(series, dict):
                continue
            for when, value in zip(series.get("timestamps") or [], series.get("values") or [], strict=False):
                points.append({"metricId": result.get("metricId"),
                               "dimensionMap": series.get("dimensionMap") or {},
                               "timestamp": when, "value": value})
    return points
