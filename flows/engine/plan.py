"""From a flow's `tasks` (AppFlow CreateFlow shape) to a `Plan`: which fields to read, and the
ordered stages every batch goes through.

Stages run in a fixed order whatever the order of the tasks, as in AppFlow:
project -> filter -> derive (Merge, Arithmetic) -> modify (Truncate, then Mask) -> validate -> map.
Inside derive, a task that reads another's output runs after it; otherwise tasks keep document
order. Filters see the fields as read (they cannot test a derived field).

Field semantics:
- Filter + PROJECTION: fields to read (several projections add up). Sluice also reads every field
  another task uses, so a document without a projection works.
- Map_all: output every field read (and derived), minus EXCLUDE_SOURCE_FIELDS_LIST; Map tasks
  then take over the fields they read (rename, or copy when several Maps read one field).
- Map / Passthrough without Map_all: output exactly the mapped fields, in task order.
- Neither: output the projected fields, then the fields written by derive and modify tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from .errors import PlanError
from .filters import Criterion, apply_filters
from .stages import FieldMap, map_all, map_fields, name_list, require_fields, select_fields
from .taskspec import TASK_TYPES, Tasks, read_tasks
from .transforms import Arithmetic, Mask, Merge, Truncate, apply_all
from .validation import Validation, apply_validations
from .work import Work

STAGE_ORDER = ("project", "filter", "derive", "modify", "validate", "map")
__all__ = ["STAGE_ORDER", "TASK_TYPES", "Plan", "Stage", "compile_plan"]


@dataclass(frozen=True)
class Stage:
    kind: str  # one of STAGE_ORDER
    description: str  # for the execution log, e.g. "rename Name -> account_name"
    run: Callable[[Work], None]


@dataclass(frozen=True)
class Plan:
    """What a run does with its records.

    `source_fields`: the fields to ask the source for, in order (None: every field).
    `output_fields`: the fields written, when known before reading (None with Map_all).
    `filters`: the Filter tasks' criteria (a source may push down those it can).
    `partition_keys`: ORDERED_PARTITION_KEYS_LIST, for destinations that partition.
    `validations`: the Validate tasks (a preview counts what each catches)."""

    source_fields: tuple[str, ...] | None
    output_fields: tuple[str, ...] | None
    stages: tuple[Stage, ...]
    filters: tuple[Criterion, ...] = ()
    partition_keys: tuple[str, ...] = ()
    validations: tuple[Validation, ...] = ()

    def run(self, work: Work) -> None:
        """Run one batch through every stage (failed, filtered, dropped rows are counted in it)."""
        # every stage runs even on an empty batch, so the output keeps its columns and types
        for stage in self.stages:
            stage.run(work)

    def apply(self, batch: pa.Table) -> pa.Table:
        """One batch in, the batch to write out (for tests and scripts)."""
        work = Work.start(batch)
        self.run(work)
        return work.table

    def describe(self) -> str:
        """The plan in words, e.g. "Select 5 fields (Id, Name, ...); rename Name -> account_name"."""
        words = "; ".join(s.description for s in self.stages if s.description) or "Copy every field"
        if self.partition_keys:
            words += f"; partition the output by {', '.join(self.partition_keys)}"
        return words


def compile_plan(tasks: Sequence[Mapping[str, Any]] | None) -> Plan:
    """Build the plan of a flow's `tasks`, or raise PlanError listing every task that cannot run,
    each named by its index (e.g. `tasks[3].taskProperties.TRUNCATE_LENGTH: ...`)."""
    parsed = read_tasks(tasks)
    derive = _derive_order(parsed)
    produced = _produced(parsed)
    for criterion in parsed.filters:
        if criterion.field in produced:
            parsed.problems.append(
                f'tasks[{criterion.task}]: a Filter cannot test "{criterion.field}": tasks['
                f"{produced[criterion.field]}] writes it, and filters run on the fields as read, before "
                "Merge, Arithmetic, Mask and Truncate."
            )
    if parsed.problems:
        raise PlanError("\n".join(parsed.problems))

    used_by = _used_by(parsed)
    reads = tuple(name for name in used_by if name not in produced)
    stages: list[Stage] = []
    source_fields: tuple[str, ...] | None = None
    if parsed.map_all is None:
        source_fields = reads
        inferred = "" if parsed.projection else " used by the tasks"
        if parsed.maps and not parsed.projection and len(reads) == len({m.source for m in parsed.maps}):
            inferred = " read by the Map tasks"
        select = select_fields(source_fields, used_by)
        stages.append(Stage("project", f"Select {_count(source_fields, 'field')}{inferred} "
                                       f"({name_list(source_fields)})", _on_table(select)))
    elif reads:
        # Map_all reads every field; the ones tasks name must still be there
        stages.append(Stage("project", "", _require(reads, used_by)))
    if parsed.filters:
        criteria = tuple(parsed.filters)
        stages.append(Stage("filter", "keep records where " + " and ".join(c.describe() for c in criteria),
                            lambda work: apply_filters(criteria, work)))
    renamed = renamed_by_map(parsed, produced)
    if derive:
        stages.append(Stage("derive", "; ".join(d.describe(renamed.get(d.destination)) for d in derive),
                            lambda work: apply_all(derive, work)))
    modify = _modify_order(parsed.modify)
    if modify:
        stages.append(Stage("modify", "; ".join(m.describe() for m in modify),
                            lambda work: apply_all(modify, work)))
    if parsed.validations:
        validations = tuple(parsed.validations)
        stages.append(Stage("validate", "; ".join(v.describe() for v in validations),
                            lambda work: apply_validations(validations, work)))
    output_fields = _map_stage(parsed, produced, stages, renamed)
    return Plan(source_fields, output_fields, tuple(sorted(stages, key=lambda s: STAGE_ORDER.index(s.kind))),
                tuple(parsed.filters), parsed.partition_keys, tuple(parsed.validations))


def renamed_by_map(parsed: Tasks, produced: dict[str, int]) -> dict[str, str]:
    """Derived fields that one Map renames: AppFlow's Merge writes "Name,BillingCountry" and a Map
    takes it to display_name, so the formula is shown as `display_name = Name + ...`."""
    reads = [m.source for m in parsed.maps]
    return {m.source: m.destination for m in parsed.maps
            if m.source in produced and reads.count(m.source) == 1 and m.to_type in (None, "", "string")}


def _map_stage(parsed: Tasks, produced: dict[str, int], stages: list[Stage],
               renamed: dict[str, str]) -> tuple[str, ...] | None:
    maps = tuple(parsed.maps)
    if parsed.map_all is not None:
        _, excluded = parsed.map_all
        words = "Copy every field" + (f" except {name_list(sorted(excluded))}" if excluded else "")
        stages.append(Stage("map", "; ".join([words, *_map_words(maps, renamed)]), map_all(excluded, maps)))
        return None
    if maps:
        output = tuple(m.destination for m in maps)
        words = [f"write {_count(output, 'field')} in task order", *_map_words(maps, renamed)]
        stages.append(Stage("map", "; ".join(words), map_fields(maps)))
        return output
    output = tuple(dict.fromkeys([*parsed.projection, *produced]))
    if output != tuple(_used_by(parsed)):
        plain = tuple(FieldMap(name, name, -1) for name in output)
        words = f"write {_count(output, 'field')} ({name_list(output)})"
        stages.append(Stage("map", words, map_fields(plain)))
    return output


def _used_by(parsed: Tasks) -> dict[str, list[int]]:
    """Every field a task uses, in the order the tasks name them, with the tasks using it."""
    used: dict[str, list[int]] = {}

    def use(name: str, task: int) -> None:
        used.setdefault(name, []).append(task)

    for name, indexes in parsed.projection.items():
        for i in indexes:
            use(name, i)
    for c in parsed.filters:
        use(c.field, c.task)
    for d in parsed.derive:
        for name in d.fields:
            use(name, d.task)
    for m in parsed.modify:
        use(m.field, m.task)
    for v in parsed.validations:
        use(v.field, v.task)
    for fm in parsed.maps:
        use(fm.source, fm.task)
    return used


def _produced(parsed: Tasks) -> dict[str, int]:
    """Fields that tasks write (derive outputs, modify outputs under a new name) -> the task."""
    produced = {d.destination: d.task for d in parsed.derive}
    for m in parsed.modify:
        if m.destination != m.field:
            produced.setdefault(m.destination, m.task)
    return produced


def _derive_order(parsed: Tasks) -> tuple[Merge | Arithmetic, ...]:
    """Document order, except that a task reading another's output comes after it."""
    remaining = list(parsed.derive)
    ordered: list[Merge | Arithmetic] = []
    while remaining:
        outputs = {d.destination for d in remaining}
        ready = next((d for d in remaining if not (set(d.fields) & (outputs - {d.destination}))), None)
        if ready is None:
            parsed.problems.append(
                "tasks: " + ", ".join(f"tasks[{d.task}]" for d in remaining)
                + " read each other's output in a circle; break the circle."
            )
            return ()
        ordered.append(ready)
        remaining.remove(ready)
    return tuple(ordered)


def _modify_order(modify: Sequence[Truncate | Mask]) -> tuple[Truncate | Mask, ...]:
    # Truncate first, so that MASK_LAST_N hides the end of what is written
    return tuple(sorted(modify, key=lambda m: (isinstance(m, Mask), m.task)))


def _on_table(function: Callable[[pa.Table], pa.Table]) -> Callable[[Work], None]:
    def run(work: Work) -> None:
        work.table = function(work.table)

    return run


def _require(fields: Sequence[str], used_by: Mapping[str, list[int]]) -> Callable[[Work], None]:
    def run(work: Work) -> None:
        require_fields(work.table, fields, used_by)

    return run


def _map_words(maps: Sequence[FieldMap], renamed: Mapping[str, str]) -> list[str]:
    reads = [m.source for m in maps]
    words = []
    for m in maps:
        if renamed.get(m.source) == m.destination:
            continue  # the formula already names its field
        converted = f" as {m.to_type}" if m.to_type else ""
        if m.source != m.destination:
            # a field read by one Map is renamed; read by several, it is copied to each
            verb = "copy" if reads.count(m.source) > 1 else "rename"
            words.append(f"{verb} {m.source} -> {m.destination}{converted}")
        elif converted:
            words.append(f"convert {m.source} to {m.to_type}")
    return words


def _count(items: Sequence[Any], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"
