"""Marketo against the local Marketo server (marketo_server.py): token and its refresh, Marketo's
error codes in the body (606 / 607 / 615 / 1029), Bulk Extract jobs (31-day windows, date filters
pushed down, the file streamed in byte ranges, a malformed file), REST paging, and writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from connections.connectors.base import ConnectionInfo, ConnectorError, Window
from connections.connectors.marketo import MarketoConnector, bulk, client, writing
from connections.connectors.marketo.client import MarketoApi, instance_url
from connections.connectors.marketo.connector import date_range
from connections.tests.marketo_server import CLIENT_ID, CLIENT_SECRET, serve

MARKETO = MarketoConnector()


@pytest.fixture
def waits(monkeypatch):
    """The waits Sluice asked for (Marketo's backoffs, job polls), instead of sleeping."""
    seen: list[float] = []
    monkeypatch.setattr(client, "_wait", seen.append)
    return seen


def conn_for(market, earliest="2024-01-01", secret=CLIENT_SECRET) -> ConnectionInfo:
    return ConnectionInfo("m", "Marketo", "", {"instanceUrl": market.base, "earliestDate": earliest},
                          {"clientId": CLIENT_ID, "clientSecret": secret})


def rows(market, entity, fields=None, filters=(), window=None, earliest="2024-01-01"):
    batches = list(MARKETO.read(conn_for(market, earliest), entity, fields, list(filters), window or Window(), {}))
    return pa.concat_tables([b.table for b in batches]).to_pylist()


def between(field, low, high):
    return {"field": field, "operator": "BETWEEN", "values": [low, high], "dataType": None}


# -- connection ---------------------------------------------------------------------------------
def test_instance_url_takes_a_munchkin_id_or_an_address():
    assert instance_url({"instanceUrl": "123-abc-456"}) == "https://123-ABC-456.mktorest.com"
    assert instance_url({"instanceUrl": "https://123-ABC-456.mktorest.com/rest"}) == "https://123-ABC-456.mktorest.com"
    with pytest.raises(ConnectorError, match="instanceUrl: is required"):
        instance_url({})


def test_connection_test_names_the_wrong_credential_without_showing_it(monkeypatch, waits):
    market = serve(monkeypatch)
    MARKETO.test(conn_for(market))
    with pytest.raises(ConnectorError) as caught:
        MARKETO.test(conn_for(market, secret="wrong-secret-value"))
    assert "clientId and clientSecret" in caught.value.message
    assert "wrong-secret-value" not in caught.value.message


def test_objects_and_fields_come_from_the_describe_calls(monkeypatch, waits):
    market = serve(monkeypatch)
    names = {e.name for e in MARKETO.list_entities(conn_for(market))}
    assert names == {"leads", "programs", "campaigns", "lists", "companies", "opportunities", "activities/1",
                     "activities/6", "car_c"}
    fields = {f.name: f for f in MARKETO.describe_entity(conn_for(market), "leads")}
    assert fields["annualRevenue"].data_type == "double" and fields["unsubscribed"].data_type == "boolean"
    assert fields["updatedAt"].timestamp_for_incremental and fields["email"].upsert_key
    car = {f.name: f for f in MARKETO.describe_entity(conn_for(market), "car_c")}
    assert car["vin"].upsert_key and car["leadId"].data_type == "integer"


# -- bulk extract -------------------------------------------------------------------------------
def test_windows_are_at_most_31_days_and_cover_the_range():
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 15, tzinfo=UTC)
    found = bulk.windows(start, end)
    assert found[0][0] == start and found[-1][1] == end and len(found) == 3
    assert all(b - a <= timedelta(days=31) for a, b in found)
    assert all(found[i][1] == found[i + 1][0] for i in range(len(found) - 1))


def test_the_server_refuses_a_range_over_31_days_as_marketo_does(monkeypatch, waits):
    market = serve(monkeypatch)
    api = MarketoApi(conn_for(market))
    with pytest.raises(ConnectorError, match="error 1003: Date range exceeds 31 days"):
        bulk.run_job(api, bulk.Export("leads", "leads"), ["id"], "createdAt",
                     datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))


def test_leads_are_exported_window_by_window_with_the_filter_pushed_down(monkeypatch, waits):
    market = serve(monkeypatch, lead_count=3000)  # one lead an hour from 2024-01-01
    found = rows(market, "leads", ["id", "email", "company", "annualRevenue", "unsubscribed", "createdAt"],
                 [between("createdAt", "2024-01-10T00:00:00Z", "2024-03-05T23:59:59Z")])
    jobs = [j for j in market.jobs.values() if "kind" in j]
    assert [(j["filter"], j["start"].date().isoformat()) for j in jobs] == [
        ("createdAt", "2024-01-10"), ("createdAt", "2024-02-10")]
    assert all(j["end"] - j["start"] <= timedelta(days=31) for j in jobs)
    ids = [r["id"] for r in found]
    assert ids == list(range(9 * 24 + 1, 64 * 24 + 24 + 1))  # created Jan 10 00:00 to Mar 5 23:00
    first = found[0]
    assert first["createdAt"] == "2024-01-10T00:00:00Z" and isinstance(first["unsubscribed"], bool)
    unicode = next(r for r in found if r["id"] % 10 == 1)
    assert unicode["company"] == "Ünïcødé 日本" and unicode["annualRevenue"] is None  # "null" in the file


def test_an_incremental_window_exports_by_updated_at(monkeypatch, waits):
    market = serve(monkeypatch, lead_count=500)
    window = Window(datetime(2024, 1, 5, tzinfo=UTC), datetime(2024, 1, 6, tzinfo=UTC), "updatedAt")
    found = rows(market, "leads", ["id", "updatedAt"], window=window)
    assert {j["filter"] for j in market.jobs.values() if "kind" in j} == {"updatedAt"}
    assert [r["updatedAt"][:10] for r in found] == ["2024-01-05"] * 24


def test_a_subscription_without_the_updated_at_filter_is_told_to_use_created_at(monkeypatch, waits):
    market = serve(monkeypatch, updated_at_filter=False)
    window = Window(datetime(2024, 1, 5, tzinfo=UTC), datetime(2024, 1, 6, tzinfo=UTC), "updatedAt")
    with pytest.raises(ConnectorError, match=r"error 1035\). Use createdAt as the incremental field"):
        rows(market, "leads", ["id"], window=window)
    window = Window(datetime(2024, 1, 5, tzinfo=UTC), datetime(2024, 1, 6, tzinfo=UTC), "createdAt")
    assert len(rows(market, "leads", ["id"], window=window)) == 24


def test_activities_are_exported_by_type_with_their_attributes_as_json(monkeypatch, waits):
    market = serve(monkeypatch, lead_count=48)
    found = rows(market, "activities/6", filters=[between("activityDate", "2024-01-01", "2024-01-05")])
    assert {r["activityTypeId"] for r in found} == {6} and len(found) == 24
    assert '"Client IP Address"' in found[0]["attributes"]
    assert [j["types"] for j in market.jobs.values() if "kind" in j] == [[6]] * len(
        [j for j in market.jobs.values() if "kind" in j])


def test_the_file_is_streamed_in_byte_ranges_never_whole(monkeypatch, waits):
    monkeypatch.setattr(bulk, "RANGE_BYTES", 4096)
    market = serve(monkeypatch, lead_count=2000)
    found = rows(market, "leads", None, [between("createdAt", "2024-01-01T00:00:00Z", "2024-01-31T00:00:00Z")])
    files = [p for m, p in market.requests if p.endswith("/file.json")]
    size = next(j["size"] for j in market.jobs.values() if "size" in j)
    assert len(files) == -(-size // 4096) > 10
    assert len(found) == 30 * 24 + 1


def test_a_full_queue_is_waited_out(monkeypatch, waits):
    market = serve(monkeypatch, lead_count=10, queue_full=2)
    assert len(rows(market, "leads", ["id"], earliest="2024-01-01",
                    filters=[between("createdAt", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")])) == 10
    assert waits.count(bulk.QUEUE_WAIT_SECONDS) == 2


def test_a_malformed_export_file_fails_naming_marketo_and_the_file(monkeypatch, waits):
    market = serve(monkeypatch, lead_count=10, malformed=True)
    with pytest.raises(ConnectorError, match=r"Marketo sent a malformed page in the export file of leads \(job "):
        rows(market, "leads", ["id", "email"], [between("createdAt", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")])


def test_date_range_takes_the_narrowest_of_window_filters_and_earliest_date(monkeypatch):
    conn = ConnectionInfo("m", "Marketo", "", {"instanceUrl": "x", "earliestDate": "2023-06-01"}, {})
    now = datetime(2024, 6, 1, 12, 0, 0, 500, tzinfo=UTC)
    assert date_range(conn, [], Window(), "createdAt", now) == (
        datetime(2023, 6, 1, tzinfo=UTC), datetime(2024, 6, 1, 12, 0, 1, tzinfo=UTC))
    flt = [{"field": "createdAt", "operator": "GREATER_THAN", "values": ["2024-02-01T10:00:00.5Z"]},
           {"field": "updatedAt", "operator": "LESS_THAN", "values": ["2024-03-01"]}]
    assert date_range(conn, flt, Window(end=datetime(2024, 4, 1, tzinfo=UTC)), "createdAt", now) == (
        datetime(2024, 2, 1, 10, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))
    with pytest.raises(ConnectorError, match="earliestDate"):
        date_range(ConnectionInfo("m", "Marketo", "", {"earliestDate": "soon"}), [], Window(), "createdAt", now)


# -- Marketo's errors in the body ----------------------------------------------------------------
def test_an_expired_token_mid_run_is_refreshed_once(monkeypatch, waits):
    market = serve(monkeypatch, lead_count=30, token_expires_after=3)
    assert len(rows(market, "leads", ["id"], [between("createdAt", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")])) == 25
    assert market.token_calls == 2


def test_an_http_401_mid_run_forces_one_new_token(monkeypatch, waits):
    market = serve(monkeypatch, http_401_at={3})
    assert len(rows(market, "campaigns", ["id"])) == 620
    assert market.token_calls == 2


def test_rate_limit_606_and_concurrency_615_are_waited_out(monkeypatch, waits):
    market = serve(monkeypatch, rate_limit_at={2, 3}, busy_at={5})
    assert len(rows(market, "campaigns")) == 620
    assert waits == [client.RATE_SECONDS, client.RATE_SECONDS, 2.0]


def test_the_daily_quota_607_fails_at_once_without_a_retry_storm(monkeypatch, waits):
    market = serve(monkeypatch, quota_after=2)
    with pytest.raises(ConnectorError, match=r"daily API quota .*\(error 607\)") as caught:
        rows(market, "campaigns")
    assert market.calls == 3 and not waits  # the refused call was the last one
    assert caught.value.permanent  # not retried by the runner either: the quota resets at midnight


def test_calls_are_paced_under_100_in_20_seconds(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(client.time, "monotonic", lambda: clock[0])
    slept: list[float] = []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    for _ in range(client.RATE_CALLS):
        client._pace("pace.test:1", sleep)
    assert not slept
    client._pace("pace.test:1", sleep)
    assert slept == [client.RATE_SECONDS]


# -- REST paging ----------------------------------------------------------------------------------
def test_campaigns_and_lists_follow_next_page_token_past_an_empty_page(monkeypatch, waits):
    market = serve(monkeypatch)
    found = rows(market, "campaigns", ["id", "active", "updatedAt"])
    assert [r["id"] for r in found] == list(range(620))
    assert found[1]["active"] is False
    assert len(rows(market, "lists", ["id"])) == 620


def test_programs_page_by_offset_until_no_assets_are_found(monkeypatch, waits):
    market = serve(monkeypatch)
    found = rows(market, "programs", ["id", "folder"])
    assert len(found) == 450 and found[0]["folder"].startswith('{"type": "Folder"')


def test_a_rest_window_keeps_only_records_updated_in_it(monkeypatch, waits):
    market = serve(monkeypatch)
    window = Window(datetime(2024, 1, 1, 10, tzinfo=UTC), datetime(2024, 1, 1, 20, tzinfo=UTC), "updatedAt")
    assert [r["id"] for r in rows(market, "campaigns", ["id"], window=window)] == list(range(10, 20))


# -- writes -------------------------------------------------------------------------------------------
def leads_table(n, start=0):
    return pa.table({"email": [f"new{i}@example.com" for i in range(start, start + n)],
                     "firstName": ["Zoë"] * n, "leadScore": list(range(n))})


def write(market, entity, tables, **options):
    return MARKETO.write(conn_for(market), entity, iter(tables), {"object": entity, **options})


def test_leads_are_upserted_300_a_call_by_the_lookup_field(monkeypatch, waits):
    market = serve(monkeypatch)
    result = write(market, "leads", [leads_table(400), leads_table(250, 400)], writeOperationType="UPSERT",
                   idFieldNames=["email"])
    assert result.records_written == 650 and not result.failures
    assert [p for m, p in market.requests if p == "/rest/v1/leads.json"] == ["/rest/v1/leads.json"] * 3
    assert market.written["new3@example.com"] == {"email": "new3@example.com", "firstName": "Zoë", "leadScore": 3}


def test_skipped_records_become_record_failures_with_marketos_reason(monkeypatch, waits):
    market = serve(monkeypatch)
    write(market, "leads", [leads_table(2)], writeOperationType="INSERT")
    table = pa.concat_tables([leads_table(3), pa.table({"email": pa.array([None], pa.string()), "firstName": ["x"], "leadScore": [1]})])
    result = write(market, "leads", [table], writeOperationType="INSERT",
                   errorHandlingConfig={"failOnFirstDestinationError": False})
    assert result.records_written == 1
    assert [(f.where, f.reason) for f in result.failures] == [
        ("record 1", "Marketo skipped it: 1005: Lead already exists"),
        ("record 2", "Marketo skipped it: 1005: Lead already exists"),
        ("record 4", "Marketo skipped it: 1003: Value for lookup field 'email' required")]
    assert result.failures[0].record["email"] == "new0@example.com"
    missing = write(market, "leads", [leads_table(1, 900)], writeOperationType="UPDATE",
                    errorHandlingConfig={"failOnFirstDestinationError": False})
    assert missing.failures[0].reason == "Marketo skipped it: 1004: Lead not found"


def test_by_default_the_first_skipped_record_stops_the_run(monkeypatch, waits):
    market = serve(monkeypatch)
    with pytest.raises(ConnectorError, match=r"record 1: Marketo skipped it: 1006: Field 'colour' not found"):
        write(market, "leads", [pa.table({"email": ["a@example.com"], "colour": ["red"]})])


def test_custom_objects_are_written_by_their_dedupe_fields(monkeypatch, waits):
    market = serve(monkeypatch)
    table = pa.table({"vin": ["VIN1", "VIN2"], "model": ["Model S", "Модель"],
                      "updatedAt": ["2024-01-01T00:00:00Z"] * 2})
    assert write(market, "car_c", [table], writeOperationType="UPSERT").records_written == 2
    assert market.cars["VIN2"] == {"vin": "VIN2", "model": "Модель"}  # the read-only updatedAt left out


def test_destination_properties_are_checked_naming_the_field():
    assert writing.check_properties({"object": "companies"})[0][0] == "object"
    assert MARKETO.check_destination_properties({"object": "leads", "idFieldNames": ["phone"]}) == [
        ("idFieldNames", "Marketo finds leads by one of email, id, cookie, externalCompanyId, "
                         "externalSalesPersonId, sfdcLeadId, sfdcContactId, sfdcAccountId, not phone")]
    assert MARKETO.check_destination_properties({"object": "car_c", "writeOperationType": "DELETE"}) == [
        ("writeOperationType", "must be one of INSERT, UPDATE, UPSERT")]
    assert MARKETO.check_source_properties({"object": "salespersons"})[0][0] == "object"
    assert MARKETO.check_source_properties({"object": "opportunities"}) == []
    assert MARKETO.check_source_properties({"object": "activities/6"}) == []
