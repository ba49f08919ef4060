"""The connector contract: every connector in the registry declares itself sanely and survives
a round trip (test, list, describe, read, write) against its fixture in contract_fixtures.py.

A connector without a fixture fails here: adding a connector means adding its fixture."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyarrow as pa
import pytest

from connections.connectors.base import (
    ConfigField,
    Connector,
    Entity,
    EntityField,
    SourceBatch,
    Window,
    WriteResult,
)
from connections.connectors.registry import CONNECTORS, get_connector_class
from connections.tests.contract_fixtures import FIXTURES, ContractFixture

AUTH_KINDS = {"oauth2", "basic", "api_key", "client_credentials", "none", "per_connection"}
FIELD_KINDS = {"string", "secret", "url", "path", "choice", "boolean", "integer", "text"}
TRIGGERS = {"OnDemand", "Scheduled", "Event"}
WRITE_OPERATIONS = {"INSERT", "UPSERT", "UPDATE", "DELETE"}
OPERATORS = {
    "PROJECTION",
    "LESS_THAN",
    "GREATER_THAN",
    "CONTAINS",
    "BETWEEN",
    "LESS_THAN_OR_EQUAL_TO",
    "GREATER_THAN_OR_EQUAL_TO",
    "EQUAL_TO",
    "NOT_EQUAL_TO",
    "ADDITION",
    "MULTIPLICATION",
    "DIVISION",
    "SUBTRACTION",
    "MASK_ALL",
    "MASK_FIRST_N",
    "MASK_LAST_N",
    "VALIDATE_NON_NULL",
    "VALIDATE_NON_ZERO",
    "VALIDATE_NON_NEGATIVE",
    "VALIDATE_NUMERIC",
    "NO_OP",
}
# a token URL (SAP OData's tokenUrl, botocore's name) is an address, not a token
SECRET_LOOKING = re.compile(r"password|secret|token(?!_?url)|api_?key|private_?key", re.IGNORECASE)
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
    assert issubclass(cls, Connector)
    assert cls.key() == key, "the registry key is the connectorLabel, or the connectorType"
    assert cls.connector_type, "connector_type is AppFlow's connectorType"
    if cls.connector_type == "CustomConnector":
        assert cls.connector_label, "a CustomConnector needs a connector_label"
    assert cls.properties_key, "properties_key names the block in source/destinationConnectorProperties"
    assert cls.display_name.strip() and cls.description.strip()
    assert cls.can_be_source or cls.can_be_destination
    assert cls.auth_kind in AUTH_KINDS
    names = [f.name for f in cls.config_fields]
    assert len(names) == len(set(names)), f"config field names repeat: {names}"
    for f in cls.config_fields:
        assert isinstance(f, ConfigField) and f.name and f.label, f
        assert f.kind in FIELD_KINDS, f"{f.name}: unknown kind {f.kind}"
        if f.kind == "secret" or SECRET_LOOKING.search(f.name):
            assert f.secret, f"{f.name} looks secret: mark it secret=True"
        if f.kind == "choice":
            assert f.choices, f"{f.name}: a choice needs choices"
    assert cls.secret_field_names() == {f.name for f in cls.config_fields if f.secret}
    assert set(cls.trigger_types) <= TRIGGERS and "OnDemand" in cls.trigger_types
    assert cls.fastest_schedule_minutes >= 1
    assert set(cls.filter_operators) <= OPERATORS
    assert set(cls.write_operations) <= WRITE_OPERATIONS
    if cls.can_be_destination:
        assert cls.write_operations, "a destination says which write operations it supports"
    assert cls.oauth_client_auth in ("client_secret_basic", "client_secret_post")


@pytest.mark.parametrize("key", KEYS)
def test_round_trip(key, tmp_path, monkeypatch):
    fixture = fixture_for(key, tmp_path, monkeypatch)
    cls = get_connector_class(key)
    connector = cls()
    conn = fixture.connection
    connector.test(conn)
    assert all(isinstance(e, Entity) and e.name for e in connector.list_entities(conn))

    tables = [fixture.sample]
    if cls.can_be_source:
        assert fixture.source_props is not None, "a source connector's fixture gives source_props"
        assert cls.check_source_properties(fixture.source_props) == []
        entity = cls.entity_name(fixture.source_props)
        fields = connector.describe_entity(conn, entity)
        assert fields and all(isinstance(f, EntityField) and f.name for f in fields)
        batches = list(connector.read(conn, entity, None, [], Window(), fixture.source_props))
        assert batches and all(isinstance(b, SourceBatch) and isinstance(b.table, pa.Table) for b in batches)
        assert all(b.bytes_read >= 0 for b in batches)
        tables = [b.table for b in batches if b.table.num_columns]
        assert sum(t.num_rows for t in tables) > 0
        assert {f.name for f in fields} <= set(tables[0].column_names)

        first = fields[0].name
        chosen = list(connector.read(conn, entity, [first], [], Window(), fixture.source_props))
        assert all(b.table.column_names == [first] for b in chosen if b.table.num_columns)

    if cls.can_be_destination:
        assert fixture.destination_props is not None, (
            "a destination connector's fixture gives destination_props"
        )
        assert cls.check_destination_properties(fixture.destination_props) == []
        entity = cls.entity_name(fixture.destination_props)
        result = connector.write(
            conn, entity, iter(tables), {**fixture.destination_props, "executionId": "contract-1"}
        )
        assert isinstance(result, WriteResult)
        assert result.records_written == sum(t.num_rows for t in tables)
        assert result.bytes_written >= 0


@pytest.mark.parametrize("key", [k for k in KEYS if get_connector_class(k).can_be_destination])
def test_write_lets_a_failing_batch_stream_raise(key, tmp_path, monkeypatch):
    fixture = fixture_for(key, tmp_path, monkeypatch)
    cls = get_connector_class(key)
    failure = RuntimeError("the source broke")

    def batches() -> Iterator[pa.Table]:
        yield fixture.sample
        raise failure

    with pytest.raises(RuntimeError) as caught:
        cls().write(
            fixture.connection,
            cls.entity_name(fixture.destination_props),
            batches(),
            {**fixture.destination_props, "executionId": "contract-2"},
        )
    assert caught.value is failure


def test_a_connector_without_a_fixture_fails_the_contract(tmp_path, monkeypatch):
    with pytest.raises(pytest.fail.Exception, match='"NewThing" has no contract fixture'):
        fixture_for("NewThing", tmp_path, monkeypatch)
