"""The field choices of steps 3 and 4 in plain sentences, for the review step: a person checks
"mask the first 4 characters of Phone with #", not "Mask MASK_FIRST_N"."""

from __future__ import annotations

from .mapping import CHECK_WORDS, CONDITIONS, FieldChoices, Formula, Modification

ARITHMETIC_WORDS = {"+": "+", "-": "−", "*": "×", "/": "÷"}


def formula(f: Formula) -> str:
    if f.kind == "concat":
        return f'{f.destination} = {" + ".join(f.fields)}, joined with "{f.separator}"'
    return f"{f.destination} = {f' {ARITHMETIC_WORDS.get(f.operator, f.operator)} '.join(f.fields)}"


def modification(m: Modification) -> str:
    if m.action == "truncate":
        return f"{m.field}: keep the first {m.length} characters"
    if m.action == "mask_all":
        return f'{m.field}: mask every character with "{m.mask}"'
    which = "first" if m.action == "mask_first" else "last"
    return f'{m.field}: mask the {which} {m.length} characters with "{m.mask}"'


def describe(choices: FieldChoices) -> dict[str, list[str]]:
    """Sentences per kind of choice, in the order the person made them."""
    filters = []
    for rule in choices.filters:
        words = CONDITIONS.get(rule.condition, ("", rule.condition))[1]
        if rule.condition == "between" and len(rule.values) == 2:
            values = f"{rule.values[0]} and {rule.values[1]}"
        else:
            values = " or ".join(rule.values)
        filters.append(f"{rule.field} {words} {values}")
    return {
        "formulas": [formula(f) for f in choices.formulas],
        "modifications": [modification(m) for m in choices.modifications],
        "validations": [
            f"When {v.field} {CHECK_WORDS.get(v.condition, v.condition)}: "
            f"{'stop the run' if v.action == 'stop' else 'drop the record'}"
            for v in choices.validations
        ],
        "filters": filters,
    }
