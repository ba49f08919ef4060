"""The tasks list: each task's shape, the per-type rules that are cheap and certain, and the rules
across tasks (some task must select fields; two Map tasks cannot write one destination field)."""

from __future__ import annotations

import json
import re
from typing import Any

from connections.connectors.base import Connector
from flows.engine.transforms import PLACEHOLDER
from flows.engine.values import TYPES, normalize_type, parse_value

from .appflow_model import (
    CONNECTOR_OPERATORS,
    DESTINATION_FIELD_MAX,
    OPERATORS,
    SOURCE_FIELD_MAX,
    TASK_PROPERTY_KEYS,
    TASK_PROPERTY_VALUE_MAX,
    TASK_TYPES,
)
from .checks import check_keys, expect_enum, expect_list, expect_object, expect_string, unknown_value
from .errors import Path, Problems

TASK_KEYS = ("sourceFields", "connectorOperator", "destinationField", "taskType", "taskProperties")

_COMPARISONS = frozenset({
    "LESS_THAN", "GREATER_THAN", "CONTAINS", "LESS_THAN_OR_EQUAL_TO", "GREATER_THAN_OR_EQUAL_TO",
    "EQUAL_TO", "NOT_EQUAL_TO",
})


def _in_model_order(names: set[str] | frozenset[str]) -> tuple[str, ...]:
    return tuple(op for op in OPERATORS if op in names)


# The task types whose behaviour is the operator itself; other types carry NO_OP or nothing.
OPERATORS_BY_TASK_TYPE: dict[str, tuple[str, ...]] = {
    "Filter": _in_model_order(_COMPARISONS | {"PROJECTION", "BETWEEN"}),
    "Arithmetic": _in_model_order({"ADDITION", "MULTIPLICATION", "DIVISION", "SUBTRACTION"}),
    "Mask": _in_model_order({"MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N"}),
    "Validate": _in_model_order({
        "VALIDATE_NON_NULL", "VALIDATE_NON_ZERO", "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC"}),
}
VALIDATION_ACTIONS = ("DropRecord", "DropDataset")  # [UNCONFIRMED] in AWS docs; Sluice's choice
FIELD_SELECTING_TASK_TYPES = ("Map_all", "Map", "Passthrough")
NO_FIELD_SELECTED = (
    "no field is selected: add a Map_all task, Map tasks, or a Filter task with the PROJECTION operator"
)
_POSITIVE_INTEGER = re.compile(r"[0-9]+")


def check_tasks(problems: Problems, path: Path, value: Any, source_key: str | None,
                source: type[Connector] | None = None) -> None:
    """`source`: the source's connector class, when the document names one Sluice has."""
    tasks = expect_list(problems, path, value)
    if tasks is None:
        return
    if not tasks:
        problems.add(path, "must have at least one task")
        return
    for index, task in enumerate(tasks):
        _check_task(problems, (*path, index), task, source_key)
    objects = [task for task in tasks if isinstance(task, dict)]
    if objects and not any(_selects_fields(task) for task in objects):
        problems.add(path, NO_FIELD_SELECTED)
    _check_duplicate_map_destinations(problems, path, tasks)
    _check_across_tasks(problems, path, tasks)
    if source is not None:
        _check_source_can_filter(problems, path, tasks, source)
        for sub_path, message in source.check_flow_tasks(tasks):
            problems.add((*path, *sub_path), message)


def _check_source_can_filter(problems: Problems, path: Path, tasks: list, source: type[Connector]) -> None:
    """A Filter operator the source's connector does not declare is refused before any run (as
    AppFlow refuses one its connector lacks), not discovered by a run. A connector that declares
    no filter_operators leaves every operator to the engine."""
    offered = tuple(source.filter_operators)
    if not offered:
        return
    for index, task in enumerate(tasks):
        if not isinstance(task, dict) or task.get("taskType") != "Filter":
            continue
        name = operator_of(task)
        operator = task.get("connectorOperator")
        if name is None or name not in OPERATORS or name in offered:
            continue  # an unknown operator is reported by _check_connector_operator already
        key = next(iter(operator))
        model_key = next((k for k in CONNECTOR_OPERATORS if k.lower() == str(key).lower()), None)
        if model_key and name not in CONNECTOR_OPERATORS[model_key]:
            continue  # reported already, in AppFlow's words
        fields = task.get("sourceFields")
        on = f" on {', '.join(str(f) for f in fields)}" if isinstance(fields, list) and fields else ""
        who = source.display_name or source.key()
        filters = [op for op in offered if op not in ("NO_OP",) and op in OPERATORS_BY_TASK_TYPE["Filter"]]
        problems.add((*path, index, "connectorOperator", key),
                     f"the Filter task{on} uses {name}, which {who} cannot do; use one of "
                     f"{', '.join(filters)}")


def operator_of(task: dict) -> str | None:
    """The operator of a task's connectorOperator ({"Salesforce": "PROJECTION"} -> "PROJECTION")."""
    operator = task.get("connectorOperator")
    if isinstance(operator, dict) and len(operator) == 1:
        value = next(iter(operator.values()))
        return value if isinstance(value, str) else None
    return None


def _selects_fields(task: dict) -> bool:
    task_type = task.get("taskType")
    return task_type in FIELD_SELECTING_TASK_TYPES or (
        task_type == "Filter" and operator_of(task) == "PROJECTION"
    )


def _check_duplicate_map_destinations(problems: Problems, path: Path, tasks: list) -> None:
    first_index: dict[str, int] = {}
    for index, task in enumerate(tasks):
        if not isinstance(task, dict) or task.get("taskType") not in ("Map", "Passthrough"):
            continue
        field = task.get("destinationField")
        if task.get("taskType") == "Passthrough" and not field:
            sources = task.get("sourceFields")
            field = sources[0] if isinstance(sources, list) and sources else None
        if not isinstance(field, str) or not field:
            continue
        if field in first_index:
            problems.add((*path, index, "destinationField"),
                         f'"{field}" is also the destinationField of tasks[{first_index[field]}]')
        else:
            first_index[field] = index


def _check_across_tasks(problems: Problems, path: Path, tasks: list) -> None:
    """One Map_all; no Filter on a field that a Merge or Arithmetic task writes (filters run on
    the fields as read, before those tasks)."""
    objects = [(i, t) for i, t in enumerate(tasks) if isinstance(t, dict)]
    map_alls = [i for i, t in objects if t.get("taskType") == "Map_all"]
    for i in map_alls[1:]:
        problems.add((*path, i, "taskType"),
                     f"only one Map_all task is allowed (tasks[{map_alls[0]}] is one)")
    written: dict[str, int] = {}
    for i, t in objects:
        if t.get("taskType") in ("Merge", "Arithmetic"):
            fields = t.get("sourceFields") if isinstance(t.get("sourceFields"), list) else []
            properties = t.get("taskProperties")
            order = properties.get("MATH_OPERATION_FIELDS_ORDER") if isinstance(properties, dict) else None
            names = [f for f in fields if isinstance(f, str) and f]
            if t.get("taskType") == "Arithmetic" and isinstance(order, str) and order:
                names = [n.strip() for n in order.split(",")]
            destination = t.get("destinationField")
            named = destination if isinstance(destination, str) and destination else ",".join(names)
            written.setdefault(named, i)
        elif t.get("taskType") in ("Mask", "Truncate"):
            fields = t.get("sourceFields") if isinstance(t.get("sourceFields"), list) else []
            destination = t.get("destinationField")
            if isinstance(destination, str) and destination and destination not in fields:
                written.setdefault(str(destination), i)
    for i, t in objects:
        fields = t.get("sourceFields")
        if t.get("taskType") != "Filter" or operator_of(t) in (None, "PROJECTION"):
            continue
        if not isinstance(fields, list):
            continue
        for field in fields:
            if isinstance(field, str) and field in written:
                problems.add((*path, i, "sourceFields"),
                             f'"{field}" is written by tasks[{written[field]}]; filters test the fields as '
                             "read, before Merge, Arithmetic, Mask and Truncate")


def _check_task(problems: Problems, path: Path, value: Any, source_key: str | None) -> None:
    task = expect_object(problems, path, value)
    if task is None:
        return
    check_keys(problems, path, task, required=("sourceFields", "taskType"), allowed=TASK_KEYS)
    source_fields = None
    if "sourceFields" in task:
        source_fields = _check_source_fields(problems, (*path, "sourceFields"), task["sourceFields"])
    task_type = None
    if "taskType" in task:
        task_type = expect_enum(problems, (*path, "taskType"), task["taskType"], TASK_TYPES)
    operator = None
    if "connectorOperator" in task:
        operator = _check_connector_operator(problems, (*path, "connectorOperator"),
                                             task["connectorOperator"], source_key)
    if "destinationField" in task:
        expect_string(problems, (*path, "destinationField"), task["destinationField"],
                      max_length=DESTINATION_FIELD_MAX)
    if "taskProperties" in task:
        _check_task_properties(problems, (*path, "taskProperties"), task["taskProperties"])
    if task_type is not None:
        _check_task_type_rules(problems, path, task, task_type, operator, source_fields)


def _check_source_fields(problems: Problems, path: Path, value: Any) -> list[str] | None:
    fields = expect_list(problems, path, value)
    if fields is None:
        return None
    ok = True
    for index, field in enumerate(fields):
        ok = expect_string(problems, (*path, index), field, max_length=SOURCE_FIELD_MAX) is not None and ok
    return fields if ok else None


def _check_connector_operator(problems: Problems, path: Path, value: Any,
                              source_key: str | None) -> tuple[str, str] | None:
    """{<source connector key>: <operator>}; returns (key, operator) when both are sound."""
    operator = expect_object(problems, path, value)
    if operator is None:
        return None
    if len(operator) != 1:
        keyed_by = f' ("{source_key}")' if source_key else ""
        problems.add(path, f"must have exactly one key, the source connector{keyed_by} "
                           f"(it has {len(operator)})")
        return None
    key, name = next(iter(operator.items()))
    if source_key and str(key).lower() != source_key.lower():
        problems.add((*path, key), f'must be keyed by the source connector, "{source_key}"')
    model_key = next((k for k in CONNECTOR_OPERATORS if k.lower() == str(key).lower()), None)
    # A key AppFlow does not know gets the union of all operators.
    allowed = CONNECTOR_OPERATORS[model_key] if model_key else OPERATORS
    if expect_string(problems, (*path, key), name) is None:
        return None
    if name not in allowed:
        message = (f"{name} is not available for {model_key} (expected one of {', '.join(allowed)})"
                   if name in OPERATORS else unknown_value(name, allowed))
        problems.add((*path, key), message)
        return None
    return key, name


def _check_task_properties(problems: Problems, path: Path, value: Any) -> None:
    properties = expect_object(problems, path, value)
    if properties is None:
        return
    check_keys(problems, path, properties, required=(), allowed=TASK_PROPERTY_KEYS)
    for key, text in properties.items():
        if key not in TASK_PROPERTY_KEYS:
            continue
        if expect_string(problems, (*path, key), text, max_length=TASK_PROPERTY_VALUE_MAX) is None:
            continue
        if text == "":
            problems.add((*path, key), "must not be empty")
            continue
        problem = _property_problem(key, text)
        if problem:
            problems.add((*path, key), problem)


def _property_problem(key: str, text: str) -> str | None:
    if key in ("TRUNCATE_LENGTH", "MASK_LENGTH"):
        if not _POSITIVE_INTEGER.fullmatch(text) or int(text) == 0:
            return "must be a positive integer"
    elif key == "MASK_VALUE" and len(text) != 1:
        return "must be exactly one character"
    elif key == "VALIDATION_ACTION" and text not in VALIDATION_ACTIONS:
        return unknown_value(text, VALIDATION_ACTIONS)
    elif key == "EXCLUDE_SOURCE_FIELDS_LIST" and not _is_json_list_of_strings(text):
        return 'must be a JSON array of field names, like ["Id", "Name"]'
    return None


def _is_json_list_of_strings(text: str) -> bool:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_task_type_rules(problems: Problems, path: Path, task: dict, task_type: str,
                           operator: tuple[str, str] | None, source_fields: list[str] | None) -> None:
    _check_operator_fits(problems, path, task, task_type, operator)
    name = operator[1] if operator else None
    needs: list[tuple[str, str]] = []  # (property, why) that must be present
    if name == "BETWEEN":
        needs += [("LOWER_BOUND", "for the BETWEEN operator"), ("UPPER_BOUND", "for the BETWEEN operator")]
    if task_type == "Filter" and name in _COMPARISONS and "VALUES" not in _present_properties(task):
        needs.append(("VALUE", f"for {_a(name)} {name} filter (or VALUES)"))
    if task_type == "Truncate":
        needs.append(("TRUNCATE_LENGTH", "for a Truncate task"))
    if name in ("MASK_FIRST_N", "MASK_LAST_N"):
        needs.append(("MASK_LENGTH", f"for {name}"))
    if task_type == "Merge" and source_fields is not None and len(source_fields) < 2:
        needs.append(("CONCAT_FORMAT", "for a Merge task with fewer than two sourceFields"))
    for key, why in needs:
        if key not in _present_properties(task):
            problems.add((*path, "taskProperties", key), f"is required {why}")
    if task_type == "Map":
        _check_map(problems, path, task, source_fields)
    properties = _present_properties(task)
    if task_type == "Filter" and name in _COMPARISONS | {"BETWEEN"}:
        _check_filter_values(problems, path, properties, name)
    one_field = task_type in ("Mask", "Truncate", "Validate", "Passthrough") or (
        task_type == "Filter" and name in _COMPARISONS | {"BETWEEN"})
    if one_field and source_fields is not None and len([f for f in source_fields if f]) != 1:
        problems.add((*path, "sourceFields"), f"{_a(task_type)} {task_type} task works on exactly one field "
                                              f"(it has {len(source_fields)})")
    if (task_type == "Filter" and name == "PROJECTION" and source_fields is not None
            and not any(source_fields)):
        problems.add((*path, "sourceFields"), "a PROJECTION task names the fields to read")
    if task_type == "Merge" and source_fields is not None and not any(source_fields):
        problems.add((*path, "sourceFields"), "a Merge task names the fields to merge")
    if task_type == "Merge" and source_fields is not None:
        _check_concat_format(problems, path, properties, source_fields)
    if task_type == "Partition" and source_fields is not None:
        _check_partition_keys(problems, path, properties, source_fields)
    if task_type == "Arithmetic" and source_fields is not None:
        _check_arithmetic_fields(problems, path, properties, source_fields)


def _check_filter_values(problems: Problems, path: Path, properties: dict, operator: str) -> None:
    """DATA_TYPE is a type Sluice compares with, and the values to compare with are of that type."""
    data_type = properties.get("DATA_TYPE")
    kind = None
    if isinstance(data_type, str) and data_type:
        kind = normalize_type(data_type)
        if kind is None:
            problems.add((*path, "taskProperties", "DATA_TYPE"),
                         f'"{data_type}" is not a type Sluice compares values as '
                         f'(use one of {", ".join(TYPES)})')
            return
    if kind is None or operator == "CONTAINS":
        return  # without DATA_TYPE the field's own type decides, at run time
    keys = ("LOWER_BOUND", "UPPER_BOUND") if operator == "BETWEEN" else ("VALUE", "VALUES")
    for key in keys:
        text = properties.get(key)
        if not isinstance(text, str) or not text:
            continue
        for value in (part.strip() for part in text.split(",")) if key == "VALUES" else (text,):
            try:
                parse_value(value, kind)
            except ValueError as exc:
                problems.add((*path, "taskProperties", key), f"{exc} (DATA_TYPE is {data_type})")
                break


def _check_partition_keys(problems: Problems, path: Path, properties: dict, source_fields: list[str]) -> None:
    keys = properties.get("ORDERED_PARTITION_KEYS_LIST")
    if not isinstance(keys, str) or not keys:
        if not any(source_fields):
            problems.add((*path, "taskProperties", "ORDERED_PARTITION_KEYS_LIST"),
                         "is required for a Partition task without sourceFields")
        return
    if keys.lstrip().startswith("["):
        if not _is_json_list_of_strings(keys) or not json.loads(keys):
            problems.add((*path, "taskProperties", "ORDERED_PARTITION_KEYS_LIST"),
                         'must name the partition keys, as a JSON array like ["Country", "Year"] '
                         'or as "Country,Year"')
    elif not any(k.strip() for k in keys.split(",")):
        problems.add((*path, "taskProperties", "ORDERED_PARTITION_KEYS_LIST"),
                     'must name the partition keys, like "Country,Year"')


def _check_concat_format(problems: Problems, path: Path, properties: dict, source_fields: list[str]) -> None:
    template = properties.get("CONCAT_FORMAT")
    if not isinstance(template, str):
        return
    unknown = [name for name in PLACEHOLDER.findall(template) if name not in source_fields]
    if unknown:
        problems.add((*path, "taskProperties", "CONCAT_FORMAT"),
                     f'"{{{unknown[0]}}}" names no field of sourceFields ({", ".join(source_fields)}); '
                     "write each field as {FieldName}")


def _check_arithmetic_fields(
    problems: Problems, path: Path, properties: dict, source_fields: list[str]
) -> None:
    order = properties.get("MATH_OPERATION_FIELDS_ORDER")
    if isinstance(order, str) and order:
        names = [name.strip() for name in order.split(",")]
        unknown = [name for name in names if name not in source_fields]
        if unknown:
            problems.add((*path, "taskProperties", "MATH_OPERATION_FIELDS_ORDER"),
                         f'"{unknown[0]}" is not one of sourceFields ({", ".join(source_fields)})')
        elif len(names) < 2:
            problems.add((*path, "taskProperties", "MATH_OPERATION_FIELDS_ORDER"),
                         'must name two or more fields, like "a,b"')
    elif len([f for f in source_fields if f]) < 2:
        problems.add((*path, "sourceFields"), "an Arithmetic task needs two or more fields")


def _present_properties(task: dict) -> dict:
    # A property that is present but malformed has its own error; only absence is reported here.
    properties = task.get("taskProperties")
    return properties if isinstance(properties, dict) else {}


def _check_operator_fits(problems: Problems, path: Path, task: dict, task_type: str,
                         operator: tuple[str, str] | None) -> None:
    allowed = OPERATORS_BY_TASK_TYPE.get(task_type)
    if allowed is None:
        # the other types carry NO_OP or nothing: another operator would be silently ignored
        if operator is not None and operator[1] != "NO_OP":
            problems.add((*path, "connectorOperator", operator[0]),
                         f"{operator[1]} does not apply to {_a(task_type)} {task_type} task (use NO_OP)")
        return
    if "connectorOperator" not in task:
        problems.add((*path, "connectorOperator"),
                     f"is required for {_a(task_type)} {task_type} task (one of {', '.join(allowed)})")
    elif operator is not None and operator[1] not in allowed:
        problems.add((*path, "connectorOperator", operator[0]),
                     f"{operator[1]} does not apply to {_a(task_type)} {task_type} task "
                     f"(expected one of {', '.join(allowed)})")


def _a(word: str) -> str:
    return "an" if word[:1] in "AEIOU" else "a"


def _check_map(problems: Problems, path: Path, task: dict, source_fields: list[str] | None) -> None:
    if source_fields is not None and (len(source_fields) != 1 or not source_fields[0]):
        problems.add((*path, "sourceFields"),
                     "a Map task takes exactly one source field "
                     f"(it has {len([f for f in source_fields if f])})")
    destination = task.get("destinationField")
    if destination is None or destination == "":
        problems.add((*path, "destinationField"), "is required for a Map task")
