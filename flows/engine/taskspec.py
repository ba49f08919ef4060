"""Reading a flow's `tasks` (AppFlow CreateFlow shape) into what each task asks for, with a
message naming the task for everything that cannot run. The document validator catches the same
things earlier, with JSON paths; these checks keep the engine safe on its own (a benchmark or a
test runs it without the validator)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .filters import COMPARISONS, Criterion, split_values
from .stages import FieldMap
from .transforms import ARITHMETIC, MASKS, PLACEHOLDER, Arithmetic, Mask, Merge, Truncate
from .validation import ACTIONS, CHECKS, Validation
from .values import TYPES, normalize_type, parse_value

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


@dataclass
class Tasks:
    """The tasks sorted by what they do, each keeping its index for messages."""

    projection: dict[str, list[int]] = field(default_factory=dict)
    maps: list[FieldMap] = field(default_factory=list)
    map_all: tuple[int, frozenset[str]] | None = None
    filters: list[Criterion] = field(default_factory=list)
    derive: list[Merge | Arithmetic] = field(default_factory=list)
    modify: list[Truncate | Mask] = field(default_factory=list)
    validations: list[Validation] = field(default_factory=list)
    partition_keys: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)


def read_tasks(tasks: Sequence[Mapping[str, Any]] | None) -> Tasks:
    if tasks is None:
        tasks = []
    parsed = Tasks()
    if not isinstance(tasks, Sequence) or isinstance(tasks, str | bytes):
        parsed.problems.append("tasks: must be a list of tasks.")
        return parsed
    written: dict[str, int] = {}
    for index, task in enumerate(tasks):
        at = f"tasks[{index}]"
        if not isinstance(task, Mapping):
            parsed.problems.append(f"{at}: must be an object with a taskType.")
            continue
        fields = task.get("sourceFields")
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            parsed.problems.append(f"{at}.sourceFields: must be a list of field names.")
            continue
        properties = task.get("taskProperties") or {}
        if not isinstance(properties, Mapping):
            parsed.problems.append(f"{at}.taskProperties: must be an object of text values.")
            continue
        destination = task.get("destinationField")
        if destination is not None and not isinstance(destination, str):
            parsed.problems.append(f"{at}.destinationField: must be a field name.")
            continue
        kind = task.get("taskType")
        reader = _READERS.get(kind) if isinstance(kind, str) else None
        if reader is None:
            parsed.problems.append(
                f'{at}.taskType: "{kind}" is not a task type; use one of {", ".join(TASK_TYPES)}.'
            )
            continue
        try:
            reader(parsed, index, _Task(at, _operator(task.get("connectorOperator")), fields,
                                        properties, destination or ""), written)
        except _Problem as problem:
            parsed.problems.append(str(problem))
    has_fields = parsed.projection or parsed.maps or parsed.map_all is not None
    if not parsed.problems and not has_fields:
        parsed.problems.append(
            "tasks: the flow selects no fields. Add a Map_all task to copy every field, or Map tasks "
            "(or a Filter PROJECTION task) to choose them."
        )
    return parsed


class _Problem(Exception):
    pass


@dataclass(frozen=True)
class _Task:
    at: str
    operator: str | None
    fields: list[str]
    properties: Mapping[str, Any]
    destination: str

    def prop(self, key: str) -> str | None:
        value = self.properties.get(key)
        return None if value is None or value == "" else str(value)

    def one_field(self, kind: str) -> str:
        names = [f for f in self.fields if f]  # AppFlow writes [""] where no field is meant
        if len(names) != 1:
            raise _Problem(
                f"{self.at}.sourceFields: a {kind} task reads exactly one field, found {len(names)}."
            )
        return names[0]

    def expect(self, kind: str, allowed: Sequence[str | None]) -> str | None:
        if self.operator not in allowed:
            named = ", ".join(a for a in allowed if a)
            if self.operator is None:
                raise _Problem(f"{self.at}.connectorOperator: {kind} needs an operator, one of {named}.")
            raise _Problem(f'{self.at}.connectorOperator: {kind} does not take "{self.operator}"; '
                           f"use one of {named}.")
        return self.operator

    def positive(self, key: str, default: int | None = None) -> int:
        text = self.prop(key)
        if text is None:
            if default is not None:
                return default
            raise _Problem(f"{self.at}.taskProperties.{key}: is required.")
        if not text.isdigit() or int(text) <= 0:
            raise _Problem(f'{self.at}.taskProperties.{key}: must be a positive integer, not "{text}".')
        return int(text)


def _projection_or_filter(parsed: Tasks, index: int, task: _Task, written: dict) -> None:
    if task.operator == "PROJECTION":
        names = [f for f in task.fields if f]
        if not names:
            raise _Problem(f"{task.at}.sourceFields: a PROJECTION task needs the names of the fields "
                           "to read.")
        for name in names:
            parsed.projection.setdefault(name, []).append(index)
        return
    if task.operator is None:
        raise _Problem(f"{task.at}.connectorOperator: a Filter task needs an operator, e.g. PROJECTION.")
    operator = task.expect("a Filter task", ("PROJECTION", *COMPARISONS))
    name = task.one_field("Filter")
    kind = None
    if task.prop("DATA_TYPE") is not None:
        kind = normalize_type(task.prop("DATA_TYPE"))
        if kind is None:
            raise _Problem(f'{task.at}.taskProperties.DATA_TYPE: "{task.prop("DATA_TYPE")}" is not a type '
                           f"Sluice compares; use one of {', '.join(TYPES)}.")
    if operator == "BETWEEN":
        missing = [k for k in ("LOWER_BOUND", "UPPER_BOUND") if task.prop(k) is None]
        if missing:
            raise _Problem(f"{task.at}.taskProperties.{missing[0]}: is required for BETWEEN.")
        values = (task.prop("LOWER_BOUND") or "", task.prop("UPPER_BOUND") or "")
    elif task.prop("VALUES") is not None:
        values = split_values(task.prop("VALUES") or "")
    elif task.prop("VALUE") is not None:
        values = (task.prop("VALUE") or "",)
    else:
        raise _Problem(f"{task.at}.taskProperties.VALUE: is required for a {operator} filter (or VALUES).")
    criterion = Criterion(index, name, str(operator), values, kind)
    if kind is not None and operator != "CONTAINS":
        keys = ("LOWER_BOUND", "UPPER_BOUND") if operator == "BETWEEN" else (
            ("VALUES",) * len(values) if task.prop("VALUES") is not None else ("VALUE",))
        for key, value in zip(keys, values, strict=True):
            try:
                parse_value(value, kind)
            except ValueError as exc:
                raise _Problem(f"{task.at}.taskProperties.{key}: {exc} (DATA_TYPE {kind}).") from None
    parsed.filters.append(criterion)


def _map(parsed: Tasks, index: int, task: _Task, written: dict, kind: str = "Map") -> None:
    task.expect(f"a {kind} task", (None, "NO_OP"))
    source = task.one_field(kind)
    destination = task.destination or source
    if destination in written:
        raise _Problem(f'{task.at}.destinationField: "{destination}" is already written by '
                       f"tasks[{written[destination]}]; each output field comes from one task.")
    written[destination] = index
    # values are converted to DESTINATION_DATA_TYPE; a type Sluice does not know (Salesforce's
    # "picklist", "textarea"...) passes them unchanged
    to_type = normalize_type(task.prop("DESTINATION_DATA_TYPE"))
    parsed.maps.append(FieldMap(source, destination, index, to_type))


def _passthrough(parsed: Tasks, index: int, task: _Task, written: dict) -> None:
    _map(parsed, index, task, written, "Passthrough")


def _map_all(parsed: Tasks, index: int, task: _Task, written: dict) -> None:
    task.expect("a Map_all task", (None, "NO_OP"))
    if parsed.map_all is not None:
        raise _Problem(f"{task.at}: only one Map_all task is allowed (tasks[{parsed.map_all[0]}] is one).")
    try:
        parsed.map_all = (index, frozenset(json_names(task.prop("EXCLUDE_SOURCE_FIELDS_LIST"))))
    except ValueError as exc:
        raise _Problem(f"{task.at}.taskProperties.EXCLUDE_SOURCE_FIELDS_LIST: {exc}") from None


def _merge(parsed: Tasks, index: int, task: _Task, written: dict) -> None:
    task.expect("a Merge task", (None, "NO_OP"))
    fields = [f for f in task.fields if f]
    template = task.prop("CONCAT_FORMAT")
    if not fields:
        raise _Problem(f"{task.at}.sourceFields: a Merge task needs the fields to merge.")
    if template is not None:
        unknown = [n for n in PLACEHOLDER.findall(template) if n not in fields]
        if unknown:
            raise _Problem(f'{task.at}.taskProperties.CONCAT_FORMAT: "{{{unknown[0]}}}" names no field of '
                           f"sourceFields ({', '.join(fields)}).")
    parsed.derive.append(Merge(index, tuple(fields), template, task.destination or ",".join(fields)))


def _arithmetic(parsed: Tasks, index: int, task: _Task, written: dict) -> None:
    operator = task.expect("an Arithmetic task", tuple(ARITHMETIC))
    order = task.prop("MATH_OPERATION_FIELDS_ORDER")
    fields = [f.strip() for f in order.split(",")] if order else [f for f in task.fields if f]
    if len(fields) < 2 or not all(fields):
        raise _Problem(f"{task.at}: an Arithmetic task needs two or more fields "
                       "(sourceFields, or MATH_OPERATION_FIELDS_ORDER like \"a,b\").")
    parsed.derive.append(Arithmetic(index, str(operator), tuple(fields),
                                    task.destination or ",".join(fields)))


def _mask(parsed: Tasks, index: int, task: _Task, written: dict) -> None:
    operator = task.expect("a Mask task", MASKS)
    name = task.one_field("Mask")
    mask = task.prop("MASK_VALUE") or "*"
    if len(mask) != 1:
        raise _Problem(f'{task.at}.taskProperties.MASK_VALUE: must be one character, not "{mask}".')
    length = 0 if operator == "MASK_ALL" else task.positive("MASK_LENGTH")
    parsed.modify.append(Mask(index, name, task.destination or name, str(operator), mask, length))


def _truncate(parsed: Tasks, index: int, task: _Task, written: dict) -> None:
    task.expect("a Truncate task", (None, "NO_OP"))
    name = task.one_field("Truncate")
    parsed.modify.append(Truncate(index, name, task.destination or name, task.positive("TRUNCATE_LENGTH")))


def _validate(parsed: Tasks, index: int, task: _Task, written: dict) -> None:
    check = task.expect("a Validate task", CHECKS)
    name = task.one_field("Validate")
    action = task.prop("VALIDATION_ACTION") or "DropRecord"
    if action not in ACTIONS:
        raise _Problem(f'{task.at}.taskProperties.VALIDATION_ACTION: must be DropRecord or DropDataset, '
                       f'not "{action}".')
    parsed.validations.append(Validation(index, name, str(check), action))


def _partition(parsed: Tasks, index: int, task: _Task, written: dict) -> None:
    text = task.prop("ORDERED_PARTITION_KEYS_LIST")
    try:
        keys = json_names(text) if text and text.lstrip().startswith("[") else (
            [k.strip() for k in text.split(",") if k.strip()] if text else [f for f in task.fields if f])
    except ValueError as exc:
        raise _Problem(f"{task.at}.taskProperties.ORDERED_PARTITION_KEYS_LIST: {exc}") from None
    if not keys:
        raise _Problem(f"{task.at}: a Partition task needs ORDERED_PARTITION_KEYS_LIST or sourceFields.")
    parsed.partition_keys = tuple(dict.fromkeys([*parsed.partition_keys, *keys]))


def json_names(value: Any) -> list[str]:
    """A JSON array of field names given as text (EXCLUDE_SOURCE_FIELDS_LIST); ValueError if not."""
    if value is None or value == "":
        return []
    names = value
    if isinstance(value, str):
        try:
            names = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError('must be a JSON array of field names, like ["Id", "Name"].') from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError('must be a JSON array of field names, like ["Id", "Name"].')
    return names


def _operator(value: Any) -> str | None:
    """The operator of `connectorOperator` ({"Salesforce": "NO_OP"}); its key is the source's."""
    if isinstance(value, Mapping):
        values = [v for v in value.values() if v]
        return str(values[0]) if values else None
    return str(value) if value else None


_READERS = {
    "Filter": _projection_or_filter,
    "Map": _map,
    "Passthrough": _passthrough,
    "Map_all": _map_all,
    "Merge": _merge,
    "Arithmetic": _arithmetic,
    "Mask": _mask,
    "Truncate": _truncate,
    "Validate": _validate,
    "Partition": _partition,
}
