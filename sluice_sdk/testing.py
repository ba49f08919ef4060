"""The contract test for a connector package: the same checks Sluice runs over its built-in
connectors (connections/tests/test_contract.py) and, in part, when an admin registers a package.

In a package's tests:

    from sluice_sdk.testing import assert_declaration, assert_round_trip

    def test_contract(server):
        assert_declaration(MyConnector)
        assert_round_trip(MyConnector, connection_to(server), source_props={"entityName": "tickets"})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from connections.connectors.base import ConnectionInfo, Connector
from connections.connectors.contract import (
    declaration_problems,
    round_trip,
    write_lets_a_failing_stream_raise,
)

__all__ = ["assert_declaration", "assert_round_trip", "assert_write_lets_failures_through",
           "declaration_problems"]


def assert_declaration(cls: type[Connector]) -> None:
    """The class declares itself soundly (what registration checks); AssertionError names each problem."""
    problems = declaration_problems(cls)
    assert not problems, "; ".join(problems)


def assert_round_trip(cls: type[Connector], conn: ConnectionInfo, *,
                      source_props: Mapping[str, Any] | None = None,
                      destination_props: Mapping[str, Any] | None = None,
                      sample: pa.Table | None = None) -> None:
    """test, list_entities, describe_entity, read (every field, then one), write, against a working
    connection (a local test server of the service)."""
    round_trip(cls, conn, source_props=source_props, destination_props=destination_props, sample=sample)


def assert_write_lets_failures_through(cls: type[Connector], conn: ConnectionInfo,
                                       destination_props: Mapping[str, Any], sample: pa.Table) -> None:
    """A destination discards its output and re-raises when the batches it consumes raise."""
    write_lets_a_failing_stream_raise(cls, conn, destination_props, sample)
