"""A flow document's tasks read back into the wizard's choices (flows.wizard.mapping), for editing
a flow or resuming a draft: the inverse of `build_tasks`. What the wizard has no control for is
kept as it is in `other_tasks`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from flows.engine.values import normalize_type

from .mapping import (
    ARITHMETIC,
    CHECKS,
    CONDITIONS,
    MODIFICATIONS,
    FieldChoices,
    FieldMapping,
    FilterRule,
    Formula,
    Modification,
    ValidationRule,
)


def read_tasks(tasks: Sequence[Mapping[str, Any]] | None,
               source_fields: Mapping[str, str] | None = None) -> FieldChoices:
    """The choices a document's tasks stand for. Map_all becomes one mapping per source field when
    `source_fields` is known; what the wizard cannot show is kept in `other_tasks`."""
    choices = FieldChoices()
    tasks = [t for t in (tasks or []) if isinstance(t, Mapping)]
    derived: dict[str, Formula] = {}
    for task in tasks:
        if task.get("taskType") in ("Merge", "Arithmetic"):
            formula = _formula(task)
            if formula is not None:
                derived[task.get("destinationField") or ",".join(formula.fields)] = formula
                continue
    formulas_mapped: set[str] = set()
    map_all = None
    for task in tasks:
        kind, operator = task.get("taskType"), _operator(task)
        fields = [f for f in (task.get("sourceFields") or []) if isinstance(f, str) and f]
        props = task.get("taskProperties") if isinstance(task.get("taskProperties"), Mapping) else {}
        if kind == "Filter" and operator == "PROJECTION":
            continue
        if kind == "Filter" and len(fields) == 1:
            rule = _filter_rule(fields[0], operator, props)
            if rule is not None:
                choices.filters.append(rule)
                continue
        elif kind == "Map" and len(fields) == 1 and fields[0] in derived and fields[0] not in formulas_mapped:
            formula = derived[fields[0]]
            formula.destination = str(task.get("destinationField") or fields[0])
            formulas_mapped.add(fields[0])
            choices.formulas.append(formula)
            continue
        elif kind == "Map" and len(fields) == 1 and task.get("destinationField"):
            known_type = (source_fields or {}).get(fields[0])
            source_type = str(props.get("SOURCE_DATA_TYPE") or known_type or "string")
            to_type = str(props.get("DESTINATION_DATA_TYPE") or "")
            choices.maps.append(FieldMapping(fields[0], str(task["destinationField"]), source_type,
                                             "" if to_type == source_type else to_type))
            continue
        elif kind in ("Merge", "Arithmetic") and (task.get("destinationField") or ",".join(fields)) in \
                derived:
            continue
        elif kind == "Mask" and len(fields) == 1 and operator in MODIFICATIONS.values():
            action = next(k for k, v in MODIFICATIONS.items() if v == operator)
            length = _int(props.get("MASK_LENGTH"))
            if action == "mask_all" or length:
                choices.modifications.append(Modification(fields[0], action, length or 0,
                                                          str(props.get("MASK_VALUE") or "*")))
                continue
        elif kind == "Truncate" and len(fields) == 1 and _int(props.get("TRUNCATE_LENGTH")):
            length = _int(props["TRUNCATE_LENGTH"]) or 0
            choices.modifications.append(Modification(fields[0], "truncate", length))
            continue
        elif kind == "Validate" and len(fields) == 1 and operator in CHECKS.values():
            action = "stop" if props.get("VALIDATION_ACTION") == "DropDataset" else "drop"
            condition = next(k for k, v in CHECKS.items() if v == operator)
            choices.validations.append(ValidationRule(fields[0], condition, action))
            continue
        elif kind == "Map_all" and source_fields is not None and map_all is None:
            map_all = task
            continue
        choices.other_tasks.append(json.loads(json.dumps(task)))
    # a formula without a Map writes its own field
    for name, formula in derived.items():
        if name not in formulas_mapped:
            formula.destination = name
            choices.formulas.append(formula)
    if map_all is not None:
        _expand_map_all(choices, map_all, source_fields or {})
    return choices


def _expand_map_all(choices: FieldChoices, task: Mapping[str, Any], source_fields: Mapping[str, str]) -> None:
    props = task.get("taskProperties") if isinstance(task.get("taskProperties"), Mapping) else {}
    try:
        excluded = set(json.loads(props.get("EXCLUDE_SOURCE_FIELDS_LIST") or "[]"))
    except (ValueError, TypeError):
        excluded = set()
    renamed = {m.source for m in choices.maps}
    taken = set(choices.destinations())
    # Map_all copies every field not renamed by a Map task, in the source's order, first
    extra = [FieldMapping(name, name, kind) for name, kind in source_fields.items()
             if name not in excluded and name not in renamed and name not in taken]
    choices.maps[:0] = extra


def _formula(task: Mapping[str, Any]) -> Formula | None:
    fields = [f for f in (task.get("sourceFields") or []) if isinstance(f, str) and f]
    props = task.get("taskProperties") if isinstance(task.get("taskProperties"), Mapping) else {}
    if task.get("taskType") == "Arithmetic":
        symbol = next((s for s, o in ARITHMETIC.items() if o == _operator(task)), None)
        order = props.get("MATH_OPERATION_FIELDS_ORDER")
        names = [n.strip() for n in order.split(",")] if isinstance(order, str) and order else fields
        if symbol is None or len(names) < 2:
            return None
        return Formula("arithmetic", names, "", operator=symbol)
    template = props.get("CONCAT_FORMAT")
    if template is None:
        return Formula("concat", fields, "") if len(fields) >= 2 else None
    separator = _separator(str(template), fields)
    return None if separator is None else Formula("concat", fields, "", separator=separator)


def _separator(template: str, fields: Sequence[str]) -> str | None:
    """The separator of a CONCAT_FORMAT the wizard would write ({a}-{b}-{c}), or None."""
    if len(fields) < 2 or not template.startswith("{" + fields[0] + "}"):
        return None
    rest = template[len(fields[0]) + 2:]
    second = "{" + fields[1] + "}"
    if second not in rest:
        return None
    separator = rest[: rest.index(second)]
    return separator if separator.join("{" + n + "}" for n in fields) == template else None


def _filter_rule(name: str, operator: str | None, props: Mapping[str, Any]) -> FilterRule | None:
    data_type = normalize_type(props.get("DATA_TYPE")) or "string"
    if operator == "BETWEEN":
        low, high = props.get("LOWER_BOUND"), props.get("UPPER_BOUND")
        return FilterRule(name, "between", [str(low), str(high)], data_type) if low and high else None
    condition = next((c for c, (o, _) in CONDITIONS.items() if o == operator), None)
    if condition is None:
        return None
    if props.get("VALUES"):
        values = [v.strip() for v in str(props["VALUES"]).split(",")]
    elif props.get("VALUE"):
        values = [str(props["VALUE"])]
    else:
        return None
    if condition == "equals" and len(values) > 1:
        condition = "one_of"
    return FilterRule(name, condition, values, data_type)


def _operator(task: Mapping[str, Any]) -> str | None:
    value = task.get("connectorOperator")
    if isinstance(value, Mapping) and value:
        found = next(iter(value.values()))
        return found if isinstance(found, str) else None
    return None


def _int(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and int(text) > 0 else None
