"""Singular: the asynchronous Reporting API against a local account (singular_server.py): fields
from the filters and custom-dimension endpoints, create / poll / download, 30-day reports, the
100,000-record cap, rate limits, failed reports, expired download addresses, malformed results."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from connections.connectors.base import ConnectionInfo, ConnectorError, MissingAtSource, Window
from connections.connectors.singular import SingularConnector, client, connector, reports
from connections.connectors.singular.connector import date_range
from connections.tests.singular_server import CUSTOM_ID, serve

DAY = datetime(2026, 11, 1, tzinfo=UTC)
TWO_DAYS = Window(DAY, DAY + timedelta(days=2))


@pytest.fixture(autouse=True)
def sleeps(monkeypatch):
    waited: list[float] = []
    monkeypatch.setattr(client, "sleep", waited.append)
    return waited


def connection(account) -> ConnectionInfo:
    return ConnectionInfo("sing", "Singular", "", {"baseUrl": account.base}, {"apiKey": account.api_key})


def read(account, fields, window=TWO_DAYS, filters=()):
    batches = list(SingularConnector().read(connection(account), "report", fields, list(filters), window, {}))
    return batches, [row for b in batches for row in b.table.to_pylist()]


def test_fields_are_the_dimensions_custom_dimensions_metrics_and_the_day(monkeypatch):
    account = serve(monkeypatch)
    fields = {f.name: f for f in SingularConnector().describe_entity(connection(account), "report")}
    assert fields["source"].data_type == "string" and "EQUAL_TO" in fields["source"].filter_operators
    assert fields[CUSTOM_ID].data_type == "string"  # a custom dimension, by the id Singular takes
    assert fields["adn_cost"].data_type == "double" and fields["custom_installs"].data_type == "double"
    assert fields["start_date"].timestamp_for_incremental and not fields["start_date"].nullable
    assert [r[1] for r in account.requests] == ["/api/v2.0/reporting/filters", "/api/custom_dimensions"]


def test_a_report_is_created_polled_and_downloaded(monkeypatch, sleeps):
    account = serve(monkeypatch)
    batches, rows = read(account, ["start_date", "app", "source", "adn_cost", "adn_impressions"])
    assert len(rows) == 2 * 2 * 3  # days x apps x sources
    assert rows[0] == {"start_date": "2026-11-01", "app": "Simba", "source": "Facebook", "adn_cost": 2.5,
                       "adn_impressions": 2.5}
    assert {r["app"] for r in rows} == {"Simba", "Ünïcødé Quest"}
    assert all(r["adn_impressions"] is None for r in rows if r["source"] == "TikTok")  # empty -> null
    paths = [r[1] for r in account.requests]
    assert paths[2:] == ["/api/v2.0/create_async_report", "/api/v2.0/get_report_status",
                         "/api/v2.0/get_report_status", "/api/v2.0/get_report_status", "/results/r0001.csv"]
    create = account.requests[2][2]
    assert (create["start_date"], create["end_date"], create["time_breakdown"], create["format"]) == (
        "2026-11-01", "2026-11-02", "day", "csv")
    assert create["dimensions"] == "app,source" and create["metrics"] == "adn_cost,adn_impressions"
    assert "api_key" not in create and account.requests[2][3] == account.api_key  # the key in a header
    assert account.requests[-1][3] == ""  # the signed download address gets no API key
    assert sleeps == [1, 2]  # QUEUED, STARTED, then DONE
    assert batches[0].bytes_read > 0


def test_equal_to_on_a_dimension_is_pushed_down_as_singulars_filter(monkeypatch):
    account = serve(monkeypatch)
    equal = {"field": "source", "operator": "EQUAL_TO", "values": ["TikTok", "AdWords"], "dataType": None}
    _, rows = read(account, ["source", "custom_installs"], filters=[equal])
    assert {r["source"] for r in rows} == {"TikTok", "AdWords"} and len(rows) == 4
    assert '"dimension": "source", "operator": "in"' in account.requests[2][2]["filters"]


def test_without_a_metric_the_report_still_asks_for_one_and_returns_the_dimensions(monkeypatch):
    account = serve(monkeypatch)
    _, rows = read(account, ["os"], Window(DAY, DAY + timedelta(days=1)))
    assert rows == [{"os": "iOS"}, {"os": "Android"}]
    assert account.requests[2][2]["metrics"] == "adn_cost,custom_installs"


def test_a_range_over_30_days_is_asked_as_several_reports_and_the_log_says_so(monkeypatch):
    account = serve(monkeypatch, polls_before_done=0)
    batches, rows = read(account, ["start_date", "os"], Window(DAY, DAY + timedelta(days=45)))
    creates = [r[2] for r in account.requests if r[1] == "/api/v2.0/create_async_report"]
    assert [(c["start_date"], c["end_date"]) for c in creates] == [("2026-11-01", "2026-11-30"),
                                                                   ("2026-12-01", "2026-12-15")]
    assert len(rows) == 45 * 2
    assert "asked as 2 reports of at most 30 days" in batches[0].warnings[0]


def test_more_than_100000_records_fail_the_run_with_what_to_narrow(monkeypatch):
    monkeypatch.setattr(connector, "MAX_RECORDS", 10)
    account = serve(monkeypatch, polls_before_done=0)
    with pytest.raises(ConnectorError) as caught:
        read(account, ["app", "source", "adn_cost"])
    assert caught.value.permanent and "more than 10 records" in caught.value.message
    assert "choose fewer dimensions" in caught.value.message


def test_a_rate_limited_create_is_waited_out_with_its_retry_after(monkeypatch, sleeps):
    account = serve(monkeypatch, rate_limited=2, retry_after="9", polls_before_done=0)
    _, rows = read(account, ["os", "adn_cost"])
    assert len(rows) == 4 and sleeps[:2] and all(s >= 9 for s in sleeps[:2])
    assert [r[1] for r in account.requests].count("/api/v2.0/create_async_report") == 3


def test_a_rate_limit_that_does_not_end_fails_the_run_as_temporary(monkeypatch):
    account = serve(monkeypatch, rate_limited=10, retry_after="60")
    with pytest.raises(ConnectorError) as caught:
        read(account, ["os"])
    assert not caught.value.permanent and caught.value.retry_after == 60
    assert "rate limiting" in caught.value.message


def test_a_failed_report_fails_with_singulars_reason(monkeypatch):
    account = serve(monkeypatch, fail_reports=True)
    with pytest.raises(ConnectorError, match="report r0001 .* failed: Data connector Facebook is not available"):
        read(account, ["os"])


def test_an_expired_download_address_is_asked_for_again(monkeypatch):
    account = serve(monkeypatch, expire_downloads=1, polls_before_done=0)
    _, rows = read(account, ["os"])
    assert len(rows) == 4
    assert [r[1] for r in account.requests][-3:] == ["/results/r0001.csv", "/api/v2.0/get_report_status",
                                                      "/results/r0001.csv"]


def test_a_malformed_result_fails_naming_singular_the_report_and_the_line(monkeypatch):
    account = serve(monkeypatch, malformed_line=3, polls_before_done=0)
    with pytest.raises(ConnectorError) as caught:
        read(account, ["os", "adn_cost"])
    assert caught.value.message.startswith(
        "Singular's result file of report r0001 (2026-11-01 to 2026-11-02), line 4: adn_cost is \"n/a\"")


def test_a_refused_key_says_which_credential_without_showing_it(monkeypatch):
    account = serve(monkeypatch)
    wrong = ConnectionInfo("sing", "Singular", "", {"baseUrl": account.base}, {"apiKey": "nope-123"})
    with pytest.raises(ConnectorError) as caught:
        SingularConnector().test(wrong)
    assert "refused the API key" in caught.value.message and "nope-123" not in caught.value.message
    SingularConnector().test(connection(account))
    with pytest.raises(ConnectorError, match="apiKey: is required"):
        SingularConnector().test(ConnectionInfo("sing", "Singular", "", {}, {}))


def test_a_key_refused_mid_run_fails_at_once_there_is_no_token_to_refresh(monkeypatch):
    account = serve(monkeypatch, refuse_from=4, polls_before_done=0)  # after create: the status poll
    with pytest.raises(ConnectorError) as caught:
        read(account, ["os"])
    assert caught.value.permanent and "refused the API key (HTTP 401" in caught.value.message
    assert [r[1] for r in account.requests][-1] == "/api/v2.0/get_report_status"  # asked once, no storm


def test_the_date_range_defaults_to_the_last_7_full_days():
    first, last, notes = date_range(Window(), date(2026, 12, 3))
    assert (first, last) == (date(2026, 11, 26), date(2026, 12, 2)) and "7 full days" in notes[0]
    assert date_range(TWO_DAYS, date(2026, 12, 3))[:2] == (date(2026, 11, 1), date(2026, 11, 2))
    assert reports.date_chunks(date(2026, 1, 1), date(2026, 3, 1)) == [
        (date(2026, 1, 1), date(2026, 1, 30)), (date(2026, 1, 31), date(2026, 3, 1))]


def test_unknown_objects_and_fields_are_named(monkeypatch):
    account = serve(monkeypatch)
    assert SingularConnector.check_source_properties({"object": "report"}) == []
    assert SingularConnector.check_source_properties({"object": "campaigns"})[0][0] == "object"
    with pytest.raises(MissingAtSource) as caught:
        read(account, ["os", "adn_revenue_typo"])
    assert caught.value.fields == ("adn_revenue_typo",)
