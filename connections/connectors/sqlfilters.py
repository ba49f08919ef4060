"""Filter tasks that a SQL database can evaluate, independent of the SQL dialect.

`pushable()` turns one Filter task into a `Pushdown` (column, comparison, typed values) when it is
simple: one column, an operator with a direct SQL form, values that convert to the column's type.
Everything else answers None and is left to the engine, which re-applies every filter anyway, so a
filter not pushed down costs speed, never correctness. Each dialect renders a Pushdown with its
own identifier quoting; values are always bound as parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

COMPARISONS = {
    "EQUAL_TO": "=",
    "NOT_EQUAL_TO": "<>",
    "LESS_THAN": "<",
    "LESS_THAN_OR_EQUAL_TO": "<=",
    "GREATER_THAN": ">",
    "GREATER_THAN_OR_EQUAL_TO": ">=",
}
OPERATORS = ("PROJECTION", *COMPARISONS, "BETWEEN", "CONTAINS", "NO_OP")
# What a SQL source declares it can push down (Connector.pushdown_operators).
PUSHDOWN_OPERATORS = (*COMPARISONS, "BETWEEN", "CONTAINS")
# Text columns compare by the database's collation (case- and accent-insensitive in MySQL's
# default, locale order in PostgreSQL's), not by code point as the engine does. Pushed down, an
# operator may only keep *more* rows than the engine would (the engine filters again); a range or
# "not equal" under another collation could drop rows the engine keeps, so those stay in the engine.
SAFE_ON_TEXT = frozenset({"=", "IN", "CONTAINS"})


@dataclass(frozen=True)
class Pushdown:
    column: str
    kind: str  # one of COMPARISONS' SQL operators, "IN", "BETWEEN" or "CONTAINS"
    values: tuple[Any, ...]


def as_task(pushed: Mapping[str, Any]) -> Mapping[str, Any]:
    """The engine hands sources its filters as {"field", "operator", "values", "dataType"}; turn
    one back into the Filter task shape `pushable` reads (a task passes through unchanged)."""
    if "sourceFields" in pushed:
        return pushed
    values = [str(v) for v in pushed.get("values") or []]
    operator = pushed.get("operator")
    if operator == "BETWEEN" and len(values) == 2:
        props = {"LOWER_BOUND": values[0], "UPPER_BOUND": values[1]}
    elif len(values) == 1:
        props = {"VALUE": values[0]}
    else:
        props = {"VALUES": ",".join(values)}
    if pushed.get("dataType"):
        props["DATA_TYPE"] = pushed["dataType"]
    return {
        "sourceFields": [pushed.get("field")],
        "connectorOperator": {"SQL": operator},
        "taskProperties": props,
    }


def pushable(task: Mapping[str, Any], types: Mapping[str, str], naive_columns: frozenset[str] = frozenset()):
    """A Pushdown for one Filter (a task, or the engine's form of one), or None when the database
    cannot evaluate it exactly as the engine would, or more loosely. `types` maps column -> Sluice
    data type (only scalar columns); `naive_columns` are timestamp columns without a time zone
    (compared in UTC)."""
    pushed = _pushable(as_task(task), types, naive_columns)
    if pushed is not None and types.get(pushed.column) == "string" and pushed.kind not in SAFE_ON_TEXT:
        return None
    return pushed


def _pushable(task: Mapping[str, Any], types: Mapping[str, str], naive_columns: frozenset[str]):
    sources = task.get("sourceFields") or []
    operator_block = task.get("connectorOperator") or {}
    operator = next(iter(operator_block.values()), None) if isinstance(operator_block, Mapping) else None
    props = task.get("taskProperties") or {}
    if len(sources) != 1 or sources[0] not in types or not isinstance(props, Mapping):
        return None
    column = sources[0]
    kind = types[column]
    wanted = props.get("DATA_TYPE")
    if wanted and wanted != kind:
        return None  # e.g. a text column compared as numbers: the database would compare text

    def typed(value: Any) -> Any:
        return to_type(value, kind, naive=column in naive_columns)

    try:
        if operator in COMPARISONS and "VALUE" in props:
            return Pushdown(column, COMPARISONS[operator], (typed(props["VALUE"]),))
        if operator == "EQUAL_TO" and "VALUES" in props:
            return Pushdown(column, "IN", tuple(typed(v) for v in str(props["VALUES"]).split(",")))
        if operator == "BETWEEN" and {"LOWER_BOUND", "UPPER_BOUND"} <= set(props):
            return Pushdown(column, "BETWEEN", (typed(props["LOWER_BOUND"]), typed(props["UPPER_BOUND"])))
        if operator == "CONTAINS" and kind == "string" and "VALUE" in props:
            return Pushdown(column, "CONTAINS", (str(props["VALUE"]),))
    except (TypeError, ValueError, OverflowError):
        return None
    return None


def to_type(value: Any, kind: str, naive: bool = False) -> Any:
    """`value` (text, as in a flow document) converted for comparison with a `kind` column."""
    text = str(value).strip()
    if kind == "integer":
        return int(text)
    if kind == "double":
        return float(text)
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError(text)
        return text.lower() == "true"
    if kind in ("date", "datetime"):
        if text.isdigit():  # AppFlow gives dates as epoch milliseconds
            moment = datetime.fromtimestamp(int(text) / 1000, UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if naive and moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment.date() if kind == "date" else moment
    if kind == "string":
        return str(value)
    raise ValueError(kind)
