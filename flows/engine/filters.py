"""Filter tasks with a comparison operator: which records go on.

Semantics (docs/engine.md has an example of each):
- A task compares one field with its VALUE, or with each of its VALUES (comma-separated): the
  record passes when any value matches (NOT_EQUAL_TO with several values: when it equals none).
  BETWEEN takes LOWER_BOUND and UPPER_BOUND, both inclusive. CONTAINS looks for the value in the
  field's text, case-sensitively.
- DATA_TYPE says how to compare (values.py); without it, the column's own type decides.
- Several Filter tasks: a record must pass every one.
- A null never matches a comparison, NOT_EQUAL_TO included.
- A value that is not of DATA_TYPE makes the record a failure naming the field and the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .errors import RunError
from .values import TIMESTAMP, convert, describe_type, parse_value, show, to_text, type_of
from .words import comparison
from .work import Work

COMPARISONS = (
    "EQUAL_TO",
    "NOT_EQUAL_TO",
    "LESS_THAN",
    "LESS_THAN_OR_EQUAL_TO",
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL_TO",
    "BETWEEN",
    "CONTAINS",
)
_COMPARE = {
    "EQUAL_TO": pc.equal,
    "LESS_THAN": pc.less,
    "LESS_THAN_OR_EQUAL_TO": pc.less_equal,
    "GREATER_THAN": pc.greater,
    "GREATER_THAN_OR_EQUAL_TO": pc.greater_equal,
}


@dataclass(frozen=True)
class Criterion:
    """One Filter task. `values` are the raw texts (VALUE or VALUES; for BETWEEN the two
    bounds); `kind` the DATA_TYPE, or None to follow the column."""

    task: int
    field: str
    operator: str
    values: tuple[str, ...]
    kind: str | None
    _parsed: dict[str, list[Any]] = field(default_factory=dict, compare=False, repr=False)

    def describe(self, *, typed: bool = True) -> str:
        """In the wizard's words: 'Type is one of Partner, Reseller', 'Amount is greater than 5'
        (with ' as double' when DATA_TYPE says how to compare, unless `typed` is False)."""
        suffix = f" as {self.kind}" if self.kind and typed else ""
        return f"{self.field} {comparison(self.operator, self.values)}{suffix}"

    def parsed(self, kind: str) -> list[Any]:
        """The values as `kind`; raises ValueError naming the bad one (checked at plan time when
        DATA_TYPE is given, at the first batch otherwise)."""
        if kind not in self._parsed:
            self._parsed[kind] = [parse_value(v, kind) for v in self.values]
        return self._parsed[kind]


def split_values(text: str) -> tuple[str, ...]:
    """VALUES as AppFlow writes them: comma-joined, spaces around each value ignored."""
    return tuple(part.strip() for part in text.split(","))


def apply_filters(criteria: Sequence[Criterion], work: Work) -> None:
    """Keep the records that pass every criterion; records with a value of the wrong type fail."""
    table = work.table
    passed: pa.Array | None = None
    bad_by: list[tuple[Criterion, pa.Array, str]] = []
    matches: list[pa.Array] = []
    for criterion in criteria:
        match, bad, kind = _evaluate(criterion, table.column(criterion.field))
        matches.append(match)
        passed = match if passed is None else pc.and_(passed, match)
        if bad is not None:
            bad_by.append((criterion, bad, kind))
    if passed is None:
        return
    if work.tally is not None:
        _tally(criteria, matches, table, bad_by, work)
    if bad_by:
        bad = bad_by[0][1]
        for _, more, _ in bad_by[1:]:
            bad = pc.or_(bad, more)

        def reason(i: int) -> str:
            for criterion, mask, kind in bad_by:
                if mask[i].as_py():
                    value = table.column(criterion.field)[i]
                    return (
                        f"{criterion.field} = {show(value)} is not {describe_type(kind)} "
                        f"(filter: {criterion.describe()})"
                    )
            return "bad value"

        work.fail(bad, reason)
        passed = passed.filter(pc.invert(bad))
    work.keep(passed)


def _tally(criteria: Sequence[Criterion], matches: list[pa.Array], table: pa.Table, bad_by: list,
           work: Work) -> None:
    """Per filter, in order: how many records reached it (passed the ones before) and how many of
    those it kept; each record left out is noted with the first filter that left it out. A record
    with a value of the wrong type is a failure (noted by Work.fail), not counted here."""
    tally = work.tally
    assert tally is not None
    reached = pa.array([True] * table.num_rows, pa.bool_())
    for _, bad, _ in bad_by:
        reached = pc.and_(reached, pc.invert(bad))
    for criterion, match in zip(criteria, matches, strict=True):
        kept = pc.and_(reached, match)
        counts = tally.filters.setdefault(criterion.task, [0, 0])
        counts[0] += pc.sum(reached).as_py() or 0
        counts[1] += pc.sum(kept).as_py() or 0
        tally.note(work, pc.and_(reached, pc.invert(match)), "filtered", criterion.task,
                   f"left out by the filter {criterion.describe()}")
        reached = kept


def _evaluate(criterion: Criterion, column: pa.ChunkedArray) -> tuple[pa.Array, pa.Array | None, str]:
    """(match, bad, kind): match is False for nulls and bad values, never null."""
    if criterion.operator == "CONTAINS":
        text = to_text(column.combine_chunks())
        match = None
        for value in criterion.values:
            found = pc.match_substring(text, value)
            match = found if match is None else pc.or_(match, found)
        return pc.fill_null(match, False), None, "string"
    kind = criterion.kind or type_of(column.type)
    converted = convert(column, kind)
    values = converted.values
    try:
        scalars = [_scalar(v, kind) for v in criterion.parsed(kind)]
    except ValueError as exc:
        raise RunError(
            f'The filter "{criterion.describe()}": {exc}, and {criterion.field} holds {kind} values. Correct '
            "the value in the filter, or set DATA_TYPE to say how to compare."
        ) from None
    operator = criterion.operator
    if operator == "BETWEEN":
        match = pc.and_(pc.greater_equal(values, scalars[0]), pc.less_equal(values, scalars[1]))
    elif operator in ("EQUAL_TO", "NOT_EQUAL_TO") and len(scalars) > 1:
        if pa.types.is_floating(values.type):
            # is_in hashes values, and -0.0 hashes apart from 0.0 although they compare equal:
            # adding 0.0 turns -0.0 into 0.0 (IEEE 754) so "is one of 0" keeps -0.0, as EQUAL_TO does.
            values = pc.add(values, pa.scalar(0.0, values.type))
            scalars = [pa.scalar(s.as_py() + 0.0 if s.is_valid else None, values.type) for s in scalars]
        found = pc.is_in(values, value_set=pa.array([s.as_py() for s in scalars], values.type))
        match = found if operator == "EQUAL_TO" else pc.and_(pc.is_valid(values), pc.invert(found))
    elif operator == "NOT_EQUAL_TO":
        match = pc.not_equal(values, scalars[0])
    else:
        compare = _COMPARE[operator]
        match = None
        for scalar in scalars:
            one = compare(values, scalar)
            match = one if match is None else pc.or_(match, one)
    return pc.fill_null(match, False), converted.bad, kind


def _scalar(value: Any, kind: str) -> pa.Scalar:
    if kind == "datetime":
        return pa.scalar(value, pa.int64()).cast(TIMESTAMP)
    return pa.scalar(value, {"string": pa.string(), "integer": pa.int64(), "double": pa.float64(),
                             "boolean": pa.bool_(), "date": pa.date32()}[kind])
