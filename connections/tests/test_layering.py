"""Connectors and the shared HTTP client know nothing of flows: nothing under connections/ imports
the flows app (the runner, services, notifications depend on connections, never the other way
round). The pure engine (flows.engine, no Django) is the one exception today: the ServiceNow
query builder parses values with it."""

from __future__ import annotations

import ast
from pathlib import Path

CONNECTIONS = Path(__file__).resolve().parents[1]


def _flows_app(name: str) -> bool:
    return (name == "flows" or name.startswith("flows.")) and not name.startswith("flows.engine")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_connectors_do_not_import_flows():
    offenders = [
        f"{path.relative_to(CONNECTIONS.parent)}: {name}"
        for path in (CONNECTIONS / "connectors").rglob("*.py")
        for name in _imports(path)
        if _flows_app(name)
    ]
    assert offenders == []


def test_the_shared_http_client_and_retry_helpers_do_not_import_flows():
    for module in ("net.py", "retry.py"):
        assert not [name for name in _imports(CONNECTIONS / module) if name.split(".")[0] == "flows"]
