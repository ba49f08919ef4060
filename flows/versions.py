"""A flow's versions for people: what each version changed, and a readable diff between two.

A document is read as sections (details, source, destination, tasks, trigger) of short lines —
"Map Name -> name", "Mask card_number: last 4 characters with #" — and two versions are compared
section by section; the unified JSON diff of the stored texts is the fallback that shows
everything. Pure Python: no Django, so it is tested on plain documents.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SECTIONS = ("Flow details", "Source", "Destination", "Mapping, filters and validations", "Trigger")
# The sections the first words of a change summary use, in the user's words.
SHORT_NAMES = {
    "Flow details": "details", "Source": "source", "Destination": "destination",
    "Mapping, filters and validations": "tasks", "Trigger": "trigger",
}
OPERATOR_WORDS = {
    "EQUAL_TO": "equals", "NOT_EQUAL_TO": "does not equal", "CONTAINS": "contains",
    "LESS_THAN": "<", "LESS_THAN_OR_EQUAL_TO": "<=", "GREATER_THAN": ">", "GREATER_THAN_OR_EQUAL_TO": ">=",
    "BETWEEN": "between", "ADDITION": "+", "SUBTRACTION": "-", "MULTIPLICATION": "*", "DIVISION": "/",
    "VALIDATE_NON_NULL": "is null", "VALIDATE_NON_ZERO": "is zero", "VALIDATE_NON_NEGATIVE": "is negative",
    "VALIDATE_NUMERIC": "is not numeric",
}
VALIDATION_ACTIONS = {"DropRecord": "drop the record", "DropDataset": "stop the run"}


@dataclass
class SectionDiff:
    name: str
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.added)


@dataclass
class VersionDiff:
    sections: list[SectionDiff]
    unified: str  # the unified diff of the two JSON texts ("" when they are equal)

    @property
    def changed_sections(self) -> list[SectionDiff]:
        return [section for section in self.sections if section.changed]


# -- reading a document as lines ------------------------------------------------------------------


def document_lines(document: Any) -> dict[str, list[str]]:
    """The document as readable lines, per section. Never raises: a part with an unexpected shape
    is shown as its JSON."""
    doc = document if isinstance(document, dict) else {}
    return {
        "Flow details": _details(doc),
        "Source": _endpoint(doc.get("sourceFlowConfig"), "sourceConnectorProperties"),
        "Destination": [line for index, config in enumerate(_as_list(doc.get("destinationFlowConfigList")))
                        for line in _endpoint(config, "destinationConnectorProperties",
                                              f"#{index + 1} " if index else "")],
        "Mapping, filters and validations": [task_line(task) for task in _as_list(doc.get("tasks"))],
        "Trigger": _trigger(doc.get("triggerConfig"), doc.get("sourceFlowConfig")),
    }


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _details(doc: dict) -> list[str]:
    lines = [f"Name: {doc.get('flowName', '')}"]
    if doc.get("description"):
        lines.append(f"Description: {doc['description']}")
    if doc.get("kmsArn"):
        lines.append(f"Encryption key: {doc['kmsArn']}")
    tags = doc.get("tags")
    if isinstance(tags, dict):
        lines.extend(f"Tag {key} = {value}" for key, value in tags.items())
    elif tags is not None:
        lines.append(f"Tags: {_compact(tags)}")
    return lines


def _endpoint(config: Any, properties_key: str, prefix: str = "") -> list[str]:
    if not isinstance(config, dict):
        return [] if config is None else [f"{prefix}{_compact(config)}"]
    connector = config.get("connectorLabel") or config.get("connectorType") or "?"
    connection = config.get("connectorProfileName", "")
    lines = [f"{prefix}Connector: {connector}", f"{prefix}Connection: {connection}"]
    properties = config.get(properties_key)
    inner = next(iter(properties.values()), None) if isinstance(properties, dict) and properties else None
    if isinstance(inner, dict):
        for key, value in inner.items():
            if isinstance(value, dict):
                lines.extend(f"{prefix}{key}.{sub}: {_value(v)}" for sub, v in value.items())
            else:
                lines.append(f"{prefix}{key}: {_value(value)}")
    elif properties is not None:
        lines.append(f"{prefix}{properties_key}: {_compact(properties)}")
    return lines


def _value(value: Any) -> str:
    return value if isinstance(value, str) else _compact(value)


def task_line(task: Any) -> str:
    """One task as a person reads it: "Map Name -> name", "Filter amount > 100"."""
    if not isinstance(task, dict):
        return _compact(task)
    kind = task.get("taskType")
    sources = [str(name) for name in _as_list(task.get("sourceFields"))]
    props = task.get("taskProperties") if isinstance(task.get("taskProperties"), dict) else {}
    operator_map = task.get("connectorOperator")
    operator = next(iter(operator_map.values()), "") if isinstance(operator_map, dict) else ""
    target = task.get("destinationField") or ""
    first = sources[0] if sources else "?"
    words = OPERATOR_WORDS.get(operator, operator)
    if kind == "Map":
        types = ""
        if props.get("SOURCE_DATA_TYPE") or props.get("DESTINATION_DATA_TYPE"):
            types = f" ({props.get('SOURCE_DATA_TYPE', '?')} -> {props.get('DESTINATION_DATA_TYPE', '?')})"
        return f"Map {first} -> {target or first}{types}"
    if kind == "Map_all":
        excluded = props.get("EXCLUDE_SOURCE_FIELDS_LIST")
        return "Map all fields" + (f", except {excluded}" if excluded not in (None, "", "[]") else "")
    if kind == "Filter" and operator == "PROJECTION":
        return f"Read fields {', '.join(sources)}"
    if kind == "Filter":
        if operator == "BETWEEN":
            value = f"{props.get('LOWER_BOUND', '?')} and {props.get('UPPER_BOUND', '?')}"
        else:
            value = props.get("VALUES") or props.get("VALUE") or ""
            value = f"one of {value}" if props.get("VALUES") and "," in str(value) else value
        return f"Filter {first} {words} {value}".rstrip()
    if kind == "Merge":
        how = f' as "{props["CONCAT_FORMAT"]}"' if props.get("CONCAT_FORMAT") else ""
        return f"Formula {target} = {' & '.join(sources)}{how}"
    if kind == "Arithmetic":
        order = props.get("MATH_OPERATION_FIELDS_ORDER")
        names = [name.strip() for name in order.split(",")] if isinstance(order, str) and order else sources
        return f"Formula {target} = {f' {words} '.join(names)}"
    if kind == "Mask":
        char = props.get("MASK_VALUE", "*")
        length = props.get("MASK_LENGTH", "?")
        which = {"MASK_ALL": "all characters", "MASK_FIRST_N": f"first {length} characters",
                 "MASK_LAST_N": f"last {length} characters"}.get(operator, operator)
        return f"Mask {first}: {which} with {char}"
    if kind == "Truncate":
        return f"Truncate {first} to {props.get('TRUNCATE_LENGTH', '?')} characters"
    if kind == "Validate":
        chosen = props.get("VALIDATION_ACTION", "DropRecord")
        action = VALIDATION_ACTIONS.get(chosen, chosen)
        return f"Validate {first}: if it {words}, {action}"
    rest = {key: value for key, value in task.items() if key not in ("taskType",)}
    return f"{kind} {_compact(rest)}"


def _trigger(config: Any, source: Any) -> list[str]:
    if not isinstance(config, dict):
        return [] if config is None else [_compact(config)]
    lines = [f"Runs: {config.get('triggerType', '?')}"]
    properties = config.get("triggerProperties")
    scheduled = properties.get("Scheduled") if isinstance(properties, dict) else None
    if isinstance(scheduled, dict):
        lines.extend(f"{key}: {_value(value)}" for key, value in scheduled.items())
    elif properties is not None:
        lines.append(f"triggerProperties: {_compact(properties)}")
    pull = source.get("incrementalPullConfig") if isinstance(source, dict) else None
    if isinstance(pull, dict) and pull.get("datetimeTypeFieldName"):
        lines.append(f"Timestamp field: {pull['datetimeTypeFieldName']}")
    return lines


# -- comparing --------------------------------------------------------------------------------------


def _section_diff(name: str, old: list[str], new: list[str]) -> SectionDiff:
    result = SectionDiff(name)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            result.unchanged += i2 - i1
            continue
        result.removed.extend(old[i1:i2])
        result.added.extend(new[j1:j2])
    return result


def diff_documents(old: Any, new: Any, *, old_text: str | None = None, new_text: str | None = None,
                   old_label: str = "before", new_label: str = "after") -> VersionDiff:
    old_lines, new_lines = document_lines(old), document_lines(new)
    sections = [_section_diff(name, old_lines[name], new_lines[name]) for name in SECTIONS]
    return VersionDiff(sections, unified_json_diff(old, new, old_text=old_text, new_text=new_text,
                                                    old_label=old_label, new_label=new_label))


def _pretty(document: Any, text: str | None) -> list[str]:
    """Indented JSON in the document's own key order (the stored text is kept as written)."""
    if text is not None:
        try:
            document = json.loads(text)
        except ValueError:
            return text.splitlines()
    return json.dumps(document, indent=2, ensure_ascii=False).splitlines()


def unified_json_diff(old: Any, new: Any, *, old_text: str | None = None, new_text: str | None = None,
                      old_label: str = "before", new_label: str = "after") -> str:
    return "\n".join(difflib.unified_diff(_pretty(old, old_text), _pretty(new, new_text),
                                          fromfile=old_label, tofile=new_label, lineterm="", n=3))


def change_summary(old: Any, new: Any) -> str:
    """"Changed tasks (2 lines), trigger" — which sections differ; for the version list."""
    if old is None:
        return "Created"
    diff = diff_documents(old, new)
    parts = []
    for section in diff.changed_sections:
        count = max(len(section.removed), len(section.added))
        parts.append(f"{SHORT_NAMES[section.name]} ({count} line{'s' if count != 1 else ''})")
    if not parts:
        return "No change in meaning" if diff.unified else "No change"
    return "Changed " + ", ".join(parts)


def summaries(documents: Iterable[tuple[int, Any]]) -> dict[int, str]:
    """{version number: change summary} for versions given oldest first."""
    result: dict[int, str] = {}
    previous: Any = None
    for number, document in documents:
        result[number] = change_summary(previous, document)
        previous = document
    return result
