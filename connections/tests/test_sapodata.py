"""SAP OData: $metadata parsing, SAP's value formats, $filter literals, and reads from the local
V2 and V4 services (connections/tests/sapodata_server.py): paging, filters, dates, errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connections.connectors.base import ConnectorError, Window
from connections.connectors.sapodata import SAPODataConnector, edmx, query, values
from connections.connectors.sapodata.client import host_address
from connections.tests.sapodata_server import (
    AUTHORIZE,
    CLIENT_ID,
    CLIENT_SECRET,
    TOKEN,
    V2_METADATA,
    V2_SERVICE,
    V4_CATALOG,
    V4_METADATA,
    V4_SERVICE,
    connection,
    serve,
)

ORDERS = f"{V2_SERVICE}/SalesOrderSet"
TRAVEL = f"{V4_SERVICE}/Travel"


def read_all(conn, entity, fields=None, filters=(), window=None, options=None):
    batches = list(SAPODataConnector().read(conn, entity, fields, list(filters), window or Window(), options or {}))
    rows = [r for b in batches for r in b.table.to_pylist()]
    return rows, batches


# --- $metadata -------------------------------------------------------------------------------


def test_v2_metadata_entity_sets_properties_keys_and_navigation():
    meta = edmx.parse(V2_METADATA.encode(), "test")
    assert meta.version == "2"
    assert sorted(meta.entity_sets) == ["BusinessPartnerSet", "ProductSet", "SalesOrderLineItemSet", "SalesOrderSet"]
    orders = meta.entity_sets["SalesOrderSet"]
    assert orders.navigation == ("ToBusinessPartner", "ToLineItems")
    amount = orders.property("GrossAmount")
    assert (amount.edm_type, amount.precision, amount.scale) == ("Edm.Decimal", 16, 3)
    assert [p.name for p in orders.properties if p.key] == ["SalesOrderID"]
    assert orders.property("SalesOrderID").nullable is False
    items = meta.entity_sets["SalesOrderLineItemSet"]
    assert [p.name for p in items.properties if p.key] == ["SalesOrderID", "ItemPosition"]


def test_v4_metadata_with_alias_qualified_types():
    meta = edmx.parse(V4_METADATA.encode(), "test")
    assert meta.version == "4"
    assert sorted(meta.entity_sets) == ["Booking", "Travel"]  # Booking's type is named by the schema's alias
    assert meta.entity_sets["Travel"].navigation == ("_Booking",)
    assert meta.entity_sets["Travel"].property("LastChangedAt").edm_type == "Edm.DateTimeOffset"


@pytest.mark.parametrize("raw, words", [
    (b"not xml", "not an EDMX document"),
    (b"<html><body>Logon</body></html>", "its root is html"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "declares a document type"),
])
def test_bad_metadata_is_refused_with_a_reason(raw, words):
    with pytest.raises(ConnectorError, match=words):
        edmx.parse(raw, "the $metadata of Z_SRV")


# --- values ----------------------------------------------------------------------------------


def test_sap_dates_convert_exactly():
    assert values.sap_date("/Date(1700000000000)/") == "2023-11-14T22:13:20Z"
    # the milliseconds are UTC; the offset (minutes) only says where the writer was
    assert values.sap_date("/Date(1700000000000+0060)/") == "2023-11-14T22:13:20Z"
    assert values.sap_date("/Date(1700000000123-0300)/") == "2023-11-14T22:13:20.123Z"
    assert values.sap_date("/Date(-86400000)/") == "1969-12-31T00:00:00Z"
    assert values.sap_date("2023-11-14") is None
    offset = edmx.Property("T", "Edm.DateTimeOffset", True)
    assert values.cell("2023-11-14T23:13:20.5+01:00", offset) == "2023-11-14T22:13:20.5Z"
    assert values.cell(None, offset) is None


def test_decimals_and_int64_as_text_lose_nothing():
    price = edmx.Property("P", "Edm.Decimal", True, 16, 3)
    assert values.cell("12345678901234.125", price) == Decimal("12345678901234.125")
    assert values.cell(0.1, price) == Decimal("0.1")
    assert str(values.arrow_type(price)) == "decimal128(16, 3)"
    assert values.cell("9007199254740993", edmx.Property("Q", "Edm.Int64", True)) == 9007199254740993


# --- $filter ---------------------------------------------------------------------------------


def test_string_values_are_quoted_and_escaped():
    assert query.quote("O'Brien") == "'O''Brien'"
    meta = edmx.parse(V2_METADATA.encode(), "t").entity_sets["SalesOrderSet"]
    f = {"field": "Note", "operator": "EQUAL_TO", "values": ["it's"], "dataType": None}
    assert query.condition(f, meta, "2") == "(Note eq 'it''s')"
    f = {"field": "GrossAmount", "operator": "BETWEEN", "values": ["1.5", "3"], "dataType": None}
    assert query.condition(f, meta, "2") == "(GrossAmount ge 1.5M and GrossAmount le 3M)"
    f = {"field": "CreatedAt", "operator": "GREATER_THAN", "values": ["2023-11-14T22:13:20Z"], "dataType": None}
    assert query.condition(f, meta, "2") == "(CreatedAt gt datetime'2023-11-14T22:13:20')"
    f = {"field": "Note", "operator": "CONTAINS", "values": ["x"], "dataType": None}
    assert query.condition(f, meta, "2") is None  # case rules differ: the engine filters


# --- reads against the local gateway ---------------------------------------------------------


def test_discovery_through_the_v2_and_v4_catalogs(monkeypatch):
    sap = serve(monkeypatch)
    connector = SAPODataConnector()
    services = connector.list_entities(connection(sap))
    assert [(e.name, e.has_children) for e in services] == [(V2_SERVICE, True)]  # only the path: never its host
    assert [e.name for e in connector.list_entities(connection(sap), V2_SERVICE)][-1] == ORDERS
    assert [e.name for e in connector.list_entities(connection(sap, "4"))] == [V4_SERVICE]
    fields = {f.name: f for f in connector.describe_entity(connection(sap), ORDERS)}
    assert fields["SalesOrderID"].primary_key and fields["GrossAmount"].data_type == "double"
    assert fields["ChangedAt"].timestamp_for_incremental and not fields["CreatedAt"].timestamp_for_incremental
    assert all("sap-client=100" in r and "sap-language=EN" in r for r in sap.requests)


def test_v2_read_pages_by_top_skip_and_converts_values(monkeypatch):
    sap = serve(monkeypatch, orders=25)
    rows, batches = read_all(connection(sap), ORDERS, options={"paginationConfig": {"maxPageSize": 10}})
    assert len(rows) == 25 and [len(b.table) for b in batches] == [10, 10, 5]
    assert rows[0] == {"SalesOrderID": "500000000", "Note": "EPM Sample Data", "CustomerID": "0100000000",
                       "CurrencyCode": "EUR", "GrossAmount": Decimal("0.125"), "ItemCount": 0,
                       "Quantity": 9007199254740993, "Delivered": True, "CreatedAt": "2023-11-14T22:13:20Z",
                       "ChangedAt": "2023-11-14T22:14:20Z"}
    assert rows[1]["Note"] == "Lieferung für Müller — ✓" and rows[2]["Note"] is None
    assert batches[0].notes == ["SAP OData: 25 records match in SalesOrderSet."]
    data = [r for r in sap.requests if "SalesOrderSet?" in r]
    assert "$skip" not in data[0] and "$skip=10&" in data[1] and "$orderby=SalesOrderID&" in data[0]


def test_v2_server_driven_paging_follows_next(monkeypatch):
    sap = serve(monkeypatch, orders=25, server_page=4)
    rows, _ = read_all(connection(sap), ORDERS, fields=["SalesOrderID"], options={"paginationConfig": {"maxPageSize": 10}})
    assert [r["SalesOrderID"] for r in rows] == [str(500000000 + i) for i in range(25)]


def test_v4_read_with_next_link_count_and_filter(monkeypatch):
    sap = serve(monkeypatch, travels=12, server_page=5)
    flt = {"field": "TotalPrice", "operator": "GREATER_THAN_OR_EQUAL_TO", "values": ["30"], "dataType": None}
    rows, batches = read_all(connection(sap, "4"), TRAVEL, fields=["TravelID", "TotalPrice", "LastChangedAt"],
                             filters=[flt])
    assert [r["TravelID"] for r in rows] == [f"{i + 1:08d}" for i in range(3, 12)]
    assert rows[0] == {"TravelID": "00000004", "TotalPrice": Decimal("30.5"), "LastChangedAt": "2023-11-15T01:13:20Z"}
    assert batches[0].notes == ["SAP OData: 9 records match in Travel."]
    assert set(sap.filters()) == {"(TotalPrice ge 30)"}


def test_filter_values_with_quotes_and_the_incremental_window(monkeypatch):
    sap = serve(monkeypatch, orders=30)
    flt = {"field": "Note", "operator": "EQUAL_TO", "values": ['It\'s "quoted"'], "dataType": None}
    window = Window(datetime(2023, 11, 14, 22, 20, tzinfo=UTC), datetime(2023, 11, 14, 22, 40, tzinfo=UTC))
    rows, _ = read_all(connection(sap), ORDERS, fields=["SalesOrderID", "Note"], filters=[flt], window=window)
    # ChangedAt = CreatedAt + 1 min; in [22:20, 22:40): i in 6..25; Note quoted: i % 4 == 3
    assert [r["SalesOrderID"] for r in rows] == [str(500000000 + i) for i in (7, 11, 15, 19, 23)]
    assert sap.filters()[0] == ("ChangedAt ge datetimeoffset'2023-11-14T22:20:00Z' and ChangedAt lt "
                                "datetimeoffset'2023-11-14T22:40:00Z' and (Note eq 'It''s \"quoted\"')")


def test_wrong_password_says_so(monkeypatch):
    sap = serve(monkeypatch)
    conn = connection(sap)
    conn = type(conn)(conn.name, conn.connector_type, "", conn.properties, {"username": "SLUICE", "password": "no"})
    with pytest.raises(ConnectorError, match=r"refused the sign-in \(HTTP 401\).*wrong user name or password"):
        SAPODataConnector().test(conn)


def test_401_mid_run_fails_the_run(monkeypatch):
    sap = serve(monkeypatch, orders=30, fail_auth_after=1)
    with pytest.raises(ConnectorError, match=r"HTTP 401\) for SalesOrderSet .*page 2"):
        read_all(connection(sap), ORDERS, options={"paginationConfig": {"maxPageSize": 10}})


def test_malformed_page_names_vendor_and_page(monkeypatch):
    sap = serve(monkeypatch, orders=30, malformed_page=2)
    with pytest.raises(ConnectorError, match=r"SAP OData: .* malformed answer for SalesOrderSet .*page 2"):
        read_all(connection(sap), ORDERS, options={"paginationConfig": {"maxPageSize": 10}})


def test_rate_limit_is_transient_with_retry_after(monkeypatch):
    sap = serve(monkeypatch, rate_limited=1)
    with pytest.raises(ConnectorError) as caught:
        read_all(connection(sap), ORDERS)
    assert caught.value.permanent is False and caught.value.retry_after == 7


def test_next_link_to_another_host_is_not_followed(monkeypatch):
    from connections.connectors.sapodata.client import SapApi

    sap = serve(monkeypatch)
    with pytest.raises(ConnectorError, match="does not send the credentials there"):
        SapApi(connection(sap))._follow("https://evil.example.com/x?$skiptoken=1")


@pytest.mark.parametrize("props, words", [
    ({"applicationHostUrl": ""}, "applicationHostUrl: is required"),
    ({"applicationHostUrl": "ftp://x"}, "not an http"),
    ({"applicationHostUrl": "https://x/sap"}, "only the host"),
    ({"applicationHostUrl": "https://x", "portNumber": "abc"}, "portNumber"),
])
def test_connection_properties_are_checked(props, words):
    with pytest.raises(ConnectorError, match=words):
        host_address(props)
    problems = SAPODataConnector.check_connection_properties(
        {"applicationServicePath": "sap/x", "clientNumber": "1"})
    assert any("applicationServicePath" in p for p in problems) and any("clientNumber" in p for p in problems)


def test_source_properties_are_checked():
    check = SAPODataConnector.check_source_properties
    assert check({"objectPath": ORDERS, "paginationConfig": {"maxPageSize": 3000}}) == []
    assert [k for k, _ in check({"objectPath": "SalesOrderSet", "x": 1,
                                 "paginationConfig": {"maxPageSize": 5000}})] == [
        "x", "objectPath", "paginationConfig.maxPageSize"]


def test_an_appflow_profile_config_imports_unchanged():
    from connections.services import split_profile_config

    properties, credentials = split_profile_config("SAPOData", {
        "connectorProfileProperties": {"SAPOData": {
            "applicationHostUrl": "https://sap.example.com", "applicationServicePath": "/sap/opu/odata/iwfnd/catalogservice;v=2",
            "portNumber": 443, "clientNumber": "100", "logonLanguage": "EN"}},
        "connectorProfileCredentials": {"SAPOData": {"basicAuthCredentials": {"username": "U", "password": "P"}}}})
    assert credentials == {"username": "U", "password": "P"} and properties["portNumber"] == 443
    assert SAPODataConnector.check_connection_properties(properties) == []


def test_v4_decimal_numbers_keep_every_digit(monkeypatch):
    from connections import net
    from connections.connectors.sapodata.client import SapApi

    sap = serve(monkeypatch)
    body = b'{"value": [{"TotalPrice": 1234567890123456.789, "Rate": 0.1}]}'
    page = SapApi(connection(sap))._page(net.Response(200, {}, body, ""), "4", "Travel, page 1")
    price = edmx.Property("TotalPrice", "Edm.Decimal", True, 20, 3)
    assert values.cell(page.rows[0]["TotalPrice"], price) == Decimal("1234567890123456.789")
    assert values.cell(page.rows[0]["Rate"], edmx.Property("Rate", "Edm.Double", True)) == 0.1


# --- OAuth 2.0 (authorization code; the end-to-end run is in test_sapodata_run.py) -------------


def oauth_connection(sap, token: str, refresh=None, **overrides):
    from connections.connectors.base import ConnectionInfo

    props = {**connection(sap).properties, "authentication": "OAuth2", "clientId": CLIENT_ID, **overrides}
    return ConnectionInfo("sap", "SAPOData", "", props, {"accessToken": token, "clientSecret": CLIENT_SECRET},
                          refresh=refresh)


def test_oauth_settings_decide_the_kind_endpoints_and_scopes(monkeypatch):
    sap = serve(monkeypatch)
    props = oauth_connection(sap, "t").properties
    assert SAPODataConnector.auth_kind_for(props) == "oauth2"
    assert SAPODataConnector.auth_kind_for(connection(sap).properties) == "basic"  # no choice: Basic
    assert SAPODataConnector.oauth_endpoints(props) == (sap.base + AUTHORIZE, sap.base + TOKEN)  # the Gateway's own
    given = {**props, "tokenUrl": "https://idp.example.com/token", "oAuthScopes": " A  B,C "}
    assert SAPODataConnector.oauth_endpoints(given)[1] == "https://idp.example.com/token"
    assert SAPODataConnector.oauth_scopes_for(given) == ("A", "B", "C")
    assert SAPODataConnector.check_connection_properties(props) == []


@pytest.mark.parametrize("overrides, words", [
    ({"clientId": ""}, "clientId: is required with OAuth2"),
    ({"applicationServicePath": V4_CATALOG}, "OAuth2 works with OData V2 services only"),
    ({"tokenUrl": "ftp://idp.example.com/t"}, "tokenUrl: .* is not an http"),
])
def test_oauth_settings_are_checked(monkeypatch, overrides, words):
    props = oauth_connection(serve(monkeypatch), "t", **overrides).properties
    assert any(re.search(words, p) for p in SAPODataConnector.check_connection_properties(props))


def test_bearer_token_and_one_refresh_on_401(monkeypatch):
    sap = serve(monkeypatch, orders=30, expire_token_at=2)
    sap.access_tokens.update({"first", "second"})
    refreshed = []

    def refresh(stale):
        refreshed.append(stale)
        return {"accessToken": "second"}

    rows, _ = read_all(oauth_connection(sap, "first", refresh), ORDERS,
                       options={"paginationConfig": {"maxPageSize": 10}})
    assert len(rows) == 30 and refreshed == ["first"]  # page 2 found "first" expired: refreshed once


def test_a_token_refused_after_the_refresh_says_re_authorize(monkeypatch):
    sap = serve(monkeypatch)
    conn = oauth_connection(sap, "revoked", lambda stale: {"accessToken": "also-revoked"})
    with pytest.raises(ConnectorError, match=r"refused the access token \(HTTP 401\).*Re-authorize"):
        SAPODataConnector().test(conn)
    with pytest.raises(ConnectorError, match="not authorized yet"):
        SAPODataConnector().test(oauth_connection(sap, ""))


def test_an_appflow_oauth_profile_config_imports_unchanged():
    from connections.services import split_profile_config

    properties, credentials = split_profile_config("SAPOData", {
        "connectorProfileProperties": {"SAPOData": {
            "applicationHostUrl": "https://sap.example.com", "applicationServicePath": "/sap/opu/odata/iwfnd/catalogservice;v=2",
            "portNumber": 443, "clientNumber": "100",
            "oAuthProperties": {"tokenUrl": "https://sap.example.com/sap/bc/sec/oauth2/token",
                                "authCodeUrl": "https://sap.example.com/sap/bc/sec/oauth2/authorize",
                                "oAuthScopes": ["/IWFND/SG_MED_CATALOG_0002", "ZAPI_SALES_ORDER_SRV_0001"]}}},
        "connectorProfileCredentials": {"SAPOData": {"oAuthCredentials": {
            "clientId": "C", "clientSecret": "S", "accessToken": "A", "refreshToken": "R"}}}})
    assert properties["authentication"] == "OAuth2" and properties["clientId"] == "C"
    assert properties["oAuthScopes"] == "/IWFND/SG_MED_CATALOG_0002 ZAPI_SALES_ORDER_SRV_0001"
    assert credentials == {"clientSecret": "S", "accessToken": "A", "refreshToken": "R"}
    assert SAPODataConnector.check_connection_properties(properties) == []
    assert SAPODataConnector.auth_kind_for(properties) == "oauth2"
