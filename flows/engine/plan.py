"""From a flow's `tasks` (AppFlow CreateFlow shape) to a `Plan`: which fields to read, and the
ordered stages every batch goes through.

Stages run in a fixed order whatever the order of the tasks, as in AppFlow:
project -> filter -> derive (Merge, Arithmetic) -> modify (Mask, Truncate) -> validate -> map.
This version builds the project and map stages; the other task types fail at plan time with a
message saying so, and slot into their stage when they are added.

Field semantics:
- Filter + PROJECTION: the fields to read (several projections add up).
- Map_all: output every field read, minus EXCLUDE_SOURCE_FIELDS_LIST; Map tasks then take over
  the fields they read (rename, or copy when several Maps read one field).
- Map / Passthrough without Map_all: output exactly the mapped fields, in task order.
- Only a projection: output the projected fields.
- Map without a projection is accepted (AppFlow rejects it): the fields read are the Maps'.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from .errors import PlanError
from .stages import BatchFunction, FieldMap, map_all, map_fields, name_list, select_fields

STAGE_ORDER = ("project", "filter", "derive", "modify", "validate", "map")
TASK_TYPES = (
    "Arithmetic",
    "Filter",
    "Map",
    "Map_all",
    "Mask",
    "Merge",
    "Passthrough",
    "Truncate",
    "Validate",
    "Partition",
)


@dataclass(frozen=True)
class Stage:
    kind: str  # one of STAGE_ORDER
    description: str  # for the execution log, e.g. "rename Name -> account_name"
    apply: BatchFunction


@dataclass(frozen=True)
class Plan:
    """What a run does with its records.

    `source_fields`: the fields to ask the source for, in order (None: every field).
    `output_fields`: the fields written, when known before reading (None with Map_all)."""

    source_fields: tuple[str, ...] | None
    output_fields: tuple[str, ...] | None
    stages: tuple[Stage, ...]

    def apply(self, batch: pa.Table) -> pa.Table:
        """Run one batch through every stage."""
        for stage in self.stages:
            batch = stage.apply(batch)
        return batch

    def describe(self) -> str:
        """The plan in words, e.g. "Select 5 fields (Id, Name, ...); rename Name -> account_name"."""
        return "; ".join(stage.description for stage in self.stages) or "Copy every field"


@dataclass
class _Tasks:
    """The tasks sorted by what they do, with their indexes for error messages."""

    projection: dict[str, list[int]]
    maps: list[FieldMap]
    map_all: tuple[int, frozenset[str]] | None


def compile_plan(tasks: Sequence[Mapping[str, Any]] | None) -> Plan:
    """Build the plan of a flow's `tasks`, or raise PlanError listing every task that cannot run
    (each named by its index, e.g. `tasks[3]: taskType "Arithmetic" is not supported yet ...`)."""
    parsed = _parse(tasks)
    used_by: dict[str, list[int]] = {}
    for name, indexes in parsed.projection.items():
        used_by.setdefault(name, []).extend(indexes)
    for m in parsed.maps:
        used_by.setdefault(m.source, []).append(m.task)
    maps = tuple(parsed.maps)
    stages: list[Stage] = []

    source_fields: tuple[str, ...] | None
    if parsed.projection or (maps and parsed.map_all is None):
        source_fields = tuple(dict.fromkeys([*parsed.projection, *(m.source for m in maps)]))
        inferred = "" if parsed.projection else " read by the Map tasks"
        stages.append(
            Stage(
                "project",
                f"Select {_count(source_fields, 'field')}{inferred} ({name_list(source_fields)})",
                select_fields(source_fields, used_by),
            )
        )
    else:
        source_fields = None

    if parsed.map_all is not None:
        _, excluded = parsed.map_all
        words = "Copy every field" + (f" except {name_list(sorted(excluded))}" if excluded else "")
        stages.append(Stage("map", "; ".join([words, *_map_words(maps)]), map_all(excluded, maps)))
        output_fields = None
    elif maps:
        output_fields = tuple(m.destination for m in maps)
        words = [f"write {_count(output_fields, 'field')} in task order", *_map_words(maps)]
        stages.append(Stage("map", "; ".join(words), map_fields(maps)))
    else:
        output_fields = source_fields
    return Plan(source_fields, output_fields, tuple(sorted(stages, key=lambda s: STAGE_ORDER.index(s.kind))))


def _parse(tasks: Sequence[Mapping[str, Any]] | None) -> _Tasks:
    if tasks is None:
        tasks = []
    if not isinstance(tasks, Sequence) or isinstance(tasks, str | bytes):
        raise PlanError("tasks: must be a list of tasks.")
    problems: list[str] = []
    parsed = _Tasks(projection={}, maps=[], map_all=None)
    written: dict[str, int] = {}
    for index, task in enumerate(tasks):
        at = f"tasks[{index}]"
        if not isinstance(task, Mapping):
            problems.append(f"{at}: must be an object with a taskType.")
            continue
        kind = task.get("taskType")
        operator = _operator(task.get("connectorOperator"))
        fields = task.get("sourceFields")
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            problems.append(f"{at}.sourceFields: must be a list of field names.")
            continue
        properties = task.get("taskProperties") or {}
        if not isinstance(properties, Mapping):
            problems.append(f"{at}.taskProperties: must be an object of text values.")
            continue
        if kind == "Filter" and operator == "PROJECTION":
            names = [f for f in fields if f]
            if not names:
                problems.append(
                    f"{at}.sourceFields: a PROJECTION task needs the names of the fields to read."
                )
            for name in names:
                parsed.projection.setdefault(name, []).append(index)
        elif kind in ("Map", "Passthrough"):
            problem = _map_problem(at, kind, operator, fields, properties)
            if problem:
                problems.append(problem)
                continue
            destination = task.get("destinationField") or fields[0]
            if not isinstance(destination, str):
                problems.append(f"{at}.destinationField: must be a field name.")
                continue
            if destination in written:
                problems.append(
                    f'{at}.destinationField: "{destination}" is already written by '
                    f"tasks[{written[destination]}]; each output field comes from one task."
                )
                continue
            written[destination] = index
            parsed.maps.append(FieldMap(fields[0], destination, index))
        elif kind == "Map_all":
            if operator not in (None, "NO_OP"):
                problems.append(_unsupported(at, f'Map_all with operator "{operator}"'))
            elif parsed.map_all is not None:
                problems.append(
                    f"{at}: only one Map_all task is allowed (tasks[{parsed.map_all[0]}] is one)."
                )
            else:
                try:
                    parsed.map_all = (index, _excluded(properties.get("EXCLUDE_SOURCE_FIELDS_LIST")))
                except ValueError as exc:
                    problems.append(f"{at}.taskProperties.EXCLUDE_SOURCE_FIELDS_LIST: {exc}")
        elif kind == "Filter":
            problems.append(
                _unsupported(at, f'Filter with operator "{operator}"')
                if operator
                else f"{at}.connectorOperator: a Filter task needs an operator, e.g. PROJECTION."
            )
        elif kind in TASK_TYPES:
            problems.append(_unsupported(at, f'taskType "{kind}"'))
        else:
            problems.append(
                f'{at}.taskType: "{kind}" is not a task type; use one of {", ".join(TASK_TYPES)}.'
            )
    if not problems and not parsed.projection and not parsed.maps and parsed.map_all is None:
        problems.append(
            "tasks: the flow selects no fields. Add a Map_all task to copy every field, or Map tasks "
            "(or a Filter PROJECTION task) to choose them."
        )
    if problems:
        raise PlanError("\n".join(problems))
    return parsed


def _operator(value: Any) -> str | None:
    """The operator of `connectorOperator` ({"Salesforce": "NO_OP"}); its key is the source's."""
    if isinstance(value, Mapping):
        values = [v for v in value.values() if v]
        return str(values[0]) if values else None
    return str(value) if value else None


def _map_problem(
    at: str, kind: str, operator: str | None, fields: list[str], properties: Mapping[str, Any]
) -> str | None:
    if operator not in (None, "NO_OP"):
        return _unsupported(at, f'{kind} with operator "{operator}"')
    if len(fields) != 1 or not fields[0]:
        return f"{at}.sourceFields: a {kind} task reads exactly one field, found {len(fields)}."
    source_type = properties.get("SOURCE_DATA_TYPE")
    destination_type = properties.get("DESTINATION_DATA_TYPE")
    if source_type and destination_type and str(source_type).lower() != str(destination_type).lower():
        return _unsupported(at, f'converting "{fields[0]}" from {source_type} to {destination_type}')
    return None


def _excluded(value: Any) -> frozenset[str]:
    if value is None or value == "":
        return frozenset()
    names = value
    if isinstance(value, str):
        try:
            names = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError('must be a JSON array of field names, like ["Id", "Name"].') from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError('must be a JSON array of field names, like ["Id", "Name"].')
    return frozenset(names)


def _unsupported(at: str, what: str) -> str:
    return f"{at}: {what} is not supported yet in this version of Sluice."


def _map_words(maps: Sequence[FieldMap]) -> list[str]:
    reads = [m.source for m in maps]
    # a field read by one Map is renamed; read by several, it is copied to each
    return [
        f"{'copy' if reads.count(m.source) > 1 else 'rename'} {m.source} -> {m.destination}"
        for m in maps
        if m.source != m.destination
    ]


def _count(items: Sequence[Any], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"
