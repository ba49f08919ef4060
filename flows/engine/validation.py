"""Validate tasks: records whose field fails a check are dropped (DropRecord, the default) or stop
the run (DropDataset), with the field, the value and the record named.

- VALIDATE_NON_NULL: the value is present (empty text is present; a file source reads a blank CSV
  cell as a null unless the source says blankCells EMPTY_TEXT).
- VALIDATE_NUMERIC: the value is a number (values.py's double grammar).
- VALIDATE_NON_ZERO / VALIDATE_NON_NEGATIVE: the value is a number and is not 0 / not below 0.
- Every check but NON_NULL passes a null (or empty text): pair it with VALIDATE_NON_NULL to
  refuse missing values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .errors import RunError
from .values import convert, show
from .words import ACTION_WORDS, check
from .work import Work

CHECKS = ("VALIDATE_NON_NULL", "VALIDATE_NON_ZERO", "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC")
ACTIONS = ("DropRecord", "DropDataset")
_WHAT = {
    "VALIDATE_NON_NULL": "is null",
    "VALIDATE_NON_ZERO": "is zero or not a number",
    "VALIDATE_NON_NEGATIVE": "is negative or not a number",
    "VALIDATE_NUMERIC": "is not a number",
}


@dataclass(frozen=True)
class Validation:
    task: int
    field: str
    check: str
    action: str

    def describe(self) -> str:
        """As the wizard offered it: 'When Amount is not numeric: Stop the run'."""
        return check(self.field, self.check, self.action)

    def violations(self, column: pa.ChunkedArray) -> pa.Array:
        """True where the value fails the check; never null."""
        if self.check == "VALIDATE_NON_NULL":
            return pc.is_null(column.combine_chunks())
        numbers = convert(column, "double")
        bad = numbers.bad if numbers.bad is not None else pa.array([False] * len(numbers.values), pa.bool_())
        if self.check == "VALIDATE_NUMERIC":
            return bad
        values = numbers.values
        wrong = pc.equal(values, 0.0) if self.check == "VALIDATE_NON_ZERO" else pc.less(values, 0.0)
        return pc.or_(bad, pc.fill_null(wrong, False))


def apply_validations(validations: Sequence[Validation], work: Work) -> None:
    table = work.table
    drop: pa.Array | None = None
    for validation in validations:
        failing = validation.violations(table.column(validation.field))
        if work.tally is not None:
            # a preview counts every check and goes on, noting the records that would stop a run
            tally = work.tally
            tally.validations[validation.task] = (tally.validations.get(validation.task, 0)
                                                  + (pc.sum(failing).as_py() or 0))
            stops = validation.action == "DropDataset"
            tally.note(work, failing, "stopped" if stops else "dropped", validation.task,
                       f"{validation.field} {_WHAT[validation.check]}"
                       + (": this record would stop the run" if stops else ""))
            drop = failing if drop is None else pc.or_(drop, failing)
            continue
        if validation.action == "DropDataset":
            hits = pc.indices_nonzero(failing)
            if len(hits):
                i = hits[0].as_py()
                raise RunError(
                    f"{work.describe_record(i)}: {validation.field} is "
                    f"{show(table.column(validation.field)[i])}, so the check "
                    f'"{validation.describe()}" stopped the run. Nothing was written. Correct the source '
                    f'data, or choose "{ACTION_WORDS["DropRecord"]}" for this check to skip such records.'
                )
            continue
        drop = failing if drop is None else pc.or_(drop, failing)
    if drop is not None:
        work.keep(pc.invert(drop), dropped=True)
