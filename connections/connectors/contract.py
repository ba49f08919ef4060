"""The connector contract, as checks a program can run: what a connector class must declare, and a
round trip (test, list, describe, read, write) against a working connection.

One source for three callers: the contract test over the built-in registry
(connections/tests/test_contract.py), registration of an installed connector package (which refuses
a class with any declaration problem, naming them), and a package's own tests through the SDK
(sluice_sdk.testing). Django-free, like every connector."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa

from connections.connectors.base import (
    ConfigField,
    ConnectionInfo,
    Connector,
    Entity,
    EntityField,
    SourceBatch,
    Window,
    WriteResult,
)

AUTH_KINDS = {"oauth2", "basic", "api_key", "client_credentials", "none", "per_connection"}
FIELD_KINDS = {"string", "secret", "url", "path", "choice", "boolean", "integer", "text"}
TRIGGERS = {"OnDemand", "Scheduled", "Event"}
WRITE_OPERATIONS = {"INSERT", "UPSERT", "UPDATE", "DELETE"}
OPERATORS = {
    "PROJECTION", "LESS_THAN", "GREATER_THAN", "CONTAINS", "BETWEEN", "LESS_THAN_OR_EQUAL_TO",
    "GREATER_THAN_OR_EQUAL_TO", "EQUAL_TO", "NOT_EQUAL_TO", "ADDITION", "MULTIPLICATION", "DIVISION",
    "SUBTRACTION", "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL", "VALIDATE_NON_ZERO",
    "VALIDATE_NON_NEGATIVE", "VALIDATE_NUMERIC", "NO_OP",
}
# a token URL (SAP OData's tokenUrl, botocore's name) is an address, not a token
SECRET_LOOKING = re.compile(r"password|secret|token(?!_?url)|api_?key|private_?key", re.IGNORECASE)
HOST_LIKE = re.compile(r"host|url|endpoint|port|subdomain|instance|region", re.IGNORECASE)


def declaration_problems(cls: Any) -> list[str]:
    """What is wrong with a connector class's declarations, one sentence each; [] when sound."""
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        return [f"{cls!r} is not a subclass of sluice_sdk.Connector"]
    problems: list[str] = []

    def need(ok: Any, message: str) -> None:
        if not ok:
            problems.append(message)

    need(cls.connector_type, "connector_type is missing (AppFlow's connectorType, e.g. CustomConnector)")
    if cls.connector_type == "CustomConnector":
        need(cls.connector_label, "a CustomConnector needs a connector_label")
    need(cls.properties_key, "properties_key is missing (the block in source/destinationConnectorProperties)")
    need(str(cls.display_name).strip() and str(cls.description).strip(),
         "display_name and description are required")
    need(cls.can_be_source or cls.can_be_destination, "it is neither a source nor a destination")
    need(cls.auth_kind in AUTH_KINDS, f"auth_kind {cls.auth_kind!r} is not one of {sorted(AUTH_KINDS)}")
    problems += _config_field_problems(cls)
    need(set(cls.trigger_types) <= TRIGGERS and "OnDemand" in cls.trigger_types,
         f"trigger_types must include OnDemand and be among {sorted(TRIGGERS)}")
    need(isinstance(cls.fastest_schedule_minutes, int) and cls.fastest_schedule_minutes >= 1,
         "fastest_schedule_minutes must be a whole number of minutes, at least 1")
    need(set(cls.filter_operators) <= OPERATORS,
         f"unknown filter operators: {sorted(set(cls.filter_operators) - OPERATORS)}")
    need(set(cls.write_operations) <= WRITE_OPERATIONS,
         f"unknown write operations: {sorted(set(cls.write_operations) - WRITE_OPERATIONS)}")
    if cls.can_be_destination:
        need(cls.write_operations, "a destination says which write operations it supports (write_operations)")
    need(cls.oauth_client_auth in ("client_secret_basic", "client_secret_post"),
         "oauth_client_auth must be client_secret_basic or client_secret_post")
    for method, wanted in (("test", True), ("list_entities", True), ("describe_entity", cls.can_be_source),
                           ("read", cls.can_be_source), ("write", cls.can_be_destination)):
        if wanted and getattr(cls, method) is getattr(Connector, method):
            problems.append(f"it does not implement {method}()")
    return problems


def _config_field_problems(cls: type[Connector]) -> list[str]:
    problems: list[str] = []
    names = [getattr(f, "name", None) for f in cls.config_fields]
    if len(names) != len(set(names)):
        problems.append(f"config field names repeat: {names}")
    for f in cls.config_fields:
        if not (isinstance(f, ConfigField) and f.name and f.label):
            problems.append(f"config field {f!r} must be a ConfigField with a name and a label")
            continue
        if f.kind not in FIELD_KINDS:
            problems.append(f"config field {f.name}: unknown kind {f.kind!r} (one of {sorted(FIELD_KINDS)})")
        if (f.kind == "secret" or SECRET_LOOKING.search(f.name)) and not f.secret:
            problems.append(f"config field {f.name} looks secret: mark it secret=True")
        if f.kind == "choice" and not f.choices:
            problems.append(f"config field {f.name}: a choice needs choices")
        if HOST_LIKE.search(f.name) and f.sends_credentials_to is None:
            problems.append(f"config field {f.name} looks like an address: declare sends_credentials_to=True "
                            "(changing it must clear the stored credentials) or False")
        if f.sends_credentials_to and f.secret:
            problems.append(f"config field {f.name}: an address is a plain property, not a secret")
    if (cls.secret_field_names() or cls.auth_kind == "oauth2") and not cls.credential_destination_fields():
        problems.append("it keeps credentials but declares no field that says where they go "
                        "(sends_credentials_to=True on its host or URL field)")
    return problems


def round_trip(
    cls: type[Connector],
    conn: ConnectionInfo,
    *,
    source_props: Mapping[str, Any] | None = None,
    destination_props: Mapping[str, Any] | None = None,
    sample: pa.Table | None = None,
) -> None:
    """Test, list, describe, read (all fields, then one) and write against a working connection;
    raises AssertionError saying which step broke the contract."""
    problems = declaration_problems(cls)
    assert not problems, "; ".join(problems)
    connector = cls()
    connector.test(conn)
    assert all(isinstance(e, Entity) and e.name for e in connector.list_entities(conn)), \
        "list_entities() must return Entity values with names"
    tables = [sample if sample is not None else pa.table({"Id": ["1", "2"], "Name": ["Acme", "Globex"]})]
    if cls.can_be_source:
        assert source_props is not None, "a source connector's round trip needs source_props"
        assert cls.check_source_properties(source_props) == [], \
            "check_source_properties() refused source_props"
        entity = cls.entity_name(source_props)
        fields = connector.describe_entity(conn, entity)
        assert fields and all(isinstance(f, EntityField) and f.name for f in fields), \
            "describe_entity() must return EntityField values with names"
        batches = list(connector.read(conn, entity, None, [], Window(), source_props))
        assert batches and all(isinstance(b, SourceBatch) and isinstance(b.table, pa.Table)
                               for b in batches), \
            "read() must yield SourceBatch values holding pyarrow Tables"
        assert all(b.bytes_read >= 0 for b in batches), "SourceBatch.bytes_read must not be negative"
        tables = [b.table for b in batches if b.table.num_columns]
        assert sum(t.num_rows for t in tables) > 0, "read() yielded no records"
        assert {f.name for f in fields} <= set(tables[0].column_names), \
            "read() with fields=None must return every described field"
        first = fields[0].name
        chosen = list(connector.read(conn, entity, [first], [], Window(), source_props))
        assert all(b.table.column_names == [first] for b in chosen if b.table.num_columns), \
            "read() must return only the fields asked for"
    if cls.can_be_destination:
        assert destination_props is not None, "a destination connector's round trip needs destination_props"
        assert cls.check_destination_properties(destination_props) == [], \
            "check_destination_properties() refused destination_props"
        entity = cls.entity_name(destination_props)
        options = {**destination_props, "executionId": "contract-1"}
        result = connector.write(conn, entity, iter(tables), options)
        assert isinstance(result, WriteResult), "write() must return a WriteResult"
        assert result.records_written == sum(t.num_rows for t in tables), "write() must count what it wrote"
        assert result.bytes_written >= 0, "WriteResult.bytes_written must not be negative"


def write_lets_a_failing_stream_raise(cls: type[Connector], conn: ConnectionInfo,
                                      destination_props: Mapping[str, Any], sample: pa.Table) -> None:
    """A destination's write() lets the batches' own exception through (and so discards its output)."""
    failure = RuntimeError("the source broke")

    def batches() -> Iterator[pa.Table]:
        yield sample
        raise failure

    try:
        cls().write(conn, cls.entity_name(destination_props), batches(),
                    {**destination_props, "executionId": "contract-2"})
    except RuntimeError as exc:
        assert exc is failure, "write() must re-raise the batches' own exception"
    else:
        raise AssertionError("write() swallowed the exception raised by its batches")
