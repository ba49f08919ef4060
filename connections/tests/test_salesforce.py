"""The Salesforce connector against a local org speaking Salesforce's documented REST API and Bulk
API 2.0 (connections/tests/salesforce_server.py)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from connections.connectors.base import ConnectionInfo, ConnectorError, MissingAtSource, Window
from connections.connectors.salesforce import SalesforceConnector, reading, soql
from connections.oauth import client
from connections.tests.salesforce_server import CLIENT_ID, CLIENT_SECRET, serve

TOKEN = "sf-token"


@pytest.fixture
def org(monkeypatch):
    monkeypatch.setattr(reading, "POLL_SECONDS", (0,))
    return serve(monkeypatch, token=TOKEN)


def conn_for(org, token: str = TOKEN, refresh=None, **props) -> ConnectionInfo:
    return ConnectionInfo("sf", "Salesforce", "", {"environment": "Production", "clientId": CLIENT_ID, **props},
                          {"clientSecret": CLIENT_SECRET, "accessToken": token, "instanceUrl": org.base.rstrip("/")},
                          refresh=refresh)


def read(org, entity="Account", fields=None, filters=(), window=None, options=None, conn=None):
    batches = list(SalesforceConnector().read(conn or conn_for(org), entity, fields, list(filters),
                                              window or Window(), options or {}))
    return batches, [row for b in batches for row in b.table.to_pylist()]


def flt(field, operator, *values, data_type=None):
    return {"field": field, "operator": operator, "values": list(values), "dataType": data_type}


def write(org, table, options, entity="Account", conn=None):
    return SalesforceConnector().write(conn or conn_for(org), entity, iter([table]), options)


# --- OAuth and the connection ----------------------------------------------------------------

def test_login_hosts_follow_the_environment():
    assert SalesforceConnector.oauth_endpoints({"environment": "Production"}) == (
        "https://login.salesforce.com/services/oauth2/authorize", "https://login.salesforce.com/services/oauth2/token")
    assert SalesforceConnector.oauth_endpoints({"environment": "Sandbox"})[1] == \
        "https://test.salesforce.com/services/oauth2/token"
    assert SalesforceConnector.oauth_endpoints({"loginUrl": "https://acme.my.salesforce.com/"})[0] == \
        "https://acme.my.salesforce.com/services/oauth2/authorize"
    with pytest.raises(ConnectorError, match="loginUrl"):
        SalesforceConnector.oauth_endpoints({"loginUrl": "ftp://x"})


def test_the_code_exchange_keeps_the_instance_url_and_a_refresh_keeps_it(org):
    org.codes["code-1"] = "x"
    _, token_url = SalesforceConnector.oauth_endpoints({"loginUrl": org.base})
    tokens = client.exchange_code(token_url, code="code-1", verifier="v", redirect_uri="https://x/cb",
                                  client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                  unwrap=SalesforceConnector.oauth_token_payload)
    assert tokens["instanceUrl"] == org.base.rstrip("/") and tokens["expiresAt"] == 0
    assert tokens["refreshToken"].startswith("sf-refresh-")
    fresh = client.refresh(token_url, refresh_token=tokens["refreshToken"], client_id=CLIENT_ID,
                           client_secret=CLIENT_SECRET, unwrap=SalesforceConnector.oauth_token_payload)
    assert fresh["refreshToken"] == tokens["refreshToken"]  # Salesforce does not rotate it: kept
    info = ConnectionInfo("sf", "Salesforce", "", {}, {"accessToken": fresh["accessToken"],
                                                      "instanceUrl": fresh["instanceUrl"]})
    SalesforceConnector().test(info)


def test_the_instance_url_is_ssrf_guarded(org, monkeypatch):
    monkeypatch.delenv("SLUICE_NET_ALLOW")
    with pytest.raises(ConnectorError, match="loopback"):
        SalesforceConnector().test(conn_for(org))
    link_local = ConnectionInfo("sf", "Salesforce", "", {}, {"accessToken": "t",
                                                             "instanceUrl": "http://169.254.169.254"})
    with pytest.raises(ConnectorError, match="link-local"):
        SalesforceConnector().test(link_local)


def test_a_connection_without_an_instance_url_says_to_authorize():
    with pytest.raises(ConnectorError, match="Re-authorize"):
        SalesforceConnector().test(ConnectionInfo("sf", "Salesforce", "", {}, {"accessToken": "t"}))


def test_a_wrong_api_version_is_named(org):
    with pytest.raises(ConnectorError, match="apiVersion"):
        SalesforceConnector().test(conn_for(org, apiVersion="sixty-two"))


def test_a_401_refreshes_once_then_retries(org):
    asked = []

    def refresh(stale):
        asked.append(stale)
        org.tokens.add("fresh")
        return {"accessToken": "fresh"}

    _, rows = read(org, "Ledger_Entry__c", conn=conn_for(org, token="expired", refresh=refresh))
    assert len(rows) == 3 and asked == ["expired"]


def test_a_401_without_refresh_says_to_reauthorize(org):
    with pytest.raises(ConnectorError) as caught:
        SalesforceConnector().test(conn_for(org, token="revoked"))
    assert caught.value.permanent and "Re-authorize" in caught.value.message and "INVALID_SESSION_ID" in \
        caught.value.message


@pytest.mark.parametrize("status, body", [
    (429, None),
    (403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
])
def test_api_limits_are_transient_with_retry_after(org, status, body):
    org.fail_next.append((status, {"Retry-After": "120"}, body))
    with pytest.raises(ConnectorError) as caught:
        read(org, "Ledger_Entry__c")
    assert not caught.value.permanent and caught.value.retry_after == 120
    assert "API request limit" in caught.value.message


def test_a_5xx_is_transient(org):
    org.fail_next.append((503, {}, [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}]))
    with pytest.raises(ConnectorError) as caught:
        SalesforceConnector().test(conn_for(org))
    assert not caught.value.permanent


# --- objects and fields --------------------------------------------------------------------

def test_objects_come_from_describe_global(org):
    names = [e.name for e in SalesforceConnector().list_entities(conn_for(org))]
    # not the unqueryable one; event objects come last, as channels (test_salesforce_events.py)
    assert names[:3] == ["Account", "Ledger_Entry__c", "AccountHistory"] and names[3].startswith("/data/")


def test_fields_come_from_the_object_describe(org):
    fields = {f.name: f for f in SalesforceConnector().describe_entity(conn_for(org), "Account")}
    assert fields["Id"].primary_key and not fields["Id"].nullable and fields["Id"].upsert_key
    assert fields["Account_Key__c"].upsert_key and not fields["BillingCity"].upsert_key
    assert (fields["AnnualRevenue"].data_type, fields["NumberOfEmployees"].data_type,
            fields["Active__c"].data_type, fields["SLAExpirationDate__c"].data_type,
            fields["Type"].data_type) == ("double", "integer", "boolean", "date", "string")
    assert {n for n, f in fields.items() if f.timestamp_for_incremental} == {
        "CreatedDate", "LastModifiedDate", "SystemModstamp"}
    assert "CONTAINS" in fields["Name"].filter_operators
    assert "GREATER_THAN" not in fields["Description"].filter_operators  # a long text area: not filterable
    assert "CONTAINS" not in fields["Active__c"].filter_operators


def test_an_object_that_no_longer_exists_is_named(org):
    with pytest.raises(ConnectorError, match='no object "Invoice__c"'):
        SalesforceConnector().describe_entity(conn_for(org), "Invoice__c")


def test_a_field_that_no_longer_exists_is_named(org):
    with pytest.raises(MissingAtSource, match="has no field Region__c"):
        read(org, fields=["Id", "Region__c"])


def test_a_field_dropped_between_describe_and_query_names_salesforces_error(org, monkeypatch):
    # the org answers the query with INVALID_FIELD as Salesforce does when the field went meanwhile
    real = org.run_query
    monkeypatch.setattr(org, "run_query", lambda text, deleted: real(text.replace("Industry", "Industry_Old__c"),
                                                                     deleted))
    with pytest.raises(ConnectorError, match="INVALID_FIELD: .*No such column 'Industry_Old__c'"):
        read(org, fields=["Id", "Industry"], options={"dataTransferApi": "REST_SYNC"})


# --- reads ---------------------------------------------------------------------------------

def test_a_full_read_follows_next_records_url(org):
    batches, rows = read(org, fields=["Id", "Name", "AnnualRevenue", "LastModifiedDate", "BillingAddress"])
    assert len(rows) == 2500 and len(batches) == 3
    assert org.queries[-1] == "SELECT Id, Name, AnnualRevenue, LastModifiedDate, BillingAddress FROM Account"
    pages = [r for r in org.requests if "/query/01g" in r]
    assert len(pages) == 2 and pages[0].endswith("-1000")
    assert rows[0]["AnnualRevenue"] == 1000.5 and rows[0]["LastModifiedDate"].tzinfo is not None
    assert '"city": "San Francisco"' in rows[0]["BillingAddress"]
    assert org.queries[0] == "SELECT COUNT() FROM Account"  # AUTOMATIC counted first


def test_the_incremental_window_goes_into_the_soql(org):
    cutoff = org.records["Account"][2399]["LastModifiedDate"]
    start = datetime.fromisoformat(cutoff.replace("+0000", "+00:00"))
    end = start + timedelta(minutes=50, microseconds=1500)
    _, rows = read(org, fields=["Id", "NumberOfEmployees"], window=Window(start, end),
                   options={"dataTransferApi": "REST_SYNC"})
    # SOQL compares whole seconds: the end widens to the next second, the connector keeps it exact
    assert [r["NumberOfEmployees"] for r in rows] == list(range(2400, 2451))
    assert org.queries == [
        f"SELECT Id, NumberOfEmployees, LastModifiedDate FROM Account WHERE LastModifiedDate >= "
        f"{start:%Y-%m-%dT%H:%M:%SZ} AND LastModifiedDate < {end + timedelta(seconds=1):%Y-%m-%dT%H:%M:%SZ}"]
    org.queries.clear()
    _, rows = read(org, fields=["Id", "NumberOfEmployees"], window=Window(start, start + timedelta(minutes=50)),
                   options={"dataTransferApi": "REST_SYNC"})
    assert [r["NumberOfEmployees"] for r in rows] == list(range(2400, 2450))  # the end is exclusive
    created = Window(start, None, "CreatedDate")
    read(org, fields=["Id"], window=created, options={"dataTransferApi": "REST_SYNC"})
    assert org.queries[-1] == f"SELECT Id, CreatedDate FROM Account WHERE CreatedDate >= {start:%Y-%m-%dT%H:%M:%SZ}"


def test_a_window_on_a_field_that_is_not_a_time_is_refused(org):
    with pytest.raises(ConnectorError, match='"Name" is not a date/time field'):
        read(org, window=Window(datetime(2024, 1, 1, tzinfo=UTC), field="Name"))


def test_pushed_down_filters_produce_the_documented_soql(org):
    filters = [flt("Industry", "EQUAL_TO", "Energy", "Banking"), flt("NumberOfEmployees", "BETWEEN", "10", "20"),
               flt("Name", "CONTAINS", "1_%"), flt("SLAExpirationDate__c", "GREATER_THAN", "2025-01-05"),
               flt("Active__c", "EQUAL_TO", "true"), flt("Description", "EQUAL_TO", "not filterable")]
    _, rows = read(org, fields=["Id", "Industry", "NumberOfEmployees"], filters=filters,
                   options={"dataTransferApi": "REST_SYNC"})
    assert org.queries == [
        "SELECT Id, Industry, NumberOfEmployees FROM Account WHERE Industry IN ('Energy', 'Banking') AND "
        "(NumberOfEmployees >= 10 AND NumberOfEmployees <= 20) AND Name LIKE '%1\\_\\%%' AND "
        "SLAExpirationDate__c > 2025-01-05 AND Active__c = true"]
    assert rows == []  # no name holds "1_%" literally: the wildcards were escaped
    org.queries.clear()
    _, rows = read(org, fields=["NumberOfEmployees"], filters=filters[:2], options={"dataTransferApi": "REST_SYNC"})
    assert [r["NumberOfEmployees"] for r in rows] == [12, 13, 16, 17, 20]


def test_text_values_are_escaped_by_soql_rules(org):
    org.records["Account"][0]["Name"] = "O'Brien \\ \"Sons\"\n"
    _, rows = read(org, fields=["Id", "Name"], filters=[flt("Name", "EQUAL_TO", "O'Brien \\ \"Sons\"\n")],
                   options={"dataTransferApi": "REST_SYNC"})
    assert org.queries == ["SELECT Id, Name FROM Account WHERE Name = 'O\\'Brien \\\\ \\\"Sons\\\"\\n'"]
    assert len(rows) == 1
    assert soql.quote("' OR Name != '") == "'\\' OR Name != \\''"


def test_a_field_name_cannot_carry_soql(org):
    with pytest.raises(ConnectorError, match="is not a Salesforce field API name"):
        soql.select("Account", ["Id FROM User --"])


def test_include_deleted_records_uses_query_all(org):
    _, rows = read(org, fields=["Name", "IsDeleted"], filters=[flt("Name", "EQUAL_TO", "Gone Inc")],
                   options={"includeDeletedRecords": True, "dataTransferApi": "REST_SYNC"})
    assert rows == [{"Name": "Gone Inc", "IsDeleted": True}]
    assert any(r.startswith("GET /services/data/v62.0/queryAll/?q=") for r in org.requests)


def test_bulk_api_query_pages_with_the_locator(org, monkeypatch):
    monkeypatch.setattr(reading, "BULK_PAGE_RECORDS", 1000)
    batches, rows = read(org, fields=["Id", "Name", "AnnualRevenue", "Active__c", "LastModifiedDate",
                                      "SLAExpirationDate__c", "Description"],
                         options={"dataTransferApi": "BULKV2"})
    assert len(rows) == 2500 and len(batches) == 3
    results = [r for r in org.requests if "/results" in r]
    assert "locator=1000" in results[1] and "locator=2000" in results[2] and "maxRecords=1000" in results[0]
    _, rest = read(org, fields=["Id", "Name", "AnnualRevenue", "Active__c", "LastModifiedDate",
                                "SLAExpirationDate__c", "Description"], options={"dataTransferApi": "REST_SYNC"})
    assert rows == rest  # the same values whichever API read them (dates, nulls, numbers)
    assert rows[0]["Description"] is None and rows[0]["SLAExpirationDate__c"] == date(2025, 1, 2)


def test_automatic_switches_to_bulk_from_the_threshold(org, monkeypatch):
    monkeypatch.setattr("connections.connectors.salesforce.connector.BULK_READ_THRESHOLD", 2000)
    _, rows = read(org, fields=["Id"])
    assert len(rows) == 2500 and any(r.startswith("POST /services/data/v62.0/jobs/query") for r in org.requests)
    batches, rows = read(org, fields=["Id", "BillingAddress"])
    assert len(rows) == 2500 and "compound fields BillingAddress" in batches[0].warnings[0]


def test_bulk_cannot_read_compound_fields(org):
    with pytest.raises(ConnectorError, match="compound fields BillingAddress"):
        read(org, fields=["Id", "BillingAddress"], options={"dataTransferApi": "BULKV2"})


def test_unicode_and_nulls(org):
    org.records["Account"][0].update(Name="Ünïcødé — 日本語 🏢", AnnualRevenue=None, Active__c=None,
                                     SLAExpirationDate__c=None)
    for api in ("REST_SYNC", "BULKV2"):
        _, rows = read(org, fields=["Name", "AnnualRevenue", "Active__c", "SLAExpirationDate__c"],
                       filters=[flt("NumberOfEmployees", "EQUAL_TO", "1")], options={"dataTransferApi": api})
        assert rows == [{"Name": "Ünïcødé — 日本語 🏢", "AnnualRevenue": None, "Active__c": None,
                         "SLAExpirationDate__c": None}], api


# --- writes --------------------------------------------------------------------------------

def accounts_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows)


def test_insert_in_collections_of_200_with_per_record_errors(org):
    rows = [{"Name": f"New {n}", "NumberOfEmployees": -1 if n == 250 else n} for n in range(1, 451)]
    rows[10]["Name"] = None
    result = write(org, accounts_table(rows), {"writeOperationType": "INSERT",
                                               "errorHandlingConfig": {"failOnFirstDestinationError": False}})
    assert result.records_written == 448
    assert [(f.where, f.reason) for f in result.failures] == [
        ("record 11", "REQUIRED_FIELD_MISSING: Required fields are missing: [Name] (fields: Name)"),
        ("record 250", "FIELD_CUSTOM_VALIDATION_EXCEPTION: Employees cannot be negative (fields: NumberOfEmployees)"),
    ]
    assert result.failures[1].record == {"Name": "New 250", "NumberOfEmployees": -1}
    posts = [b for b in org.bodies if isinstance(b, dict) and "records" in b]
    assert [len(b["records"]) for b in posts] == [200, 200, 50] and posts[0]["allOrNone"] is False
    assert posts[0]["records"][0] == {"attributes": {"type": "Account"}, "Name": "New 1", "NumberOfEmployees": 1}


def test_fail_on_first_stops_and_says_what_was_written(org):
    rows = [{"Name": f"New {n}", "NumberOfEmployees": -1 if n == 250 else n} for n in range(1, 451)]
    before = len(org.records["Account"])
    with pytest.raises(ConnectorError) as caught:
        write(org, accounts_table(rows), {"writeOperationType": "INSERT"})
    assert "record 250: FIELD_CUSTOM_VALIDATION_EXCEPTION: Employees cannot be negative" in caught.value.message
    assert "the 200 records of earlier calls were" in caught.value.message
    assert len(org.records["Account"]) == before + 200  # the failing call was all-or-none


def test_update_and_delete_match_on_id_and_upsert_on_an_external_id(org):
    first = org.records["Account"][0]["Id"]
    result = write(org, accounts_table([{"Id": first, "Name": "Renamed", "Industry": None}]),
                   {"writeOperationType": "UPDATE"})
    assert result.records_written == 1 and org.records["Account"][0]["Name"] == "Renamed"
    assert org.records["Account"][0]["Industry"] is None  # a null clears the field on update
    result = write(org, accounts_table([{"Account_Key__c": "K-2", "Name": "Upserted"},
                                        {"Account_Key__c": "K-new", "Name": "Created"}]),
                   {"writeOperationType": "UPSERT", "idFieldNames": ["Account_Key__c"]})
    assert result.records_written == 2 and org.records["Account"][1]["Name"] == "Upserted"
    assert org.records["Account"][-1]["Name"] == "Created"
    assert any("PATCH /services/data/v62.0/composite/sobjects/Account/Account_Key__c" == r for r in org.requests)
    result = write(org, accounts_table([{"Id": first}, {"Id": "001000000000000XYZ"}]),
                   {"writeOperationType": "DELETE", "errorHandlingConfig": {"failOnFirstDestinationError": False}})
    assert result.records_written == 1 and result.failures[0].reason.startswith("ENTITY_IS_DELETED")
    assert all(r["Id"] != first for r in org.records["Account"])


def test_writes_salesforce_would_refuse_are_refused_before_any_call(org):
    with pytest.raises(ConnectorError, match="cannot be created .*CreatedDate"):
        write(org, accounts_table([{"Name": "x", "CreatedDate": "2024-01-01"}]), {"writeOperationType": "INSERT"})
    with pytest.raises(ConnectorError, match="no field Region__c"):
        write(org, accounts_table([{"Name": "x", "Region__c": "EU"}]), {"writeOperationType": "INSERT"})
    with pytest.raises(ConnectorError, match="BillingCity is not an External ID field"):
        write(org, accounts_table([{"BillingCity": "x"}]),
              {"writeOperationType": "UPSERT", "idFieldNames": ["BillingCity"]})
    with pytest.raises(ConnectorError, match="record 2: no Id"):
        write(org, accounts_table([{"Id": "001000000000000001", "Name": "a"}, {"Id": None, "Name": "b"}]),
              {"writeOperationType": "UPDATE"})
    assert not [r for r in org.requests if "composite" in r or "jobs" in r]


def test_a_source_that_fails_part_way_sends_nothing(org):
    def batches():
        yield accounts_table([{"Name": "a"}])
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError):
        SalesforceConnector().write(conn_for(org), "Account", batches(), {"writeOperationType": "INSERT"})
    assert org.requests == []


def test_bulk_ingest_uploads_csv_and_reports_failed_results(org):
    rows = [{"Name": f"Bulk {n}", "NumberOfEmployees": -5 if n == 7 else n, "Active__c": n % 2 == 0,
             "AnnualRevenue": None} for n in range(1, 1201)]
    result = write(org, accounts_table(rows), {"writeOperationType": "INSERT",
                                               "errorHandlingConfig": {"failOnFirstDestinationError": False}})
    assert result.records_written == 1199 and len(result.failures) == 1  # AUTOMATIC: 1,200 >= 1,000 -> bulk
    failure = result.failures[0]
    assert failure.reason == "FIELD_CUSTOM_VALIDATION_EXCEPTION: Employees cannot be negative:NumberOfEmployees"
    assert failure.record["Name"] == "Bulk 7"
    csv_text = org.bodies[-1]
    assert csv_text.splitlines()[:2] == ["Name,NumberOfEmployees,Active__c,AnnualRevenue", "Bulk 1,1,false,"]
    calls = [r.split("?")[0] for r in org.requests]
    assert calls[1:4] == ["POST /services/data/v62.0/jobs/ingest",
                          f"PUT /services/data/v62.0/jobs/ingest/{calls[2].split('/')[-2]}/batches",
                          f"PATCH /services/data/v62.0/jobs/ingest/{calls[2].split('/')[-2]}"]


def test_bulk_upsert_sends_nulls_as_na(org):
    result = write(org, accounts_table([{"Account_Key__c": "K-3", "Industry": None}]),
                   {"writeOperationType": "UPSERT", "idFieldNames": ["Account_Key__c"], "dataTransferApi": "BULKV2"})
    assert result.records_written == 1 and org.bodies[-1] == "Account_Key__c,Industry\nK-3,#N/A\n"
    assert org.records["Account"][2]["Industry"] is None


# --- properties ------------------------------------------------------------------------------

def test_source_and_destination_properties_are_checked():
    check_source = SalesforceConnector.check_source_properties
    assert check_source({"object": "Account", "includeDeletedRecords": True, "dataTransferApi": "BULKV2",
                         "enableDynamicFieldUpdate": False}) == []
    problems = dict(check_source({"object": "Account; DELETE", "dataTransferApi": "SOAP", "x": 1}))
    assert set(problems) == {"object", "dataTransferApi", "x"}
    check = SalesforceConnector.check_destination_properties
    assert check({"object": "Account", "writeOperationType": "UPSERT", "idFieldNames": ["Account_Key__c"],
                  "errorHandlingConfig": {"failOnFirstDestinationError": False}}) == []
    assert dict(check({"object": "Account", "writeOperationType": "UPSERT"}))["idFieldNames"].startswith(
        "is required for UPSERT")
    assert "writeOperationType" in dict(check({"object": "Account", "writeOperationType": "MERGE"}))


# --- the console ---------------------------------------------------------------------------

@pytest.mark.django_db
def test_connect_sends_the_browser_to_salesforces_login_page(signed_in):
    from urllib.parse import parse_qs, urlsplit

    from django.urls import reverse

    response = signed_in.post(reverse("connections:oauth_start", args=["Salesforce"]), {
        "connection_name": "crm", "environment": "Sandbox", "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
        "apiVersion": "v62.0", "connection_mode": "Public",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == \
        "https://test.salesforce.com/services/oauth2/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == CLIENT_ID and query["scope"] == "api refresh_token"
    assert query["code_challenge_method"] == "S256"


@pytest.mark.django_db
def test_a_revoked_refresh_token_marks_the_connection_needs_reauthorization(org):
    from connections.models import Connection
    from connections.oauth import tokens

    connection = Connection(name="crm", connector_type="Salesforce",
                            properties={"environment": "Production", "clientId": CLIENT_ID, "loginUrl": org.base})
    connection.credentials = {"clientSecret": CLIENT_SECRET, "accessToken": "expired", "refreshToken": "revoked",
                              "expiresAt": 0, "instanceUrl": org.base.rstrip("/")}
    connection.save()
    info = tokens.runtime_info(connection)
    with pytest.raises(ConnectorError, match="needs re-authorization"):
        read(org, "Ledger_Entry__c", conn=info)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTHORIZATION
    assert org.token_calls[-1]["grant_type"] == "refresh_token"


@pytest.mark.django_db
def test_a_401_mid_run_refreshes_through_the_stored_connection(org):
    from connections.models import Connection
    from connections.oauth import tokens

    connection = Connection(name="crm", connector_type="Salesforce",
                            properties={"environment": "Production", "clientId": CLIENT_ID, "loginUrl": org.base})
    connection.credentials = {"clientSecret": CLIENT_SECRET, "accessToken": "expired",
                              "refreshToken": "sf-refresh", "expiresAt": 0, "instanceUrl": org.base.rstrip("/")}
    connection.save()
    _, rows = read(org, "Ledger_Entry__c", conn=tokens.runtime_info(connection))
    assert len(rows) == 3
    stored = Connection.objects.get(pk=connection.pk).credentials
    assert stored["accessToken"] != "expired" and stored["refreshToken"] == "sf-refresh"
    assert stored["instanceUrl"] == org.base.rstrip("/")





@pytest.fixture
def browser_page(live_server):
    """Like flows' `page` fixture, but the browser may visit the local org too (Salesforce's login)."""
    import os

    from playwright.sync_api import sync_playwright

    from conftest import need
    from flows.tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    need(os.path.exists(CHROMIUM), "Chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=live_server.url)
            context.set_default_timeout(15_000)
            yield context.new_page()
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_connect_salesforce_in_the_browser(browser_page, live_server, owner, org, monkeypatch):
    """The connection dialog renders from the connector's fields; Connect goes through Salesforce's
    login and back, and the connection is stored with the instance URL and tested."""
    from playwright.sync_api import expect

    from connections.models import Connection
    from connections.tests.test_browser import shot
    from flows.tests.test_browser import log_in

    page = browser_page

    log_in(page)
    page.goto("/connections/")
    # By its heading: "Salesforce Pardot" also has Salesforce in its text.
    salesforce = page.locator(".catalog-item", has=page.get_by_role("heading", name="Salesforce", exact=True))
    salesforce.get_by_role("link", name="Create connection").click()
    expect(page.get_by_label("Salesforce environment")).to_have_value("Production")
    expect(page.get_by_label("API version")).to_have_value("v62.0")
    expect(page.get_by_text("Consumer Key of your connected app")).to_be_visible()
    page.get_by_label("Connection name").fill("salesforce-prod")
    page.get_by_label("Client ID").fill(CLIENT_ID)
    page.get_by_label("Client secret").fill(CLIENT_SECRET)
    page.get_by_label("Login address").fill(org.base)
    shot(page, "salesforce-form")
    page.get_by_role("button", name=re.compile("Salesforce")).click()
    expect(page.locator(".messages")).to_contain_text("is authorized and works")
    shot(page, "salesforce-detail")
    stored = Connection.objects.get(name="salesforce-prod")
    assert stored.credentials["instanceUrl"] == org.base.rstrip("/")
    assert CLIENT_SECRET not in page.content() and stored.credentials["accessToken"] not in page.content()


def test_text_values_are_typed_by_the_object_describe_and_bad_ones_named(org):
    table = pa.table({"Name": ["Typed", "Bad"], "NumberOfEmployees": ["12", "twelve"],
                      "Active__c": ["true", "false"], "SLAExpirationDate__c": ["2025-06-01", ""]})
    result = write(org, table, {"writeOperationType": "INSERT",
                                "errorHandlingConfig": {"failOnFirstDestinationError": False}})
    assert result.records_written == 1
    assert [(f.where, f.reason) for f in result.failures] == [
        ("record 2", 'field NumberOfEmployees: "twelve" is not a integer value Salesforce takes')]
    sent = [b for b in org.bodies if isinstance(b, dict) and "records" in b][0]["records"]
    assert sent == [{"attributes": {"type": "Account"}, "Name": "Typed", "NumberOfEmployees": 12,
                     "Active__c": True, "SLAExpirationDate__c": "2025-06-01"}]
    with pytest.raises(ConnectorError, match='record 2: field NumberOfEmployees: "twelve".*Nothing was written'):
        write(org, table, {"writeOperationType": "INSERT"})


def test_batches_whose_column_types_differ_are_written(org):
    first = pa.table({"Name": ["A"], "Industry": pa.array([None], pa.null())})
    second = pa.table({"Name": ["B"], "Industry": ["Energy"]})
    result = SalesforceConnector().write(conn_for(org), "Account", iter([first, second]),
                                         {"writeOperationType": "INSERT"})
    assert result.records_written == 2 and org.records["Account"][-1]["Industry"] == "Energy"


def test_bulk_ingest_failing_on_first_says_what_the_job_wrote(org):
    rows = [{"Name": f"Bulk {n}", "NumberOfEmployees": -5 if n in (3, 9) else n} for n in range(1, 21)]
    with pytest.raises(ConnectorError) as caught:
        write(org, accounts_table(rows), {"writeOperationType": "INSERT", "dataTransferApi": "BULKV2"})
    message = caught.value.message
    assert "record: FIELD_CUSTOM_VALIDATION_EXCEPTION: Employees cannot be negative" in message
    assert "refused 2 records" in message and "wrote 18" in message and "not all-or-none" in message


def test_a_failed_bulk_query_job_names_salesforces_reason(org):
    org.job_error = "InvalidBatch : Failed to process query: INVALID_FIELD: No such column 'Region__c'"
    with pytest.raises(ConnectorError) as caught:
        read(org, fields=["Id"], options={"dataTransferApi": "BULKV2"})
    assert caught.value.message == (
        "Salesforce's Bulk API 2.0 job for the query of object \"Account\" failed: InvalidBatch : Failed to "
        "process query: INVALID_FIELD: No such column 'Region__c'")
    assert not [r for r in org.requests if "/results" in r]


def test_soql_literals_and_what_is_not_pushed_down():
    types = {"AnnualRevenue": "double", "LastModifiedDate": "datetime", "Name": "string"}
    where = soql.where_clauses([
        flt("AnnualRevenue", "GREATER_THAN", "1e20"),
        flt("LastModifiedDate", "EQUAL_TO", "2024-01-02T03:04:05.250Z"),  # SOQL has whole seconds only
        flt("LastModifiedDate", "GREATER_THAN", "2024-01-02T03:04:05.250Z"),
        flt("LastModifiedDate", "LESS_THAN", "2024-01-02T03:04:05.250+01:00"),
        flt("Name", "GREATER_THAN", "M"),  # Salesforce orders text its own way: left to the engine
        flt("AnnualRevenue", "EQUAL_TO", "not a number"),
    ], types, frozenset(types))
    assert where == ["AnnualRevenue > 100000000000000000000", "LastModifiedDate > 2024-01-02T03:04:05Z",
                     "LastModifiedDate < 2024-01-02T02:04:06Z"]
