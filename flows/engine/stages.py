"""Stages: small functions from one batch (a `pyarrow.Table`) to the next.

`compile_plan` builds them once from the flow's tasks; the run applies them to every batch in
order. A stage never looks at other batches, so memory stays that of one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .errors import MissingFields, RunError
from .values import convert, describe_type, show
from .work import Work

Batch = pa.Table
BatchFunction = Callable[[Batch], Batch]


@dataclass(frozen=True)
class FieldMap:
    """A Map or Passthrough task: the source field, the output field, the task's index, and the
    type to convert values to (None: keep them as they are)."""

    source: str
    destination: str
    task: int
    to_type: str | None = None


def select_fields(fields: tuple[str, ...], used_by: Mapping[str, list[int]]) -> BatchFunction:
    """Keep exactly `fields`, in that order; a missing field fails the run."""
    names = list(fields)

    def select(batch: Batch) -> Batch:
        if batch.column_names != names:
            require_fields(batch, names, used_by)
            batch = batch.select(names)
        return batch

    return select


def map_fields(maps: tuple[FieldMap, ...]) -> Callable[[Work], None]:
    """Output exactly the mapped fields, in task order (one source may feed several outputs)."""
    sources = [m.source for m in maps]
    used_by = _used_by(maps)

    def apply_maps(work: Work) -> None:
        require_fields(work.table, sources, used_by)
        columns = _converted(work, [(m, work.table.column(m.source)) for m in maps])
        work.table = pa.Table.from_arrays(columns, names=[m.destination for m in maps])

    return apply_maps


def map_all(excluded: frozenset[str], maps: tuple[FieldMap, ...]) -> Callable[[Work], None]:
    """Copy every field except `excluded` under its own name; a field that Map tasks read is
    written under their destination names instead, at its place (an explicit Map wins over the
    exclusion list)."""
    by_source: dict[str, list[FieldMap]] = {}
    for m in maps:
        by_source.setdefault(m.source, []).append(m)
    used_by = _used_by(maps)

    def apply_map_all(work: Work) -> None:
        batch = work.table
        require_fields(batch, list(by_source), used_by)
        outputs: list[tuple[FieldMap, pa.ChunkedArray]] = []
        written_by: dict[str, int | None] = {}  # output name -> task index (None: copied by Map_all)
        for name in batch.column_names:
            if name in by_source:
                targets = by_source[name]
            elif name in excluded:
                continue
            else:
                targets = [FieldMap(name, name, -1)]
            for m in targets:
                task = None if m.task < 0 else m.task
                if m.destination in written_by:
                    raise RunError(_collision(m.destination, task, written_by[m.destination]))
                written_by[m.destination] = task
                outputs.append((m, batch.column(name)))
        columns = _converted(work, outputs)
        if not columns:  # every field excluded: records without fields, still counted as records
            work.table = work.table.select([])
            return
        work.table = pa.Table.from_arrays(columns, names=[m.destination for m, _ in outputs])

    return apply_map_all


def _converted(work: Work, outputs: list[tuple[FieldMap, pa.ChunkedArray]]) -> list:
    """The output columns, converted where a Map says so; records with a value that does not
    convert fail (and leave every column)."""
    columns: list = []
    bad: pa.Array | None = None
    reasons: list[tuple[pa.Array, FieldMap, pa.ChunkedArray]] = []
    for m, column in outputs:
        if m.to_type is None:
            columns.append(column)
            continue
        converted = convert(column, m.to_type)
        columns.append(converted.values)
        if converted.bad is not None:
            bad = converted.bad if bad is None else pc.or_(bad, converted.bad)
            reasons.append((converted.bad, m, column))
    if bad is None:
        return columns

    def reason(i: int) -> str:
        for mask, m, column in reasons:
            if mask[i].as_py():
                return (f"{m.source} = {show(column[i])} is not {describe_type(m.to_type or 'string')} "
                        f"(mapped to {m.destination} as {m.to_type})")
        return "bad value"

    work.fail(bad, reason)
    keep = pc.invert(bad)
    return [c.filter(keep) for c in columns]


def require_fields(batch: Batch, fields: Iterable[str], used_by: Mapping[str, list[int]]) -> None:
    """Fail the run, naming the fields, the tasks that use them and what is there, when `batch`
    lacks any of `fields`."""
    present = set(batch.column_names)
    missing = [f for f in dict.fromkeys(fields) if f not in present]
    if not missing:
        return
    tasks = sorted({i for f in missing for i in used_by.get(f, [])})
    where = f" (used by {', '.join(f'tasks[{i}]' for i in tasks)})" if tasks else ""
    noun = "Field" if len(missing) == 1 else "Fields"
    verb = "is" if len(missing) == 1 else "are"
    quoted = ", ".join(f'"{f}"' for f in missing)
    raise MissingFields(
        f"{noun} {quoted}{where} {verb} not in the source data. Available fields: "
        f"{name_list(batch.column_names, limit=50) or '(none)'}.",
        missing,
    )


def name_list(names: Iterable[str], *, limit: int = 10) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def _used_by(maps: Iterable[FieldMap]) -> dict[str, list[int]]:
    used: dict[str, list[int]] = {}
    for m in maps:
        used.setdefault(m.source, []).append(m.task)
    return used


def _collision(destination: str, task: int | None, earlier: int | None) -> str:
    if task is None or earlier is None:
        mapped = task if task is not None else earlier
        return (
            f'tasks[{mapped}]: destinationField "{destination}" is also a source field that Map_all '
            f'copies. Add "{destination}" to EXCLUDE_SOURCE_FIELDS_LIST of the Map_all task, or map '
            "to another name."
        )
    return f'tasks[{task}]: destinationField "{destination}" is already written by tasks[{earlier}].'
