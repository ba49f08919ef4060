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


@dataclass(frozen=True)
class Pushdown:
    column: str
    kind: str  # one of COMPARISONS' SQL operators, "IN", "BETWEEN" or "CONTAINS"
    values: tuple[Any, ...]


def pushable(task: Mapping[str, Any], types: Mapping[str, str], naive_columns: frozenset[str] = frozenset()):
    """A Pushdown for one Filter task, or None. `types` maps column -> Sluice data type (only
    scalar columns); `naive_columns` are timestamp columns without a time zone (compared in UTC)."""
    sources = task.get("sourceFields") or []
    operator_block = task.get("connectorOperator") or {}
    operator = next(iter(operator_block.values()), None) if isinstance(operator_block, Mapping) else None
    props = task.get("taskProperties") or {}
    if len(sources) != 1 or sources[0] not in types or not isinstance(props, Mapping):
        return None
    column = sources[0]
    kind = types[column]

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
