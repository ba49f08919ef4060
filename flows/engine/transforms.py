"""Derive (Merge, Arithmetic) and modify (Mask, Truncate) tasks.

- Merge writes CONCAT_FORMAT with each `{field}` replaced by the field's text (null as empty
  text); without CONCAT_FORMAT it joins the fields' text with nothing between. The result goes to
  destinationField (AppFlow writes "a,b" there and Maps it onward).
- Arithmetic folds the fields in MATH_OPERATION_FIELDS_ORDER (else sourceFields) left to right as
  doubles: ((a op b) op c). A null operand gives null; a value that is not a number, a division
  by zero or a result beyond the double range makes the record a failure.
- Mask replaces characters (not bytes) with MASK_VALUE ("*" by default): all of them, the first
  MASK_LENGTH or the last MASK_LENGTH. Truncate keeps the first TRUNCATE_LENGTH characters.
  Both work on the field's text; null stays null.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .values import convert, describe_type, show, to_text
from .words import PLACEHOLDER, arithmetic_formula, merge_formula
from .work import Work

ARITHMETIC = {
    "ADDITION": (pc.add, "+"),
    "SUBTRACTION": (pc.subtract, "-"),
    "MULTIPLICATION": (pc.multiply, "*"),
    "DIVISION": (pc.divide, "/"),
}
MASKS = ("MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N")


@dataclass(frozen=True)
class Merge:
    task: int
    fields: tuple[str, ...]
    template: str | None
    destination: str

    def describe(self, shown_as: str | None = None) -> str:
        """`label = name + " @ " + city`; `shown_as` the field a Map renames the result to."""
        return merge_formula(shown_as or self.destination, self.fields, self.template)

    def apply(self, work: Work) -> None:
        table = work.table
        pieces: list[pa.Array | str] = []
        if self.template is None:
            pieces = [_text(table, f) for f in self.fields]
        else:
            position = 0
            for found in PLACEHOLDER.finditer(self.template):
                pieces.append(self.template[position : found.start()])
                pieces.append(_text(table, found.group(1)))
                position = found.end()
            pieces.append(self.template[position:])
        pieces = [p for p in pieces if not (isinstance(p, str) and p == "")]
        if not any(isinstance(p, pa.Array) for p in pieces):
            # a template without fields: the same text on every row
            merged = pa.array(["".join(pieces)] * table.num_rows, pa.string())
        else:
            merged = pc.binary_join_element_wise(*pieces, "")
        work.table = _put(table, self.destination, merged)


@dataclass(frozen=True)
class Arithmetic:
    task: int
    operator: str
    fields: tuple[str, ...]
    destination: str

    def describe(self, shown_as: str | None = None) -> str:
        return arithmetic_formula(shown_as or self.destination, self.operator, self.fields)

    def apply(self, work: Work) -> None:
        table = work.table
        operate = ARITHMETIC[self.operator][0]
        operands = [convert(table.column(f), "double") for f in self.fields]
        bad: pa.Array | None = None
        reasons: list[tuple[pa.Array, Callable[[int], str]]] = []
        for name, operand in zip(self.fields, operands, strict=True):
            if operand.bad is not None:
                bad = operand.bad if bad is None else pc.or_(bad, operand.bad)
                reasons.append((operand.bad, self._not_a_number(table, name)))
        result = operands[0].values
        for position, operand in enumerate(operands[1:], start=1):
            divisor = operand.values
            if self.operator == "DIVISION":
                zero = pc.fill_null(pc.equal(divisor, 0.0), False)
                if pc.any(zero).as_py():
                    bad = zero if bad is None else pc.or_(bad, zero)
                    name = self.fields[position]
                    reasons.append((zero, lambda i, n=name: f"{n} is 0: division by zero "
                                                            f"(formula {self.describe()})"))
                    divisor = pc.if_else(zero, pa.scalar(None, pa.float64()), divisor)
            result = operate(result, divisor)
        overflow = pc.fill_null(pc.invert(pc.is_finite(result)), False)
        if pc.any(overflow).as_py():
            bad = overflow if bad is None else pc.or_(bad, overflow)
            reasons.append((overflow, lambda i: f"the result of the formula {self.describe()} is beyond "
                                                "the range of a double"))
        work.table = _put(table, self.destination, result)
        if bad is not None:
            work.fail(bad, lambda i: next(why(i) for mask, why in reasons if mask[i].as_py()))

    def _not_a_number(self, table: pa.Table, name: str) -> Callable[[int], str]:
        def reason(i: int) -> str:
            return (f"{name} = {show(table.column(name)[i])} is not {describe_type('double')} "
                    f"(formula {self.describe()})")
        return reason


@dataclass(frozen=True)
class Truncate:
    task: int
    field: str
    destination: str
    length: int

    def describe(self) -> str:
        return f"truncate {self.field} to {self.length} characters" + _onto(self.field, self.destination)

    def apply(self, work: Work) -> None:
        text = to_text(work.table.column(self.field).combine_chunks())
        work.table = _put(work.table, self.destination, pc.utf8_slice_codeunits(text, 0, self.length))


@dataclass(frozen=True)
class Mask:
    task: int
    field: str
    destination: str
    operator: str
    mask: str
    length: int

    def describe(self) -> str:
        what = {"MASK_ALL": "every character", "MASK_FIRST_N": f"the first {self.length} characters",
                "MASK_LAST_N": f"the last {self.length} characters"}[self.operator]
        return f'mask {what} of {self.field} with "{self.mask}"' + _onto(self.field, self.destination)

    def apply(self, work: Work) -> None:
        text = to_text(work.table.column(self.field).combine_chunks())
        size = pc.utf8_length(text)
        if self.operator == "MASK_ALL":
            masked = pc.binary_repeat(self.mask, size)
        else:
            count = pc.min_element_wise(size, pa.scalar(self.length, size.type))
            cover = pc.binary_repeat(self.mask, count)
            if self.operator == "MASK_FIRST_N":
                masked = pc.binary_join_element_wise(cover, pc.utf8_slice_codeunits(text, self.length), "")
            else:
                kept = pc.utf8_slice_codeunits(text, 0, -self.length) if self.length else text
                masked = pc.binary_join_element_wise(kept, cover, "")
        masked = pc.if_else(pc.is_valid(text), masked, pa.scalar(None, pa.string()))
        work.table = _put(work.table, self.destination, masked)


def apply_all(steps: Sequence[Merge | Arithmetic | Truncate | Mask], work: Work) -> None:
    for step in steps:
        step.apply(work)


def _text(table: pa.Table, name: str) -> pa.Array:
    return pc.fill_null(to_text(table.column(name).combine_chunks()), "")


def _put(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    """Replace the column `name` in place, or add it at the end."""
    index = table.schema.get_field_index(name)
    if index >= 0:
        return table.set_column(index, name, values)
    return table.append_column(name, values)


def _onto(source: str, destination: str) -> str:
    return "" if source == destination else f" -> {destination}"
