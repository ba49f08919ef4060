"""The console's words for what tasks do: one table that the wizard, the flow page, the plan in the
run log and run errors share, so that a check the wizard offered as "is not numeric" with "Stop the
run" reads the same when it stops a run (not `VALIDATE_NUMERIC, VALIDATION_ACTION DropDataset`),
and a filter made as "is one of" is never shown as EQUAL_TO. Pure Python: the engine stays free of
Django, and the wizard imports from here."""

from __future__ import annotations

import re
from collections.abc import Sequence

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")  # a field in a Merge's CONCAT_FORMAT

# Validate: the check, after "When <field> ...", and what happens then
CHECK_WORDS = {
    "VALIDATE_NON_NULL": "is null",
    "VALIDATE_NON_ZERO": "is zero",
    "VALIDATE_NON_NEGATIVE": "is negative",
    "VALIDATE_NUMERIC": "is not numeric",
}
ACTION_WORDS = {"DropRecord": "Drop the record", "DropDataset": "Stop the run"}

# Filter: the comparison, after "<field> ..."; EQUAL_TO with several values is "is one of"
FILTER_WORDS = {
    "EQUAL_TO": "equals",
    "NOT_EQUAL_TO": "does not equal",
    "CONTAINS": "contains",
    "GREATER_THAN": "is greater than",
    "GREATER_THAN_OR_EQUAL_TO": "is greater than or equal to",
    "LESS_THAN": "is less than",
    "LESS_THAN_OR_EQUAL_TO": "is less than or equal to",
    "BETWEEN": "is between",
}
ONE_OF = "is one of"
NONE_OF = "is none of"

# Arithmetic: the sign between the fields of a formula
ARITHMETIC_SIGNS = {"ADDITION": "+", "SUBTRACTION": "−", "MULTIPLICATION": "×", "DIVISION": "÷"}


def check(field: str, operator: str, action: str) -> str:
    """'When Amount is not numeric: Stop the run'."""
    return f"When {field} {CHECK_WORDS.get(operator, operator)}: {ACTION_WORDS.get(action, action)}"


def comparison(operator: str, values: Sequence[str]) -> str:
    """'is one of Partner, Reseller', 'is between 1 and 9', 'equals Partner'."""
    values = list(values)
    if operator == "BETWEEN" and len(values) == 2:
        return f"{FILTER_WORDS['BETWEEN']} {values[0]} and {values[1]}"
    if operator == "EQUAL_TO" and len(values) > 1:
        return f"{ONE_OF} {', '.join(values)}"
    if operator == "NOT_EQUAL_TO" and len(values) > 1:
        return f"{NONE_OF} {', '.join(values)}"
    return f"{FILTER_WORDS.get(operator, operator)} {' or '.join(values)}"


def merge_formula(destination: str, fields: Sequence[str], template: str | None) -> str:
    """A Merge as the formula it is: 'label = name + " @ " + city' (CONCAT_FORMAT
    "{name} @ {city}"), or 'label = name + city' without a format."""
    if template is None:
        return f"{destination} = {' + '.join(fields)}"
    parts: list[str] = []
    position = 0
    for found in PLACEHOLDER.finditer(template):
        if found.start() > position:
            parts.append(_quoted(template[position : found.start()]))
        parts.append(found.group(1))
        position = found.end()
    if position < len(template):
        parts.append(_quoted(template[position:]))
    return f"{destination} = {' + '.join(parts) or _quoted('')}"


def arithmetic_formula(destination: str, operator: str, fields: Sequence[str]) -> str:
    """'total = price × quantity'."""
    return f"{destination} = {f' {ARITHMETIC_SIGNS.get(operator, operator)} '.join(fields)}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
