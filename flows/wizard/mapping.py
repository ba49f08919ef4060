"""Steps 3 and 4 of the wizard as plain values, and the AppFlow tasks they stand for, both ways.

`FieldChoices` holds what the user chose: field mappings, formulas, value changes, validations and
filters. `build_tasks` turns it into the `tasks` of the flow document (AppFlow's shapes, the ones
the engine runs: a Filter PROJECTION first, then Map / Merge / Arithmetic / Mask / Truncate /
Validate / Filter tasks); `mapping_read.read_tasks` reads a document's tasks back into choices,
for editing a flow or resuming a draft. Tasks the wizard has no control for (Partition,
Passthrough, Map_all when the fields are unknown...) are kept as they are in `other_tasks` and
written back unchanged.

A filter is AppFlow's: one field, one condition, up to 10 criteria. Criteria within a filter are
ORed (one Filter task whose VALUES lists them; for "not equals" a record must differ from all of
them); filters are ANDed (one Filter task each), applied in order. No Django here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from flows.document.appflow_model import CONNECTOR_OPERATORS
from flows.engine import words
from flows.engine.values import TYPES, normalize_type, parse_value

from .mapping_csv import destination_name_problem

MAX_FILTERS = 10
MAX_CRITERIA = 10
ARITHMETIC = {"+": "ADDITION", "-": "SUBTRACTION", "*": "MULTIPLICATION", "/": "DIVISION"}
MODIFICATIONS = {"mask_all": "MASK_ALL", "mask_first": "MASK_FIRST_N", "mask_last": "MASK_LAST_N",
                 "truncate": "TRUNCATE"}
CHECKS = {"null": "VALIDATE_NON_NULL", "zero": "VALIDATE_NON_ZERO", "negative": "VALIDATE_NON_NEGATIVE",
          "not_numeric": "VALIDATE_NUMERIC"}
# the words come from the one table the flow page, run logs and run errors use too
CHECK_WORDS = {key: words.CHECK_WORDS[operator] for key, operator in CHECKS.items()}
ACTIONS = {"drop": "DropRecord", "stop": "DropDataset"}
_OPERATORS = {"equals": "EQUAL_TO", "not_equals": "NOT_EQUAL_TO", "contains": "CONTAINS",
              "greater": "GREATER_THAN", "greater_or_equal": "GREATER_THAN_OR_EQUAL_TO", "less": "LESS_THAN",
              "less_or_equal": "LESS_THAN_OR_EQUAL_TO", "between": "BETWEEN"}
# condition -> (operator, words); "one_of" is EQUAL_TO with several criteria
CONDITIONS = {key: (operator, words.FILTER_WORDS[operator]) for key, operator in _OPERATORS.items()}
CONDITIONS["one_of"] = ("EQUAL_TO", words.ONE_OF)
_ORDERED = ("greater", "greater_or_equal", "less", "less_or_equal", "between")
CONDITIONS_BY_TYPE = {
    "string": ("equals", "not_equals", "contains", "one_of"),
    "boolean": ("equals",),
    **{t: ("equals", "not_equals", *_ORDERED, "one_of") for t in ("integer", "double", "date", "datetime")},
}


@dataclass
class FieldMapping:
    source: str
    destination: str
    source_type: str = "string"
    destination_type: str = ""  # "" : as the source


@dataclass
class Formula:
    kind: str  # "concat" | "arithmetic"
    fields: list[str]
    destination: str
    separator: str = ""  # concat
    operator: str = "+"  # arithmetic: + - * /


@dataclass
class Modification:
    field: str
    action: str  # a key of MODIFICATIONS
    length: int = 0  # mask_first / mask_last / truncate
    mask: str = "*"


@dataclass
class ValidationRule:
    field: str
    condition: str  # a key of CHECKS
    action: str = "drop"  # a key of ACTIONS


@dataclass
class FilterRule:
    field: str
    condition: str  # a key of CONDITIONS
    values: list[str]  # the criteria; two bounds for "between"
    data_type: str = "string"


@dataclass
class FieldChoices:
    maps: list[FieldMapping] = field(default_factory=list)
    formulas: list[Formula] = field(default_factory=list)
    modifications: list[Modification] = field(default_factory=list)
    validations: list[ValidationRule] = field(default_factory=list)
    filters: list[FilterRule] = field(default_factory=list)
    other_tasks: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> FieldChoices:
        data = data or {}
        return cls(
            maps=[FieldMapping(**m) for m in data.get("maps", [])],
            formulas=[Formula(**f) for f in data.get("formulas", [])],
            modifications=[Modification(**m) for m in data.get("modifications", [])],
            validations=[ValidationRule(**v) for v in data.get("validations", [])],
            filters=[FilterRule(**f) for f in data.get("filters", [])],
            other_tasks=list(data.get("other_tasks", [])),
        )

    def pairs(self) -> list[tuple[str, str]]:
        return [(m.source, m.destination) for m in self.maps]

    def destinations(self) -> list[str]:
        return [m.destination for m in self.maps] + [f.destination for f in self.formulas]


# -- problems ------------------------------------------------------------------------------------


def choice_problems(choices: FieldChoices, source_fields: Mapping[str, str]) -> list[tuple[str, str]]:
    """What is wrong with the choices, as (where, message) pairs a page shows next to the control:
    where is e.g. "maps", "formulas.1", "filters.0.values"."""
    problems: list[tuple[str, str]] = []
    known = set(source_fields)
    seen: dict[str, str] = {}
    for i, m in enumerate(choices.maps):
        if m.source not in known:
            problems.append((f"maps.{i}", f'the source object has no field "{m.source}".'))
        _destination(problems, f"maps.{i}", m.destination, seen, m.source)
        if m.destination_type and normalize_type(m.destination_type) is None:
            problems.append((f"maps.{i}", f'"{m.destination_type}" is not a type; use one of '
                                          f'{", ".join(TYPES)}.'))
    for i, f in enumerate(choices.formulas):
        where = f"formulas.{i}"
        if len(f.fields) < 2:
            problems.append((where, "a formula needs two or more fields."))
        unknown = [n for n in f.fields if n not in known]
        if unknown:
            problems.append((where, f'the source object has no field "{unknown[0]}".'))
        if f.kind == "arithmetic":
            if f.operator not in ARITHMETIC:
                problems.append((where, "choose +, -, * or /."))
            text = [n for n in f.fields if n in known and normalize_type(source_fields[n]) not in
                    ("integer", "double", "string")]
            if text:
                problems.append((where, f"{text[0]} is {source_fields[text[0]]}; arithmetic works on "
                                        "numbers."))
        elif f.kind != "concat":
            problems.append((where, "a formula concatenates fields or does arithmetic."))
        elif "{" in f.separator or "}" in f.separator:
            problems.append((where, "the separator cannot hold { or }."))
        _destination(problems, where, f.destination, seen, "the formula")
    for i, m in enumerate(choices.modifications):
        where = f"modifications.{i}"
        if m.field not in known:
            problems.append((where, f'the source object has no field "{m.field}".'))
        if m.action not in MODIFICATIONS:
            problems.append((where, "choose mask all, mask the first N, mask the last N, or truncate."))
        elif m.action != "mask_all" and (not isinstance(m.length, int) or m.length <= 0):
            problems.append((where, "N must be a whole number of characters, 1 or more."))
        if m.action.startswith("mask") and len(m.mask) != 1:
            problems.append((where, "the mask character must be exactly one character."))
    for i, v in enumerate(choices.validations):
        where = f"validations.{i}"
        if v.field not in known:
            problems.append((where, f'the source object has no field "{v.field}".'))
        if v.condition not in CHECKS:
            problems.append((where, "choose a condition: null, zero, negative or not numeric."))
        if v.action not in ACTIONS:
            problems.append((where, "choose an action: drop the record, or stop the run."))
    problems += filter_problems(choices.filters, source_fields)
    return problems


def filter_problems(filters: Sequence[FilterRule], source_fields: Mapping[str, str],
                    allowed: Mapping[str, Sequence[str]] | None = None) -> list[tuple[str, str]]:
    """`allowed`: field -> conditions the source offers for it (None: by type only)."""
    problems: list[tuple[str, str]] = []
    if len(filters) > MAX_FILTERS:
        problems.append(("filters", f"at most {MAX_FILTERS} filters; remove {len(filters) - MAX_FILTERS}."))
    for i, f in enumerate(filters):
        where = f"filters.{i}"
        if f.field not in source_fields:
            problems.append((where, f'the source object has no field "{f.field}".'))
            continue
        offered = conditions_for(f.data_type, (allowed or {}).get(f.field))
        if f.condition not in offered:
            names = ", ".join(CONDITIONS[c][1] for c in offered) or "none"
            problems.append((f"{where}.condition", f'{f.field} cannot be filtered with "'
                             f'{CONDITIONS.get(f.condition, ("", f.condition))[1]}" (offered: {names}).'))
            continue
        values = [v.strip() for v in f.values]
        if any(not v for v in values) or not values:
            problems.append((f"{where}.values", f"fill in every value of the filter on {f.field}, or "
                                                "remove it."))
            continue
        if f.condition == "between":
            if len(values) != 2:
                problems.append((f"{where}.values", "between takes a lower and an upper bound."))
                continue
        elif len(values) > MAX_CRITERIA:
            problems.append((f"{where}.values", f"at most {MAX_CRITERIA} criteria per filter."))
        elif len(values) > 1 and f.condition not in ("equals", "not_equals", "contains", "one_of"):
            problems.append((f"{where}.values", f'"{CONDITIONS[f.condition][1]}" takes one value.'))
        if len(values) > 1 and any("," in v for v in values):
            problems.append((f"{where}.values", "with several criteria no value may hold a comma "
                                                "(AppFlow joins them with commas)."))
        if f.condition != "contains":
            for v in values:
                try:
                    parse_value(v, f.data_type)
                except ValueError as exc:
                    problems.append((f"{where}.values", f"{exc}; {f.field} is compared as {f.data_type}."))
                    break
    return problems


def conditions_for(data_type: str, source_operators: Sequence[str] | None = None) -> tuple[str, ...]:
    """The conditions offered for a field of `data_type`, limited to the operators the source
    supports for it when it says (EntityField.filter_operators / the connector's)."""
    kind = normalize_type(data_type) or "string"
    offered = CONDITIONS_BY_TYPE[kind]
    if source_operators:
        ops = set(source_operators)
        offered = tuple(c for c in offered if CONDITIONS[c][0] in ops)
    return offered


def _destination(problems: list, where: str, name: str, seen: dict[str, str], what: str) -> None:
    if not name.strip():
        problems.append((where, f"choose a destination field for {what}."))
        return
    problem = destination_name_problem(name)
    if problem:
        problems.append((where, problem))
    elif name in seen:
        problems.append((where, f'"{name}" is already the destination of {seen[name]}; each destination '
                                "field takes one value."))
    else:
        seen[name] = what


# -- choices -> tasks ------------------------------------------------------------------------------


def build_tasks(choices: FieldChoices, operator_key: str) -> list[dict]:
    """The document's `tasks` for `choices`. `operator_key` keys connectorOperator: the source
    connector's properties key ("CustomConnector", "Salesforce"...)."""

    def op(name: str) -> dict:
        return {operator_key: name}

    tasks: list[dict] = []
    used = _fields_used(choices)
    if used:
        tasks.append({"sourceFields": used, "connectorOperator": op("PROJECTION"), "taskType": "Filter"})
    for f in choices.filters:
        tasks.append(_filter_task(f, op))
    for m in choices.maps:
        props = {"SOURCE_DATA_TYPE": m.source_type or "string",
                 "DESTINATION_DATA_TYPE": m.destination_type or m.source_type or "string"}
        tasks.append({"sourceFields": [m.source], "connectorOperator": op("NO_OP"),
                      "destinationField": m.destination, "taskType": "Map", "taskProperties": props})
    temporaries = _formula_outputs(choices)
    for f, temporary in zip(choices.formulas, temporaries, strict=True):
        if f.kind == "concat":
            template = f.separator.join("{" + n + "}" for n in f.fields)
            tasks.append({"sourceFields": list(f.fields), "connectorOperator": op("NO_OP"),
                          "destinationField": temporary, "taskType": "Merge",
                          "taskProperties": {"CONCAT_FORMAT": template}})
        else:
            tasks.append({"sourceFields": list(f.fields), "connectorOperator": op(ARITHMETIC[f.operator]),
                          "destinationField": temporary, "taskType": "Arithmetic",
                          "taskProperties": {"MATH_OPERATION_FIELDS_ORDER": ",".join(f.fields)}})
        result_type = "string" if f.kind == "concat" else "double"
        tasks.append({"sourceFields": [temporary], "connectorOperator": op("NO_OP"),
                      "destinationField": f.destination, "taskType": "Map",
                      "taskProperties": {"DESTINATION_DATA_TYPE": result_type}})
    for m in choices.modifications:
        if m.action == "truncate":
            tasks.append({"sourceFields": [m.field], "connectorOperator": op("NO_OP"), "taskType": "Truncate",
                          "taskProperties": {"TRUNCATE_LENGTH": str(m.length)}})
        else:
            props = {"MASK_VALUE": m.mask or "*"}
            if m.action != "mask_all":
                props["MASK_LENGTH"] = str(m.length)
            tasks.append({"sourceFields": [m.field], "connectorOperator": op(MODIFICATIONS[m.action]),
                          "taskType": "Mask", "taskProperties": props})
    for v in choices.validations:
        tasks.append({"sourceFields": [v.field], "connectorOperator": op(CHECKS[v.condition]),
                      "taskType": "Validate", "taskProperties": {"VALIDATION_ACTION": ACTIONS[v.action]}})
    tasks.extend(json.loads(json.dumps(t)) for t in choices.other_tasks)
    return _within_appflow_operators(tasks, operator_key)


def _within_appflow_operators(tasks: list[dict], operator_key: str) -> list[dict]:
    """AppFlow gives some sources a short operator list (Amplitude: BETWEEN only; Google Analytics
    has no NO_OP), which the document validator holds every task to: there a Map, Merge or Truncate
    task carries no connectorOperator (a NO_OP says nothing), and the projection is left to the Map
    tasks, which choose the fields anyway. Other operators stay, for the validator to name."""
    model_key = next((k for k in CONNECTOR_OPERATORS if k.lower() == operator_key.lower()), None)
    if model_key is None:
        return tasks
    allowed = CONNECTOR_OPERATORS[model_key]
    kept = []
    for task in tasks:
        name = (task.get("connectorOperator") or {}).get(operator_key)
        if name in allowed or name is None:
            kept.append(task)
        elif name == "NO_OP" and task["taskType"] in ("Map", "Merge", "Truncate"):
            kept.append({k: v for k, v in task.items() if k != "connectorOperator"})
        elif not (name == "PROJECTION" and task["taskType"] == "Filter"):
            kept.append(task)
    return kept


def _filter_task(f: FilterRule, op) -> dict:
    operator = CONDITIONS[f.condition][0]
    values = [v.strip() for v in f.values]
    props = {"DATA_TYPE": normalize_type(f.data_type) or "string"}
    if f.condition == "between":
        props.update(LOWER_BOUND=values[0], UPPER_BOUND=values[1])
    elif len(values) == 1:
        props["VALUE"] = values[0]
    else:
        props["VALUES"] = ",".join(values)
    return {"sourceFields": [f.field], "connectorOperator": op(operator), "taskType": "Filter",
            "taskProperties": props}


def _fields_used(choices: FieldChoices) -> list[str]:
    names = [m.source for m in choices.maps]
    for f in choices.formulas:
        names += f.fields
    names += [m.field for m in choices.modifications]
    names += [v.field for v in choices.validations]
    names += [f.field for f in choices.filters]
    return list(dict.fromkeys(names))


def _formula_outputs(choices: FieldChoices) -> list[str]:
    """AppFlow's temporary field for a formula is its fields joined by commas ("a,b"); a second
    formula over the same fields (or a name a source field has) writes its destination's name."""
    taken = set(_fields_used(choices)) | {m.destination for m in choices.maps}
    outputs = []
    for f in choices.formulas:
        name = ",".join(f.fields)
        if name in taken:
            name = f"{f.destination} ({f.kind})"
            while name in taken:
                name += "'"
        taken.add(name)
        outputs.append(name)
    return outputs
