"""A preview: the first records of a source through the same plan a run uses, record by record,
with what each filter kept and what each validation caught. It writes nothing.

    result = preview(compile_plan(tasks), source_batches, limit=20)

Differences from a run, on purpose: a check with VALIDATION_ACTION DropDataset does not stop the
preview; the records that would stop a run are shown as "stopped" so the user sees them all.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa

from connections.connectors.base import SourceBatch

from .errors import RunError
from .plan import Plan
from .work import Tally, Work

DEFAULT_LIMIT = 20
MAX_LIMIT = 200


@dataclass
class PreviewRecord:
    position: int  # among the records read, from 1
    source: dict[str, Any]  # the record as read (None when the source could not parse it)
    result: dict[str, Any] | None  # what a run would write, or None when it leaves the record out
    outcome: str  # "written" | "filtered" | "dropped" | "stopped" | "failed"
    reason: str = ""
    task: int = -1  # the Filter or Validate task that left the record out


@dataclass
class FilterCount:
    task: int
    description: str
    reached: int  # records that passed the filters before this one
    kept: int

    @property
    def left_out(self) -> int:
        return self.reached - self.kept


@dataclass
class ValidationCount:
    task: int
    field: str
    description: str
    failed: int
    stops_run: bool


@dataclass
class Preview:
    records: list[PreviewRecord] = field(default_factory=list)
    source_columns: list[str] = field(default_factory=list)
    result_columns: list[str] = field(default_factory=list)
    filters: list[FilterCount] = field(default_factory=list)
    validations: list[ValidationCount] = field(default_factory=list)
    plan: str = ""

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.records if r.outcome == outcome)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values (to store with the draft)."""
        return asdict(self)


def preview(plan: Plan, batches: Iterable[SourceBatch | pa.Table], limit: int = DEFAULT_LIMIT) -> Preview:
    """Run the first `limit` records of `batches` through `plan`. Raises RunError as a run would
    (a field the tasks need is missing, a filter value does not fit the field)."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    table, source_failures = _first_records(batches, limit)
    result = Preview(plan=plan.describe())
    tally = Tally()
    result.source_columns = list(table.column_names)
    work = Work(table, pa.array(range(1, table.num_rows + 1), pa.int64()), tally=tally)
    if table.num_columns:
        plan.run(work)
    written = dict(zip(work.rows.to_pylist(), work.table.to_pylist(), strict=True))
    result.result_columns = list(work.table.column_names)
    for position, record in enumerate(table.to_pylist(), start=1):
        if position in written:
            result.records.append(PreviewRecord(position, _plain(record), _plain(written[position]),
                                                "written"))
        else:
            what, task, reason = tally.outcome.get(position, ("failed", -1, "left out"))
            result.records.append(PreviewRecord(position, _plain(record), None, what, reason, task))
    for where, reason in source_failures:
        result.records.append(PreviewRecord(0, {}, None, "failed", f"{where}: {reason}"))
    for criterion in plan.filters:
        reached, kept = tally.filters.get(criterion.task, [0, 0])
        result.filters.append(FilterCount(criterion.task, criterion.describe(), reached, kept))
    for validation in plan.validations:
        result.validations.append(ValidationCount(
            validation.task, validation.field, validation.describe(),
            tally.validations.get(validation.task, 0), validation.action == "DropDataset"))
    return result


def _first_records(batches: Iterable[SourceBatch | pa.Table], limit: int
                   ) -> tuple[pa.Table, list[tuple[str, str]]]:
    tables: list[pa.Table] = []
    failures: list[tuple[str, str]] = []
    rows = 0
    iterator: Iterator = iter(batches)
    try:
        for batch in iterator:
            table = batch if isinstance(batch, pa.Table) else batch.table
            if isinstance(batch, SourceBatch):
                failures += [(f.where, f.reason) for f in batch.failures][: max(0, limit - len(failures))]
            if table.num_rows or table.num_columns:
                tables.append(table.slice(0, limit - rows))
                rows += tables[-1].num_rows
            if rows >= limit:
                break
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()  # stop the source reading further
    if not tables:
        return pa.table({}), failures
    try:
        return pa.concat_tables(tables, promote_options="permissive"), failures
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise RunError(f"The source's first batches do not share one set of columns: {exc}") from None


def _plain(value: Any) -> Any:
    """JSON-safe: datetimes and dates as ISO 8601, bytes as base64, odd floats and decimals as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
            return value.isoformat().replace("+00:00", "Z")
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Decimal | dt.timedelta):
        return str(value)
    return value
