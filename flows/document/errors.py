"""Errors that name the JSON path of what is wrong, and the collector the checks write into."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

Step = str | int
Path = tuple[Step, ...]

ROOT = "(document)"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUB_PATH_STEP = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


@dataclass(frozen=True)
class DocumentError:
    """One problem: where (`tasks[2].taskType`) and what (`unknown value "Mapp" (...)`)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DocumentInvalid(Exception):
    """A flow document (or the JSON text of one) that cannot be used; `.errors` says why."""

    def __init__(self, errors: list[DocumentError]):
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = errors


def format_path(path: Path) -> str:
    """`("tasks", 2, "taskType")` -> `tasks[2].taskType`; keys that are not plain names are
    quoted (`tags["sluice:owner"]`) so a key holding a dot cannot be misread as two steps."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        elif isinstance(step, str) and _IDENTIFIER.fullmatch(step):
            text += f".{step}" if text else step
        else:
            text += f"[{json.dumps(str(step), ensure_ascii=False)}]"
    return text or ROOT


def parse_sub_path(sub_path: str) -> Path:
    """A connector's "customProperties.fileType" or "idFieldNames[0]" as steps."""
    steps: list[Step] = []
    for index, name in _SUB_PATH_STEP.findall(sub_path or ""):
        steps.append(int(index) if index else name)
    return tuple(steps)


def _position(doc: Any, path: Path) -> tuple[int, ...]:
    """Where `path` sits in the document, for sorting: the index of each key among its siblings
    (list index for lists). A key that is missing sorts first among its siblings."""
    position: list[int] = []
    node = doc
    for step in path:
        if isinstance(node, dict) and not isinstance(step, int) and step in node:
            position.append(list(node).index(step))
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            position.append(step)
            node = node[step]
        else:
            position.append(-1)
            node = None
    return tuple(position)


class Problems:
    """Collects problems as the checks find them; `sorted_errors` puts them in document order, so
    the order of the checks in the code never decides the order a person reads them in."""

    def __init__(self) -> None:
        self._found: list[tuple[Path, str]] = []

    def add(self, path: Path, message: str) -> None:
        self._found.append((path, message))

    def __len__(self) -> int:
        return len(self._found)

    def sorted_errors(self, doc: Any) -> list[DocumentError]:
        ordered = sorted(self._found, key=lambda found: _position(doc, found[0]))
        return [DocumentError(format_path(path), message) for path, message in ordered]
