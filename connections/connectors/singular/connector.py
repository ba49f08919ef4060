"""The Singular connector: one object, report (Singular's aggregated statistics), read through the
asynchronous Reporting API, one row per day and combination of the chosen dimensions.

Fields: the dimensions the account can break down by (GET api/v2.0/reporting/filters), its custom
dimensions (GET api/custom_dimensions, named by their id, as the API takes them), Singular's
documented metrics, and start_date / end_date (the day of the row; start_date drives incremental
runs). A run's date range is its incremental window (default: the last 7 full days, Singular's advice
for network data), cut into reports of at most 30 days (AppFlow's limit per range, the run log says
so); more than 100,000 records in a run fails it with what to narrow (AppFlow's limit)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
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
from connections.connectors.saas import TEXT_TIME_ARROW_TYPES, VALUE_OPERATORS, SaasConnector

from . import reports
from .client import SingularApi

ENTITY = "report"
DATE_FIELDS = ("start_date", "end_date")
INCREMENTAL_FIELD = "start_date"
MAX_RECORDS = 100_000  # AppFlow: "The flow cannot return more than 100,000 records."
DEFAULT_DAYS = 7
BATCH_ROWS = 10_000
# Singular's built-in metrics (its Reporting API reference and official Python client's params):
# network (adn_*), attribution (tracker / custom_*), and the rates it computes.
METRICS = (
    "adn_cost", "adn_original_cost", "adn_impressions", "adn_clicks", "adn_installs",
    "adn_estimated_total_conversions", "custom_clicks", "custom_installs", "tracker_clicks",
    "tracker_installs", "ctr", "cvr", "ecpi", "ocvr", "ecpm", "ecpc",
)
DEFAULT_METRICS = ("adn_cost", "custom_installs")  # asked for when the flow chooses no metric


class Catalog:
    """The account's dimensions (built-in and custom) and metrics."""

    def __init__(self, api: SingularApi):
        filters = api.get("api/v2.0/reporting/filters", None, "the list of dimensions (reporting/filters)")
        custom = api.get("api/custom_dimensions", None, "the custom dimensions (custom_dimensions)")
        self.dimensions = [str(d["name"]) for d in filters.get("dimensions") or []
                           if isinstance(d, dict) and d.get("name")]
        self.dimensions += [str(d["id"]) for d in custom.get("custom_dimensions") or []
                            if isinstance(d, dict) and d.get("id") and str(d["id"]) not in self.dimensions]
        extra = [str(m.get("name") if isinstance(m, dict) else m) for m in filters.get("metrics") or []]
        self.metrics = list(dict.fromkeys([*METRICS, *(m for m in extra if m and m != "None")]))

    def types(self) -> dict[str, str]:
        return {**{d: "date" for d in DATE_FIELDS}, **{d: "string" for d in self.dimensions},
                **{m: "double" for m in self.metrics}}


def date_range(window: Window, today: date) -> tuple[date, date, list[str]]:
    """(first day, last day) of the run, both included, and notes for its log."""
    if window.start is None and window.end is None:
        last = today - timedelta(days=1)
        return (last - timedelta(days=DEFAULT_DAYS - 1), last,
                [f"No incremental window: the last {DEFAULT_DAYS} full days were reported."])
    last = (window.end - timedelta(microseconds=1)).astimezone(UTC).date() if window.end else today
    first = window.start.astimezone(UTC).date() if window.start else last - timedelta(days=DEFAULT_DAYS - 1)
    return first, last, []


class SingularConnector(SaasConnector):
    """Singular as a source (AppFlow: source only)."""

    connector_type: ClassVar[str] = "Singular"
    properties_key: ClassVar[str] = "Singular"
    display_name: ClassVar[str] = "Singular"
    description: ClassVar[str] = (
        "Singular: your marketing statistics (cost, impressions, installs ...) by day and by the "
        "dimensions you choose, custom ones included, through the asynchronous Reporting API. "
        "Incremental runs use start_date."
    )
    can_be_source: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "api_key"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("apiKey", "secret", "API key", secret=True,
                    help="Singular: Developer Tools, API Keys (the Reporting API key). Stored encrypted; "
                         "Sluice never shows it again."),
        ConfigField("baseUrl", "url", "API address", required=False,
                    help="Leave empty (https://api.singular.net). Only to reach Singular through another "
                         "address (a proxy, a test server); the SSRF guard applies.",
                    sends_credentials_to=True),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    fastest_schedule_minutes: ClassVar[int] = 60  # AppFlow: at most one run an hour
    filter_operators: ClassVar[tuple[str, ...]] = ("PROJECTION", "EQUAL_TO", *VALUE_OPERATORS)
    pushdown_operators: ClassVar[tuple[str, ...]] = ("EQUAL_TO",)

    @classmethod
    def check_source_values(cls, props: Mapping[str, Any]) -> list[tuple[str, str]]:
        if props.get("object") != ENTITY:
            return [("object", f'must be "{ENTITY}" (Singular\'s Reporting API: statistics by day and '
                               "dimensions)")]
        return []

    def test(self, conn: ConnectionInfo) -> None:
        SingularApi(conn).get("api/v2.0/reporting/filters", None,
                              "the list of dimensions (reporting/filters)")

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        return [Entity(ENTITY, "Report (statistics by day and dimension)")]

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        self._check_entity(entity)
        catalog = Catalog(SingularApi(conn))
        return [EntityField(name, kind, nullable=name not in DATE_FIELDS,
                            filter_operators=self.filter_operators,
                            timestamp_for_incremental=name == INCREMENTAL_FIELD)
                for name, kind in catalog.types().items()]

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        self._check_entity(entity)
        api = SingularApi(conn)
        catalog = Catalog(api)
        types = catalog.types()
        names = list(fields) if fields else list(types)
        unknown = [n for n in names if n not in types]
        if unknown:
            raise MissingAtSource(f"Singular has no dimension or metric {', '.join(unknown)} (any more).",
                                  entity=entity, fields=unknown)
        if window.field not in (None, INCREMENTAL_FIELD):
            raise ConnectorError(f"Singular reports by day: incremental runs use {INCREMENTAL_FIELD}, not "
                                 f"{window.field}.")
        dimensions = [n for n in names if n in catalog.dimensions]
        metrics = [n for n in names if n in catalog.metrics] or list(DEFAULT_METRICS)
        first, last, notes = date_range(window, datetime.now(UTC).date())
        chunks = reports.date_chunks(first, last)
        if len(chunks) > 1:
            notes.append(f"The range {first} to {last} is longer than {reports.MAX_DAYS} days: it was asked "
                         f"as {len(chunks)} reports of at most {reports.MAX_DAYS} days.")
        schema = pa.schema([(n, TEXT_TIME_ARROW_TYPES[types[n]]) for n in names])
        form = {"format": "csv", "time_breakdown": "day", "dimensions": ",".join(dimensions),
                "metrics": ",".join(metrics), "filters": _filters(filters, catalog.dimensions)}
        total = 0
        yielded = False
        for start, end in chunks:
            what = f"the report of {start} to {end}"
            report_id = reports.create(api, {**form, "start_date": start.isoformat(),
                                             "end_date": end.isoformat()}, what)
            with tempfile.TemporaryFile(prefix="sluice-singular-") as result:
                reports.fetch(api, report_id, what, result)
                size = result.seek(0, 2)
                result.seek(0)
                where = f"report {report_id} ({start} to {end})"
                columns = [*DATE_FIELDS, *dimensions, *[m for m in metrics if m in names]]
                batch: list[dict[str, Any]] = []
                for row in reports.rows(result, columns, set(catalog.metrics), where):
                    total += 1
                    if total > MAX_RECORDS:
                        raise ConnectorError(
                            f"Singular returned more than {MAX_RECORDS:,} records for {first} to {last}, "
                            "the most a run takes (AppFlow's limit). Nothing was written: choose fewer "
                            "dimensions, filter with EQUAL_TO, or run more often over shorter ranges.")
                    batch.append(row)
                    if len(batch) >= BATCH_ROWS:
                        yield SourceBatch(pa.Table.from_pylist(batch, schema=schema), bytes_read=size,
                                          warnings=[] if yielded else notes)
                        batch, size, yielded = [], 0, True
                if batch:
                    yield SourceBatch(pa.Table.from_pylist(batch, schema=schema), bytes_read=size,
                                      warnings=[] if yielded else notes)
                    yielded = True
        if not yielded:
            yield SourceBatch(schema.empty_table(), warnings=notes)

    @staticmethod
    def _check_entity(entity: str) -> None:
        if entity != ENTITY:
            raise MissingAtSource(f'Singular has no object "{entity}": its Reporting API reads "{ENTITY}".',
                                  entity=entity)


def _filters(filters: list[Mapping[str, Any]], dimensions: list[str]) -> str:
    """EQUAL_TO filters on dimensions as Singular's filters parameter: [{"dimension", "operator":
    "in", "values"}] (the engine applies them again)."""
    pushed = [{"dimension": f["field"], "operator": "in", "values": list(f.get("values") or [])}
              for f in filters
              if f.get("operator") == "EQUAL_TO" and f.get("field") in dimensions and f.get("values")
              and f.get("dataType") in (None, "string")]
    return json.dumps(pushed, ensure_ascii=False) if pushed else ""
