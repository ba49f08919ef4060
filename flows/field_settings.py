"""A flow's tasks for people, as the flow page's and the review step's "Data field settings" show
them: in the words the wizard offered (flows/engine/words.py), not in task types and operators.
A formula reads `label = name + " @ " + city` on the field it writes (AppFlow's Merge writes
"name,city" and a Map renames it: that Map is the formula's, not a mapping of its own); a filter
made as "is one of" reads "is one of"; a check reads "When Amount is null: Stop the run"."""

from __future__ import annotations

import json
from typing import Any

from flows.engine.plan import renamed_by_map
from flows.engine.taskspec import read_tasks

KINDS = {"filter": "Filter", "derive": "Formula", "modify": "Modify", "validate": "Check"}


def field_settings(tasks: Any) -> dict[str, Any]:
    """{"map_all": excluded names or None, "mappings": [...], "projection": [...], "other": [...]}:
    each "other" row has the task's kind, the field it is about and what it does in words."""
    settings: dict[str, Any] = {"map_all": None, "mappings": [], "projection": [], "other": []}
    task_list = tasks if isinstance(tasks, list) else []
    parsed = read_tasks(task_list)
    produced = {d.destination for d in parsed.derive}
    renamed = renamed_by_map(parsed, {name: 0 for name in produced})
    worded: dict[int, dict[str, str]] = {}
    for criterion in parsed.filters:
        worded[criterion.task] = _row("filter", criterion.field, criterion.describe(typed=False))
    for derived in parsed.derive:
        shown = renamed.get(derived.destination, derived.destination)
        worded[derived.task] = _row("derive", shown, derived.describe(shown))
    for modification in parsed.modify:
        words = modification.describe()
        worded[modification.task] = _row("modify", modification.field, words[:1].upper() + words[1:])
    for validation in parsed.validations:
        worded[validation.task] = _row("validate", validation.field, validation.describe())
    for index, task in enumerate(task_list):
        if not isinstance(task, dict):
            continue
        task_type = task.get("taskType")
        operator = next(iter((task.get("connectorOperator") or {}).values()), "")
        properties = task.get("taskProperties") or {}
        sources = [str(f) for f in task.get("sourceFields") or [] if f != ""]
        if task_type == "Map_all":
            settings["map_all"] = _excluded(properties.get("EXCLUDE_SOURCE_FIELDS_LIST", "[]"))
        elif task_type == "Map":
            source = ", ".join(sources)
            if source in renamed and renamed[source] == task.get("destinationField"):
                continue  # the formula's own Map: its row already names the field
            settings["mappings"].append({
                "source": source,
                "destination": task.get("destinationField") or source,
                "source_type": properties.get("SOURCE_DATA_TYPE", ""),
                "destination_type": properties.get("DESTINATION_DATA_TYPE", ""),
            })
        elif task_type == "Filter" and operator == "PROJECTION":
            settings["projection"].extend(sources)
        elif index in worded:
            settings["other"].append(worded[index])
        elif task_type == "Partition":
            settings["other"].append({"kind": "Partition", "field": ", ".join(sources),
                                      "words": f"Split the output into folders by {', '.join(sources)}"})
        else:
            # a task the engine cannot read (the document check names why): shown as it is written
            settings["other"].append({
                "kind": str(task_type), "field": ", ".join(sources),
                "words": " ".join([operator if operator != "NO_OP" else "",
                                   *(f"{k}={v}" for k, v in properties.items())]).strip(),
            })
    return settings


def _row(kind: str, field: str, words: str) -> dict[str, str]:
    return {"kind": KINDS[kind], "field": field, "words": words}


def _excluded(value: Any) -> list[str]:
    try:
        excluded = json.loads(value) if isinstance(value, str) else list(value)
    except (TypeError, ValueError):
        excluded = [str(value)]
    return [str(name) for name in excluded]
