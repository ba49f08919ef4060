"""The field choices of steps 3 and 4 in plain sentences, for step 3's lists and the review step:
a person checks "mask the first 4 characters of Phone with #", not "Mask MASK_FIRST_N"."""

from __future__ import annotations

from flows.engine import words

from .mapping import ACTIONS, ARITHMETIC, CHECKS, CONDITIONS, FieldChoices, Formula, Modification


def formula(f: Formula) -> str:
    """As the flow page and the run's plan show it: 'label = name + " @ " + city'."""
    if f.kind == "concat":
        return words.merge_formula(f.destination, f.fields, f.separator.join("{" + n + "}" for n in f.fields))
    return words.arithmetic_formula(f.destination, ARITHMETIC.get(f.operator, f.operator), f.fields)


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
        operator = CONDITIONS.get(rule.condition, (rule.condition, ""))[0]
        if rule.condition == "one_of":
            filters.append(f"{rule.field} {words.ONE_OF} {', '.join(rule.values)}")
        else:
            filters.append(f"{rule.field} {words.comparison(operator, rule.values)}")
    return {
        "formulas": [formula(f) for f in choices.formulas],
        "modifications": [modification(m) for m in choices.modifications],
        "validations": [
            words.check(v.field, CHECKS.get(v.condition, v.condition), ACTIONS.get(v.action, v.action))
            for v in choices.validations
        ],
        "filters": filters,
    }
