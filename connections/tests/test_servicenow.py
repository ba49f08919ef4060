"""The ServiceNow source against a local server speaking the REST Table API
(connections/tests/servicenow_server.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connections.connectors.base import ConnectionInfo, ConnectorError, MissingAtSource, Window
from connections.connectors.servicenow import ServiceNowConnector
from connections.connectors.servicenow.client import instance_url
from connections.tests import servicenow_server
from connections.tests.servicenow_server import serve

USER, PASSWORD = "sluice.integration", "Pässwörd^1"


@pytest.fixture
def instance(monkeypatch):
    return serve(monkeypatch, USER, PASSWORD)


def conn_for(instance, password: str = PASSWORD) -> ConnectionInfo:
    return ConnectionInfo("sn", "Servicenow", "", {"instanceUrl": instance.base},
                          {"username": USER, "password": password})


def read(instance, entity="incident", fields=None, filters=(), window=None):
    batches = list(ServiceNowConnector().read(conn_for(instance), entity, fields, list(filters),
                                              window or Window(), {}))
    return batches, [row for b in batches for row in b.table.to_pylist()]


def flt(field, operator, *values, data_type=None):
    return {"field": field, "operator": operator, "values": list(values), "dataType": data_type}


@pytest.mark.parametrize("given, expected", [
    ("acme", "https://acme.service-now.com/"),
    ("Acme.service-now.com", "https://acme.service-now.com/"),
    ("https://acme.service-now.com/navpage.do", "https://acme.service-now.com/"),
    ("https://itsm.example.org", "https://itsm.example.org/"),
])
def test_the_instance_url_from_what_people_type(given, expected):
    assert instance_url({"instanceUrl": given}) == expected


@pytest.mark.parametrize("bad", ["", "acme corp", "a_b", "ftp//x"])
def test_a_wrong_instance_is_named(bad):
    with pytest.raises(ConnectorError, match="instanceUrl"):
        instance_url({"instanceUrl": bad})


def test_the_connection_test_signs_in(instance):
    ServiceNowConnector().test(conn_for(instance))
    assert instance.requests[-1]["path"] == "/api/now/table/sys_db_object"
    assert instance.requests[-1]["params"]["sysparm_limit"] == "1"


def test_a_wrong_password_says_so(instance):
    with pytest.raises(ConnectorError) as caught:
        ServiceNowConnector().test(conn_for(instance, password="wrong"))
    assert caught.value.permanent and "wrong user name or password" in caught.value.message
    assert "wrong" not in caught.value.message.replace("wrong user name", "")


def test_the_instance_address_is_ssrf_guarded(instance, monkeypatch):
    monkeypatch.delenv("SLUICE_NET_ALLOW")
    with pytest.raises(ConnectorError, match="loopback"):
        ServiceNowConnector().test(conn_for(instance))


def test_a_web_page_instead_of_the_api_is_named(instance):
    instance.fail_next.append((200, {}, "<html><body>Your instance is hibernating</body></html>"))
    with pytest.raises(ConnectorError, match="hibernating"):
        ServiceNowConnector().test(conn_for(instance))


def test_tables_are_listed_with_search_friendly_labels(instance):
    entities = ServiceNowConnector().list_entities(conn_for(instance))
    labels = [e.label for e in entities]
    assert labels == ["Asset audit [u_asset_audit]", "Incident [incident]", "Task [task]", "User [sys_user]"]
    assert instance.requests[-1]["params"]["sysparm_fields"] == "name,label"


def test_fields_come_from_the_dictionary_with_inherited_ones_and_types(instance):
    fields = {f.name: f for f in ServiceNowConnector().describe_entity(conn_for(instance), "incident")}
    assert "category" in fields and "short_description" in fields  # own and inherited from task
    assert fields["sys_id"].primary_key and not fields["sys_id"].nullable
    assert fields["priority"].data_type == "integer" and fields["active"].data_type == "boolean"
    assert fields["opened_at"].data_type == "datetime" and fields["assigned_to"].data_type == "string"
    assert fields["sys_updated_on"].timestamp_for_incremental and fields["sys_created_on"].timestamp_for_incremental
    assert not fields["opened_at"].timestamp_for_incremental
    assert "" not in fields  # the table's collection row is not a field
    assert instance.queries("sys_dictionary") == ["nameINincident,task^elementISNOTEMPTY^ORDERBYelement"]
    custom = {f.name: f.data_type for f in ServiceNowConnector().describe_entity(conn_for(instance), "u_asset_audit")}
    assert custom == {"sys_id": "string", "sys_created_on": "datetime", "sys_updated_on": "datetime",
                      "u_amount": "double", "u_audited": "date", "u_name": "string"}


def test_a_full_read_pages_by_offset_in_a_stable_order(instance):
    batches, rows = read(instance, fields=["sys_id", "number", "priority", "active", "sys_updated_on"])
    assert len(rows) == 2500 and len(batches) == 3
    assert [r["number"] for r in rows] == [f"INC{10000 + n:07d}" for n in range(1, 2501)]
    calls = [r["params"] for r in instance.requests if r["path"] == "/api/now/table/incident"]
    assert [(c["sysparm_offset"], c["sysparm_limit"]) for c in calls] == [("0", "1000"), ("1000", "1000"),
                                                                           ("2000", "1000")]
    assert all(c["sysparm_query"] == "ORDERBYsys_id" and c["sysparm_display_value"] == "false"
               and c["sysparm_exclude_reference_link"] == "true"
               and c["sysparm_fields"] == "sys_id,number,priority,active,sys_updated_on" for c in calls)
    assert rows[0]["priority"] == 2 and rows[0]["active"] is True and rows[2]["active"] is False
    assert rows[0]["sys_updated_on"] == "2024-03-01T09:00:00Z"


def test_the_incremental_window_becomes_the_query(instance):
    window = Window(start=datetime(2024, 3, 2, 8, 0, tzinfo=UTC), end=datetime(2024, 3, 2, 12, 0, tzinfo=UTC))
    _, rows = read(instance, fields=["number", "sys_updated_on"], window=window)
    assert [r["sys_updated_on"] for r in rows] == [f"2024-03-02T{h:02d}:00:00Z" for h in range(8, 12)]
    assert instance.queries("incident") == [
        "sys_updated_on>=2024-03-02 08:00:00^sys_updated_on<2024-03-02 12:00:00^ORDERBYsys_id"]


def test_a_window_on_another_field_and_a_wrong_one(instance):
    window = Window(start=datetime(2024, 3, 1, 10, 0, tzinfo=UTC), field="sys_created_on")
    _, rows = read(instance, fields=["number"], window=window)
    assert len(rows) == 2500 - 2  # created half an hour before each update
    assert instance.queries("incident")[-1] == "sys_created_on>=2024-03-01 10:00:00^ORDERBYsys_id"
    with pytest.raises(ConnectorError, match='"priority" is a integer field'):
        read(instance, window=Window(start=datetime(2024, 1, 1, tzinfo=UTC), field="priority"))
    with pytest.raises(ConnectorError, match='"u_nothing"'):
        read(instance, window=Window(start=datetime(2024, 1, 1, tzinfo=UTC), field="u_nothing"))


def test_pushed_down_filters_produce_the_encoded_query(instance):
    filters = [flt("priority", "GREATER_THAN_OR_EQUAL_TO", "4"),
               flt("category", "EQUAL_TO", "inquiry", "network"),
               flt("short_description", "CONTAINS", "(12"),
               flt("opened_at", "BETWEEN", "2024-03-01T00:00:00Z", "2024-04-01T00:00:00+02:00"),
               flt("state", "NOT_EQUAL_TO", "7")]
    _, rows = read(instance, fields=["number", "priority"], filters=filters)
    assert instance.queries("incident") == [
        "priority>=4^category=inquiry^ORcategory=network^short_descriptionLIKE(12"
        "^opened_atBETWEEN2024-03-01 00:00:00@2024-03-31 22:00:00^ORDERBYsys_id"]
    assert rows and all(r["priority"] >= 4 for r in rows)
    assert {r["number"] for r in rows} <= {f"INC{10000 + n:07d}" for n in range(12, 1300)}


def test_filters_that_cannot_be_encoded_stay_in_the_engine(instance):
    filters = [flt("category", "EQUAL_TO", "a^ORactive=true"),  # ^ is the separator: no escape exists
               flt("category", "EQUAL_TO", "javascript:gs.getUserID()"),  # would run as a script
               flt("category", "GREATER_THAN", "m"),  # text order differs there (case-insensitive)
               flt("priority", "GREATER_THAN", "3", data_type="string"),  # compared as text by the engine
               flt("active", "CONTAINS", "tru")]
    read(instance, fields=["number"], filters=filters)
    assert set(instance.queries("incident")) == {"ORDERBYsys_id"}


def test_a_datetime_bound_with_a_fraction_keeps_the_whole_second(instance):
    _, rows = read(instance, fields=["sys_updated_on"],
                   filters=[flt("sys_updated_on", "LESS_THAN", "2024-03-01T10:00:00.5Z")])
    assert instance.queries("incident") == ["sys_updated_on<=2024-03-01 10:00:00^ORDERBYsys_id"]
    assert [r["sys_updated_on"] for r in rows] == ["2024-03-01T09:00:00Z", "2024-03-01T10:00:00Z"]


def test_a_429_is_transient_with_retry_after(instance):
    instance.fail_next.append((429, {"Retry-After": "41"}, {"error": {"message": "Rate limit exceeded",
                                                                      "detail": ""}, "status": "failure"}))
    with pytest.raises(ConnectorError) as caught:
        read(instance)
    assert not caught.value.permanent and caught.value.retry_after == 41 and "rate limiting" in caught.value.message


def test_a_5xx_is_transient(instance):
    instance.fail_next.append((503, {}, "<html>Service Unavailable</html>"))
    with pytest.raises(ConnectorError) as caught:
        ServiceNowConnector().test(conn_for(instance))
    assert not caught.value.permanent


def test_a_403_names_the_roles(instance):
    instance.fail_next.append((403, {}, {"error": {"message": "User Not Authorized",
                                                   "detail": "ACL Exception Read Failed due to security constraints"},
                                         "status": "failure"}))
    with pytest.raises(ConnectorError, match="ACL Exception.*web_service_admin"):
        read(instance)


def test_unicode_empty_values_and_a_custom_table(instance):
    instance.tables["incident"] = [servicenow_server.incident(1, short_description="Ünïcødé — 日本語 🎫",
                                                              priority="", closed_at="", assigned_to="")]
    _, rows = read(instance, fields=["short_description", "priority", "closed_at", "assigned_to", "active"])
    assert rows == [{"short_description": "Ünïcødé — 日本語 🎫", "priority": None, "closed_at": None,
                     "assigned_to": None, "active": True}]
    _, rows = read(instance, "u_asset_audit", ["u_name", "u_amount", "u_audited"])
    assert rows[1] == {"u_name": "Laptop 2", "u_amount": 21.0, "u_audited": "2024-02-02"}


def test_a_table_or_field_that_no_longer_exists_is_named(instance):
    with pytest.raises(ConnectorError, match='no table "u_gone"'):
        read(instance, "u_gone")
    with pytest.raises(MissingAtSource, match="has no field u_removed"):
        read(instance, fields=["number", "u_removed"])


def test_source_properties_are_checked():
    assert ServiceNowConnector.check_source_properties({"object": "incident"}) == []
    problems = dict(ServiceNowConnector.check_source_properties({"object": "inc ident", "x": 1}))
    assert "not a ServiceNow table name" in problems["object"] and "x" in problems
    assert dict(ServiceNowConnector.check_source_properties({}))["object"].startswith("is required")


@pytest.mark.parametrize("value, expected", [("0.00001", "u_amount>0.00001"), ("25", "u_amount>25"),
                                             ("1e3", "u_amount>1000"), ("12.50", "u_amount>12.5")])
def test_decimal_bounds_are_written_as_plain_decimals(instance, value, expected):
    read(instance, "u_asset_audit", ["u_amount"], filters=[flt("u_amount", "GREATER_THAN", value)])
    assert instance.queries("u_asset_audit") == [f"{expected}^ORDERBYsys_id"]
