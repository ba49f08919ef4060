"""The connector contract: every connector in the registry declares itself sanely and survives
a round trip (test, list, describe, read, write) against its fixture in contract_fixtures.py.

A connector without a fixture fails here: adding a connector means adding its fixture."""

from __future__ import annotations

import pytest

from connections.connectors.base import ConfigField, Connector
from connections.connectors.contract import (
    declaration_problems,
    round_trip,
    write_lets_a_failing_stream_raise,
)
from connections.connectors.registry import CONNECTORS, get_connector_class
from connections.tests.contract_fixtures import FIXTURES, ContractFixture

KEYS = sorted(CONNECTORS)


def fixture_for(key: str, tmp_path, monkeypatch) -> ContractFixture:
    if key not in FIXTURES:
        pytest.fail(
            f'The connector "{key}" has no contract fixture. Add one to '
            "connections/tests/contract_fixtures.py (FIXTURES)."
        )
    return FIXTURES[key](tmp_path, monkeypatch)


@pytest.mark.parametrize("key", KEYS)
def test_connector_has_a_contract_fixture(key):
    assert key in FIXTURES, (
        f'The connector "{key}" has no contract fixture. Add one to '
        "connections/tests/contract_fixtures.py (FIXTURES)."
    )


@pytest.mark.parametrize("key", KEYS)
def test_declared_attributes_are_sane(key):
    cls = get_connector_class(key)
    assert cls.key() == key, "the registry key is the connectorLabel, or the connectorType"
    assert declaration_problems(cls) == []


@pytest.mark.parametrize("key", KEYS)
def test_round_trip(key, tmp_path, monkeypatch):
    fixture = fixture_for(key, tmp_path, monkeypatch)
    round_trip(get_connector_class(key), fixture.connection, source_props=fixture.source_props,
               destination_props=fixture.destination_props, sample=fixture.sample)


@pytest.mark.parametrize("key", [k for k in KEYS if get_connector_class(k).can_be_destination])
def test_write_lets_a_failing_batch_stream_raise(key, tmp_path, monkeypatch):
    fixture = fixture_for(key, tmp_path, monkeypatch)
    write_lets_a_failing_stream_raise(get_connector_class(key), fixture.connection, fixture.destination_props,
                                      fixture.sample)


def test_a_declaration_problem_is_named():
    class Broken(Connector):
        connector_type = "CustomConnector"
        display_name = description = "Broken"
        can_be_source = True
        config_fields = (ConfigField("apiToken", "string", "API token"), ConfigField("host", "string", "Host"))

    problems = declaration_problems(Broken)
    assert "a CustomConnector needs a connector_label" in problems
    assert "config field apiToken looks secret: mark it secret=True" in problems
    assert any(p.startswith("config field host looks like an address") for p in problems)
    assert "it does not implement read()" in problems


def test_a_connector_without_a_fixture_fails_the_contract(tmp_path, monkeypatch):
    with pytest.raises(pytest.fail.Exception, match='"NewThing" has no contract fixture'):
        fixture_for("NewThing", tmp_path, monkeypatch)
