"""Marketo (source and destination), over its REST API with a client-credentials token.

Leads, activities (one object per activity type) and custom objects are read through the Bulk
Extract API (bulk.py): the run's date range — the incremental window, narrowed by Filter tasks
on createdAt / updatedAt / activityDate (LESS_THAN, GREATER_THAN, BETWEEN, pushed into the
export job's filter) — split into export jobs of at most 31 days. Programs, smart campaigns and
static lists are small and read through their list calls (nextPageToken paging; programs, an
Asset API call, page by offset). Companies and opportunities only through a query on a searchable
field, which a Filter task with EQUAL_TO gives (query.py). Writes: writing.py."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
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
    WriteResult,
)
from connections.connectors.saas import TEXT_TIME_ARROW_TYPES, VALUE_OPERATORS, SaasConnector
from flows.engine.values import parse_value

from . import bulk, catalog, query, writing
from .client import MarketoApi, instance_url

# EQUAL_TO is Sluice's, not AppFlow's: it names the companies / opportunities to look up.
PUSHDOWN_OPERATORS = ("LESS_THAN", "GREATER_THAN", "BETWEEN", "EQUAL_TO")
ALL_OPERATORS = ("PROJECTION", *PUSHDOWN_OPERATORS, *VALUE_OPERATORS)
DEFAULT_EARLIEST = "2006-01-01"  # Marketo was founded in 2006: nothing is older
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CSV_TYPES = {"integer": pa.int64(), "double": pa.float64(), "boolean": pa.bool_()}
# The Bulk Extract filter that decides each object's windows (activities: createdAt filters
# activityDate).
BULK_FILTER_FOR = {"activityDate": "createdAt"}


def _moment(text: str) -> datetime:
    return EPOCH + timedelta(microseconds=parse_value(text, "datetime"))


def _second(when: datetime) -> datetime:
    return when.replace(microsecond=0)


def earliest(conn: ConnectionInfo) -> datetime:
    raw = str(conn.properties.get("earliestDate") or DEFAULT_EARLIEST).strip()
    try:
        return _moment(raw)
    except (ValueError, TypeError):
        raise ConnectorError(f'earliestDate: "{raw[:40]}" is not a date (write it as 2019-01-31).') from None


def date_range(
    conn: ConnectionInfo, filters: list[Mapping[str, Any]], window: Window, field: str, now: datetime
) -> tuple[datetime, datetime]:
    """[start, end) of the records to export on `field`: the window, narrowed by pushed-down
    filters on that field, within [earliestDate, now). A superset of what the engine keeps
    (records have whole seconds, the engine filters again)."""
    start, end = earliest(conn), _second(now) + timedelta(seconds=1)
    if window.start is not None:
        start = max(start, _second(window.start))
    if window.end is not None:
        end = min(
            end, _second(window.end) + (timedelta(seconds=1) if window.end.microsecond else timedelta())
        )
    for flt in filters:
        if flt.get("field") != field or flt.get("dataType") not in (None, "datetime", "date"):
            continue
        try:
            values = [_moment(str(v)) for v in flt.get("values") or []]
        except ValueError:
            continue
        operator = flt.get("operator")
        if operator == "GREATER_THAN" and values:
            start = max(start, _second(min(values)))
        elif operator == "LESS_THAN" and values:
            end = min(end, _second(max(values)) + timedelta(seconds=1))
        elif operator == "BETWEEN" and len(values) == 2:
            start = max(start, _second(min(values)))
            end = min(end, _second(max(values)) + timedelta(seconds=1))
    return start, end


def _text(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


class MarketoConnector(SaasConnector):
    connector_type: ClassVar[str] = "Marketo"
    properties_key: ClassVar[str] = "Marketo"
    display_name: ClassVar[str] = "Marketo"
    description: ClassVar[str] = (
        "Adobe Marketo Engage: leads, activities by type, programs, smart campaigns, static lists, custom "
        "objects, and companies and opportunities looked up by a searchable field; large reads through "
        "the Bulk Extract API. Writes leads and custom objects. Incremental "
        "runs use updatedAt (leads, custom objects) or activityDate (activities)."
    )
    can_be_source: ClassVar[bool] = True
    can_be_destination: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "client_credentials"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField(
            "clientId",
            "string",
            "Client ID",
            secret=True,
            help="Of the LaunchPoint custom service (Admin > Integration > LaunchPoint > View Details). "
            "Stored encrypted.",
        ),
        ConfigField(
            "clientSecret",
            "secret",
            "Client secret",
            secret=True,
            help="Of the same service. Stored encrypted; Sluice never shows it again.",
        ),
        ConfigField(
            "instanceUrl",
            "string",
            "Account/Munchkin ID",
            help='Your Munchkin account id, e.g. "123-ABC-456" (Admin > Integration > Web Services), or '
            "the REST endpoint's address.",
            sends_credentials_to=True,
        ),
        ConfigField(
            "earliestDate",
            "string",
            "Read records since",
            required=False,
            default=DEFAULT_EARLIEST,
            help="How far back a full read of leads, activities and custom objects goes (YYYY-MM-DD). "
            "Marketo exports at most 31 days per job, so a later date means fewer jobs.",
            sends_credentials_to=False,
        ),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    fastest_schedule_minutes: ClassVar[int] = 60  # AppFlow: at most one run an hour
    filter_operators: ClassVar[tuple[str, ...]] = ALL_OPERATORS
    pushdown_operators: ClassVar[tuple[str, ...]] = PUSHDOWN_OPERATORS
    write_operations: ClassVar[tuple[str, ...]] = ("INSERT", "UPDATE", "UPSERT")
    source_options: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def check_source_values(cls, props: Mapping[str, Any]) -> list[tuple[str, str]]:
        entity = props.get("object")
        if not isinstance(entity, str) or not entity.strip():
            return [
                (
                    "object",
                    "is required: leads, activities/<type id>, programs, campaigns, lists, companies, "
                    "opportunities or a custom object <name>_c",
                )
            ]
        try:
            catalog.kind_of(entity)
        except ConnectorError as exc:
            return [("object", exc.message)]
        return []

    @classmethod
    def check_destination_properties(cls, props: Any) -> list[tuple[str, str]]:
        return writing.check_properties(props)

    def api(self, conn: ConnectionInfo) -> MarketoApi:
        return MarketoApi(conn)

    def test(self, conn: ConnectionInfo) -> None:
        instance_url(conn.properties)
        earliest(conn)
        self.api(conn).call("GET", "/rest/v1/leads/describe.json", "the lead fields (describe)")

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        return catalog.entities(self.api(conn))

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        kind = catalog.kind_of(entity)
        return [
            EntityField(
                f.name,
                f.data_type,
                nullable=not f.key,
                primary_key=f.key if kind.query else f.name in ("id", "marketoGUID"),
                filter_operators=self.filter_operators,
                timestamp_for_incremental=f.name in kind.incremental,
                upsert_key=f.key,
            )
            for f in catalog.fields(self.api(conn), entity)
        ]

    def read(
        self,
        conn: ConnectionInfo,
        entity: str,
        fields: list[str] | None,
        filters: list[Mapping[str, Any]],
        window: Window,
        options: Mapping[str, Any],
    ) -> Iterator[SourceBatch]:
        api = self.api(conn)
        kind = catalog.kind_of(entity)
        meta = catalog.describe(api, entity) if kind.query else None
        found = catalog.described_fields(meta) if meta is not None else catalog.fields(api, entity)
        columns = {f.name: f for f in found}
        names = list(fields) if fields else list(columns)
        unknown = [n for n in names if n not in columns]
        if unknown:
            raise MissingAtSource(
                f"The Marketo object {entity} has no field {', '.join(unknown)} (any more).",
                entity=entity,
                fields=unknown,
            )
        schema = pa.schema([(n, TEXT_TIME_ARROW_TYPES[columns[n].data_type]) for n in names])
        if meta is not None:  # checked before any record is read: the run fails with nothing published
            field, values = query.query_filter(entity, catalog.searchable(meta), filters)
            stamp = window.field or "updatedAt"  # _rest keeps the window by it: ask for it too
            asked = names if window.is_open or stamp in names else [*names, stamp]
            pages = query.pages(api, entity, kind.path, field, values, asked)
            yield from self._rest(api, entity, kind, names, columns, schema, window, pages)
        elif kind.bulk:
            yield from self._bulk(api, conn, entity, kind, names, columns, schema, filters, window)
        else:
            yield from self._rest(api, entity, kind, names, columns, schema, window)

    def _bulk(self, api, conn, entity, kind, names, columns, schema, filters, window):
        field = window.field if not window.is_open and window.field else None
        if field is None and not window.is_open:
            field = kind.incremental[-1]  # updatedAt for leads, the only one elsewhere
        if field is None:
            pushed = [f.get("field") for f in filters if f.get("field") in kind.incremental]
            field = pushed[0] if pushed else kind.incremental[0]
        if field not in kind.incremental:
            raise ConnectorError(
                f'The incremental timestamp field "{field}" cannot select Marketo {entity}: use '
                f"{' or '.join(kind.incremental)}."
            )
        start, end = date_range(conn, filters, window, field, datetime.now(UTC))
        export = bulk.Export(
            kind.bulk, entity, {"activityTypeIds": [int(entity[11:])]} if kind.bulk == "activities" else None
        )
        csv_types = {n: CSV_TYPES.get(columns[n].data_type, pa.string()) for n in names}
        filter_name = BULK_FILTER_FOR.get(field, field)
        sent = False
        for a, b in bulk.windows(start, end):
            status = bulk.run_job(api, export, names, filter_name, a, b)
            if not int(status.get("numberOfRecords") or 0) and not int(status.get("fileSize") or 0):
                continue
            span = f"{bulk.marketo_time(a)} to {bulk.marketo_time(b)}"
            for table, size in bulk.read_file(api, export, status, csv_types, span):
                missing = [n for n in names if n not in table.column_names]
                if missing:
                    raise ConnectorError(
                        f"Marketo's export file of {entity} ({span}) has no column {', '.join(missing)}."
                    )
                sent = True
                yield SourceBatch(table=table.select(names).cast(schema), bytes_read=size)
        if not sent:
            yield SourceBatch(table=schema.empty_table())

    def _rest(self, api, entity, kind, names, columns, schema, window, pages=None):
        if pages is None and kind.offset_paging:
            pages = api.offset_pages(kind.path, f"the {entity}", {})
        elif pages is None:
            pages = api.pages(kind.path, f"the {entity}", {"batchSize": 300})
        low = window.start.astimezone(UTC) if window.start else None
        high = window.end.astimezone(UTC) if window.end else None
        field = window.field or "updatedAt"
        for number, rows in enumerate(pages, 1):
            if low or high:  # these calls take no date filter: keep the window here
                kept = []
                for row in rows:
                    try:
                        when = _moment(str(row.get(field)))
                    except ValueError:
                        continue
                    if (low is None or when >= low) and (high is None or when < high):
                        kept.append(row)
                rows = kept
            try:
                table = pa.Table.from_pylist(
                    [{n: _text(r.get(n)) for n in names} for r in rows], schema=schema
                )
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise ConnectorError(
                    f"Marketo sent a malformed page {number} of {entity}: {exc}. Nothing from "
                    "this run was published."
                ) from None
            yield SourceBatch(table=table, bytes_read=len(json.dumps(rows, ensure_ascii=False).encode()))

    def write(
        self, conn: ConnectionInfo, entity: str, batches: Iterable[pa.Table], options: Mapping[str, Any]
    ) -> WriteResult:
        return writing.write(self.api(conn), entity, batches, options)
