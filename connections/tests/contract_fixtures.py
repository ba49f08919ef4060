"""Per-connector fixtures for the contract test (test_contract.py).

Every key of the connector registry needs an entry here: a function (tmp_path, monkeypatch) that
returns a working connection and the document properties for a source and/or a destination. A
connector that needs a remote service stands one up here (a local fake server, moto, ...) or
records its replies, so the contract runs anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from connections.connectors.base import ConnectionInfo


@dataclass
class ContractFixture:
    connection: ConnectionInfo
    # sourceConnectorProperties block (None when the connector cannot be a source)
    source_props: Mapping[str, Any] | None = None
    # destinationConnectorProperties block (None when the connector cannot be a destination)
    destination_props: Mapping[str, Any] | None = None
    # what to write when the connector is not also a source
    sample: pa.Table = field(default_factory=lambda: pa.table({"Id": ["1", "2"], "Name": ["Acme", "Globex"]}))


def local_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    base = tmp_path / "base"
    root = base / "contract"
    root.mkdir(parents=True)
    monkeypatch.setenv("SLUICE_LOCAL_FILES_BASE", str(base))
    (root / "accounts.csv").write_text("Id,Name,City\n1,Acme,Oslo\n2,Globex,Lyon\n3,Initech,Austin\n")
    return ContractFixture(
        connection=ConnectionInfo("contract", "CustomConnector", "LocalFiles", {"rootPath": str(root)}),
        source_props={"entityName": "accounts.csv"},
        destination_props={"entityName": "out/accounts", "customProperties": {"fileType": "CSV"}},
    )


def demo_crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContractFixture:
    """The Demo CRM's API answered by a local server from the same generated data (the OAuth side
    is covered by connections/tests/test_oauth.py)."""
    from connections.tests.democrm_server import serve

    base = serve(monkeypatch, token="contract-token").base
    return ContractFixture(
        connection=ConnectionInfo("contract", "CustomConnector", "DemoCRM",
                                  {"instanceUrl": base, "clientId": "sluice"},
                                  {"clientSecret": "s", "accessToken": "contract-token"}),
        source_props={"entityName": "Opportunities"},
    )


FIXTURES: dict[str, Callable[[Path, pytest.MonkeyPatch], ContractFixture]] = {
    "LocalFiles": local_files,
    "DemoCRM": demo_crm,
}
