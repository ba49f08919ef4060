"""A plain, row-at-a-time implementation of the engine's semantics (docs/engine.md), written
independently of flows/engine for the property tests to compare against. Slow on purpose: one
dict per record, one Python `if` per rule.

Values are Python values: str, int, float, bool, None. Datetimes come out as microseconds since
the epoch (UTC) and dates as days since the epoch, which is how the tests read the engine's
timestamp and date columns too.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

INTEGER = re.compile(r"[+-]?[0-9]+")
DOUBLE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
EPOCH = re.compile(r"-?[0-9]+")
ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?(Z|([+-])([0-9]{2}):([0-9]{2}))?)?"
)
MIN_MS, MAX_MS = -62_135_596_800_000, 253_402_300_799_999
TYPES = {"string": "string", "integer": "integer", "double": "double", "boolean": "boolean",
         "date": "date", "datetime": "datetime", "number": "double", "int": "integer"}
BAD = object()  # a value that does not convert


class DropDataset(Exception):
    pass


def text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    raise AssertionError(f"the tests do not turn {value!r} into text")


def kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "double"
    return "string"


def micros_from_text(t: str) -> Any:
    if EPOCH.fullmatch(t):
        ms = int(t)
        return ms * 1000 if MIN_MS <= ms <= MAX_MS else BAD
    m = ISO.fullmatch(t)
    if not m:
        return BAD
    date_only = m.group(4) is None
    if date_only and len(t) != 10:
        return BAD  # a zone after a bare date
    try:
        day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        hour, minute = (int(m.group(4)), int(m.group(5))) if not date_only else (0, 0)
        second = int(m.group(6) or 0)
        datetime(2000, 1, 1, hour, minute, second)  # refuses 24:00 and 23:59:60
    except ValueError:
        return BAD
    fraction = int((m.group(7) or "").ljust(6, "0"))
    offset = 0
    if m.group(9):
        oh, om = int(m.group(10)), int(m.group(11))
        offset = (oh * 3600 + om * 60) * (1 if m.group(9) == "+" else -1)
    days = day.toordinal() - date(1970, 1, 1).toordinal()
    micros = (days * 86400 + hour * 3600 + minute * 60 + second - offset) * 1_000_000 + fraction
    return micros if MIN_MS * 1000 <= micros <= MAX_MS * 1000 + 999 else BAD


def convert(value: Any, kind: str) -> Any:
    """`value` as `kind`, None for null, BAD when it does not convert."""
    if value is None:
        return None
    if kind == "string":
        return text(value)
    have = kind_of(value)
    if have == "string":
        if value == "":
            return None
        if kind == "integer":
            if not INTEGER.fullmatch(value):
                return BAD
            number = int(value)
            return number if -(2**63) <= number < 2**63 else BAD
        if kind == "double":
            if not DOUBLE.fullmatch(value):
                return BAD
            number = float(value)
            return number if math.isfinite(number) else BAD
        if kind == "boolean":
            return {"true": True, "false": False}.get(value.lower(), BAD)
        micros = micros_from_text(value)
        if micros is BAD or kind == "datetime":
            return micros
        return micros // 86_400_000_000
    if have == kind:
        return value
    if kind == "double" and have == "integer":
        return float(value)
    if kind == "integer" and have == "double":
        return int(value) if value.is_integer() and -(2.0**63) <= value < 2.0**63 else BAD
    if kind in ("datetime", "date") and have == "integer":
        if not MIN_MS <= value <= MAX_MS:
            return BAD
        return value * 1000 if kind == "datetime" else (value * 1000) // 86_400_000_000
    return BAD


# -- tasks -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    records: list[dict[str, Any]] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # record numbers, from 1
    filtered: int = 0
    dropped: int = 0


def operator(task: dict) -> str | None:
    op = task.get("connectorOperator")
    return next(iter(op.values())) if op else None


def run(tasks: list[dict], records: list[dict[str, Any]], column_kinds: dict[str, str]) -> Outcome:
    """The records a flow with `tasks` writes, and what happened to the others."""
    out = Outcome()
    props = [t.get("taskProperties") or {} for t in tasks]
    by_type: dict[str, list[int]] = {}
    for i, t in enumerate(tasks):
        key = t["taskType"] if not (t["taskType"] == "Filter" and operator(t) == "PROJECTION") else "Projection"
        by_type.setdefault(key, []).append(i)
    for i in by_type.get("Filter", []):  # values of the wrong type stop the run before any record
        _filter_values(tasks[i], props[i], column_kinds)
    for number, source in enumerate(records, start=1):
        record = dict(source)
        verdict = _filters(tasks, props, by_type.get("Filter", []), record, column_kinds)
        if verdict == "bad":
            out.failed.append(number)
            continue
        if verdict == "out":
            out.filtered += 1
            continue
        if not _derive(tasks, props, by_type, record):
            out.failed.append(number)
            continue
        _modify(tasks, props, by_type, record)
        verdict = _validate(tasks, props, by_type.get("Validate", []), record)
        if verdict == "drop":
            out.dropped += 1
            continue
        written = _map(tasks, props, by_type, record)
        if written is None:
            out.failed.append(number)
            continue
        out.records.append(written)
    return out


def _filters(tasks, props, indexes, record, column_kinds) -> str:
    bad = False
    passed = True
    for i in indexes:
        t, p = tasks[i], props[i]
        name, op = t["sourceFields"][0], operator(t)
        value = record[name]
        raw, kind, wanted = _filter_values(t, p, column_kinds)
        if op == "CONTAINS":
            t_value = text(value)
            passed = passed and t_value is not None and any(v in t_value for v in raw)
            continue
        have = convert(value, kind)
        if have is BAD:
            bad = True
            continue
        if have is None:
            passed = False
            continue
        if op == "BETWEEN":
            match = wanted[0] <= have <= wanted[1]
        elif op == "NOT_EQUAL_TO":
            match = all(have != w for w in wanted)
        else:
            compare = {"EQUAL_TO": lambda a, b: a == b, "LESS_THAN": lambda a, b: a < b,
                       "LESS_THAN_OR_EQUAL_TO": lambda a, b: a <= b, "GREATER_THAN": lambda a, b: a > b,
                       "GREATER_THAN_OR_EQUAL_TO": lambda a, b: a >= b}[op]
            match = any(compare(have, w) for w in wanted)
        passed = passed and match
    return "bad" if bad else ("in" if passed else "out")


def _filter_values(t, p, column_kinds):
    op = operator(t)
    if op == "BETWEEN":
        raw = [p["LOWER_BOUND"], p["UPPER_BOUND"]]
    elif "VALUES" in p:
        raw = [v.strip() for v in p["VALUES"].split(",")]
    else:
        raw = [p["VALUE"]]
    if op == "CONTAINS":
        return raw, "string", raw
    kind = TYPES[p["DATA_TYPE"].lower()] if "DATA_TYPE" in p else column_kinds[t["sourceFields"][0]]
    wanted = [convert(v, kind) for v in raw]
    if any(w is BAD or w is None for w in wanted):
        raise ValueError(f"a value is not {kind}")
    return raw, kind, wanted


def _derive(tasks, props, by_type, record) -> bool:
    ok = True
    for i in sorted(by_type.get("Merge", []) + by_type.get("Arithmetic", [])):
        t, p = tasks[i], props[i]
        fields = [f for f in t["sourceFields"] if f]
        if t["taskType"] == "Merge":
            template = p.get("CONCAT_FORMAT")
            if template is None:
                merged = "".join(text(record[f]) or "" for f in fields)
            else:
                merged = re.sub(r"\{([^{}]*)\}", lambda m: text(record[m.group(1)]) or "", template)
            record[t.get("destinationField") or ",".join(fields)] = merged
            continue
        order = p.get("MATH_OPERATION_FIELDS_ORDER")
        names = [f.strip() for f in order.split(",")] if order else fields
        operands = [convert(record[f], "double") for f in names]
        if any(o is BAD for o in operands):
            ok = False
        if operator(t) == "DIVISION" and any(o == 0.0 for o in operands[1:] if o is not BAD and o is not None):
            ok = False
        result = None
        if all(o is not None and o is not BAD for o in operands):
            with np.errstate(all="ignore"):
                acc = np.float64(operands[0])
                for o in operands[1:]:
                    acc = {"ADDITION": np.add, "SUBTRACTION": np.subtract, "MULTIPLICATION": np.multiply,
                           "DIVISION": np.divide}[operator(t)](acc, np.float64(o))
            if not math.isfinite(acc):
                ok = False
            result = float(acc)
        record[t.get("destinationField") or ",".join(names)] = result
    return ok


def _modify(tasks, props, by_type, record) -> None:
    for i in sorted(by_type.get("Truncate", [])) + sorted(by_type.get("Mask", [])):
        t, p = tasks[i], props[i]
        name = t["sourceFields"][0]
        value = text(record[name])
        if value is not None:
            if t["taskType"] == "Truncate":
                value = value[: int(p["TRUNCATE_LENGTH"])]
            else:
                mask, op = p.get("MASK_VALUE", "*"), operator(t)
                n = int(p.get("MASK_LENGTH", "0"))
                if op == "MASK_ALL":
                    value = mask * len(value)
                elif op == "MASK_FIRST_N":
                    value = mask * min(n, len(value)) + value[n:]
                else:
                    value = value[: max(0, len(value) - n)] + mask * min(n, len(value))
        record[t.get("destinationField") or name] = value


def _validate(tasks, props, indexes, record) -> str:
    verdict = "keep"
    for i in indexes:
        t, p = tasks[i], props[i]
        value = record[t["sourceFields"][0]]
        check = operator(t)
        if check == "VALIDATE_NON_NULL":
            failing = value is None
        else:
            number = convert(value, "double")
            if check == "VALIDATE_NUMERIC":
                failing = number is BAD
            elif check == "VALIDATE_NON_ZERO":
                failing = number is BAD or number == 0.0
            else:
                failing = number is BAD or (number is not None and number < 0)
        if failing:
            if p.get("VALIDATION_ACTION") == "DropDataset":
                raise DropDataset(t["sourceFields"][0])
            verdict = "drop"
    return verdict


def _map(tasks, props, by_type, record) -> dict | None:
    maps = sorted(by_type.get("Map", []) + by_type.get("Passthrough", []))
    converted: dict[int, Any] = {}
    for i in maps:
        kind = TYPES.get((props[i].get("DESTINATION_DATA_TYPE") or "").lower())
        value = record[tasks[i]["sourceFields"][0]]
        converted[i] = convert(value, kind) if kind else value
        if converted[i] is BAD:
            return None
    destinations = [(i, tasks[i].get("destinationField") or tasks[i]["sourceFields"][0]) for i in maps]
    if "Map_all" in by_type:
        excluded = set(json.loads(props[by_type["Map_all"][0]].get("EXCLUDE_SOURCE_FIELDS_LIST") or "[]"))
        out: dict[str, Any] = {}
        for name, value in record.items():
            mapped = [(i, d) for i, d in destinations if tasks[i]["sourceFields"][0] == name]
            if mapped:
                for i, d in mapped:
                    out[d] = converted[i]
            elif name not in excluded:
                out[name] = value
        return out
    if maps:
        return {d: converted[i] for i, d in destinations}
    projected = [f for i in by_type.get("Projection", []) for f in tasks[i]["sourceFields"] if f]
    produced = [tasks[i].get("destinationField") or ",".join(tasks[i]["sourceFields"])
                for i in sorted(by_type.get("Merge", []) + by_type.get("Arithmetic", []))]
    return {name: record[name] for name in dict.fromkeys(projected + produced)}
