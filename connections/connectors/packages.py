"""Connector packages installed in this Python environment: found, described, and loaded only when
asked to.

A package offers a connector through the entry point group `sluice.connectors` (name: the
connectorLabel, value: "module:Class"). Finding and describing one reads package metadata and
the connector module's source text, never imports it: `pip install` alone must not put code in
the credential path. Only `load()` imports, and only registration (connections/registrations.py)
and the registry's lookup of a registered connector call it. Django-free.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from connections.connectors.base import Connector, ConnectorError

GROUP = "sluice.connectors"
# Class attributes shown before registration, read from the source text when written as literals.
DECLARED = ("display_name", "description", "connector_type", "connector_label", "can_be_source",
            "can_be_destination", "auth_kind", "trigger_types", "write_operations", "filter_operators",
            "requires_sdk")
# Top-level module of a package -> the installed version its loaded modules came from.
_imported_versions: dict[str, str] = {}


@dataclass(frozen=True)
class InstalledConnector:
    """One `sluice.connectors` entry point of an installed distribution."""

    label: str  # the entry point's name: the connectorLabel it is registered under
    package: str  # the distribution's name, e.g. sluice-connector-sample
    version: str
    entry_point: str  # "module:Class"
    summary: str = ""
    declared: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def module(self) -> str:
        return self.entry_point.partition(":")[0].strip()

    @property
    def class_name(self) -> str:
        return self.entry_point.partition(":")[2].strip()


def installed() -> list[InstalledConnector]:
    """Every installed entry point of the group, by label; metadata is read afresh each time, so a
    package installed or upgraded since the process started is seen."""
    importlib.invalidate_caches()
    found: dict[str, InstalledConnector] = {}
    for dist in metadata.distributions():
        for ep in dist.entry_points:
            if ep.group == GROUP and ep.name not in found:
                found[ep.name] = InstalledConnector(
                    label=ep.name, package=dist.metadata["Name"] or "", version=dist.version,
                    entry_point=ep.value, summary=dist.metadata["Summary"] or "",
                )
    return [found[label] for label in sorted(found)]


def find(label: str) -> InstalledConnector | None:
    return next((item for item in installed() if item.label == label), None)


def describe(item: InstalledConnector) -> InstalledConnector:
    """The same entry, with what its class declares as literals in its source (nothing is run)."""
    try:
        path = _module_path(item.module)
        declared = _declared(path.read_text(encoding="utf-8"), item.class_name) if path else {}
    except (OSError, SyntaxError, ValueError):
        declared = {}
    return InstalledConnector(item.label, item.package, item.version, item.entry_point, item.summary,
                              declared)


def _module_path(dotted: str) -> Path | None:
    """Where a module's source is, found the way the import system finds it but without running
    any package's __init__ (importlib.util.find_spec of a submodule would import its parents)."""
    top, *rest = dotted.split(".")
    spec = importlib.util.find_spec(top) if top not in sys.modules else sys.modules[top].__spec__
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    path = Path(spec.origin) if spec.origin and not rest else None
    for i, part in enumerate(rest):
        last = i == len(rest) - 1
        candidates = [Path(loc) / part for loc in locations]
        if last:
            path = next((c.with_suffix(".py") for c in candidates if c.with_suffix(".py").is_file()),
                        next((c / "__init__.py" for c in candidates if (c / "__init__.py").is_file()), None))
        else:
            locations = [str(c) for c in candidates if c.is_dir()]
    return path


def _declared(source: str, class_name: str) -> dict[str, Any]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            found: dict[str, Any] = {}
            for statement in node.body:
                target, value = _assignment(statement)
                if target in DECLARED:
                    try:
                        found[target] = ast.literal_eval(value)
                    except ValueError:
                        continue  # computed, not a literal: shown once registered
                elif target == "config_fields" and isinstance(value, ast.Tuple | ast.List):
                    found["config_fields"] = [c.args[0].value for c in value.elts if isinstance(c, ast.Call)
                                              and c.args and isinstance(c.args[0], ast.Constant)]
            return found
    return {}


def _assignment(statement: ast.stmt) -> tuple[str, Any]:
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
        return statement.target.id, statement.value
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0],
                                                                                          ast.Name):
        return statement.targets[0].id, statement.value
    return "", None


def load(item: InstalledConnector) -> type[Connector]:
    """Import the entry point's class. Modules of the package left from another installed version
    are dropped first, so an upgrade registered since is what runs. Raises ConnectorError naming
    what went wrong; the traceback stays with the caller's log."""
    top = item.module.split(".")[0]
    if _imported_versions.get(top, item.version) != item.version:
        for name in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
            del sys.modules[name]
    _imported_versions[top] = item.version
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(item.module)
    except Exception as exc:
        raise ConnectorError(f"{item.package} {item.version}: importing {item.module} failed: "
                             f"{type(exc).__name__}: {exc}") from exc
    cls = getattr(module, item.class_name, None)
    if cls is None:
        raise ConnectorError(f"{item.package} {item.version}: {item.module} has no {item.class_name} "
                             f"(its entry point says {item.entry_point}).")
    return cls
