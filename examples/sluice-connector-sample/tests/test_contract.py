"""Sluice's connector contract, against the local Sample Helpdesk (tests/server.py)."""

from __future__ import annotations

import pytest
from server import API_KEY, serve
from sluice_connector_sample.connector import SampleHelpdeskConnector

from sluice_sdk import ConnectionInfo, Window
from sluice_sdk.testing import assert_declaration, assert_round_trip


@pytest.fixture
def helpdesk(monkeypatch):
    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")  # the guarded client refuses loopback otherwise
    server = serve()
    yield server
    server.stop()


def connection(server) -> ConnectionInfo:
    return ConnectionInfo("sample", "CustomConnector", "SampleHelpdesk", {"instanceUrl": server.base},
                          {"apiKey": API_KEY})


def test_declaration():
    assert_declaration(SampleHelpdeskConnector)


def test_contract(helpdesk):
    assert_round_trip(SampleHelpdeskConnector, connection(helpdesk), source_props={"entityName": "tickets"})


def test_status_is_pushed_down(helpdesk):
    status = [{"field": "status", "operator": "EQUAL_TO", "values": ["open"]}]
    batches = SampleHelpdeskConnector().read(connection(helpdesk), "tickets", ["id", "status"], status, Window(), {})
    assert {s for b in batches for s in b.table.column("status").to_pylist()} == {"open"}
    assert all("status=open" in path for path in helpdesk.requests if "tickets" in path)
