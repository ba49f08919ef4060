"""Google Analytics 4 against the local server (connections/tests/ga4_server.py): properties from the
Admin API, fields from the metadata call, runReport over the run's date range with offset paging,
a 401 mid-run forcing one refresh, RESOURCE_EXHAUSTED retried with backoff, the property quota in
the run log, a malformed page; and the document validator refusing too many dimensions or metrics,
Map_all and Universal Analytics `ga:` names when the flow is saved."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from connections.connectors.base import ConnectionInfo, ConnectorError, MissingAtSource, Window
from connections.connectors.googleanalytics import GoogleAnalyticsConnector, client, connector
from connections.oauth import client as oauth
from connections.tests.ga4_server import CLIENT_ID, CLIENT_SECRET, COUNTRIES, PROPERTY, serve
from flows.document.validate import validate_flow_document

GA = GoogleAnalyticsConnector()
JAN = Window(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 8, tzinfo=UTC), "date")


def connection(fake, token="ya29.first") -> ConnectionInfo:
    def refresh(stale):
        return oauth.refresh(f"{fake.base}/token", refresh_token="google-refresh", client_id=CLIENT_ID,
                             client_secret=CLIENT_SECRET, client_auth="client_secret_post")

    return ConnectionInfo("ga", "Googleanalytics", "", {"clientId": CLIENT_ID, "apiBaseUrl": fake.base},
                          {"clientSecret": CLIENT_SECRET, "accessToken": token}, refresh=refresh)


def read(conn, fields, window=None, filters=()):
    batches = list(GA.read(conn, PROPERTY, fields, list(filters), window or Window(), {}))
    return batches, [r for b in batches for r in b.table.to_pylist()]


@pytest.fixture
def no_waiting(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(client, "pause", waits.append)
    return waits


def test_properties_come_from_the_account_summaries_page_by_page(monkeypatch):
    fake = serve(monkeypatch)
    fake.summary_page_size = 1
    entities = GA.list_entities(connection(fake))
    assert [(e.name, e.label) for e in entities] == [
        (PROPERTY, f"Acme / Acme web ({PROPERTY})"), ("properties/42", "Zürich GmbH / App (properties/42)")]
    GA.test(connection(fake))


def test_fields_are_the_propertys_dimensions_and_metrics_custom_ones_included(monkeypatch):
    fake = serve(monkeypatch)
    fields = {f.name: f for f in GA.describe_entity(connection(fake), PROPERTY)}
    assert fields["date"].data_type == "date" and fields["date"].timestamp_for_incremental
    assert fields["customUser:plan"].data_type == "string"
    assert fields["sessions"].data_type == "integer" and fields["customEvent:basket_value"].data_type == "double"


def test_the_window_is_the_report_date_range_and_values_are_typed(monkeypatch):
    fake = serve(monkeypatch)
    batches, rows = read(connection(fake), ["date", "country", "sessions", "bounceRate"], JAN)
    assert fake.reports[0]["dateRanges"] == [{"startDate": "2026-01-01", "endDate": "2026-01-07"}]
    assert fake.reports[0]["returnPropertyQuota"] is True
    assert len(rows) == 7 * len(COUNTRIES)
    assert {r["date"] for r in rows} == {f"2026-01-0{d}" for d in range(1, 8)}
    assert "Côte d’Ivoire" in {r["country"] for r in rows}
    assert isinstance(rows[0]["sessions"], int) and isinstance(rows[0]["bounceRate"], float)
    [note] = batches[-1].notes
    assert note == (f"Google Analytics property quota of {PROPERTY}: this run's 1 report page(s) used 10 "
                    "tokens; 24,990 tokens left today, 4,990 this hour.")


def test_a_between_filter_on_date_is_the_date_range(monkeypatch):
    fake = serve(monkeypatch)
    between = {"field": "date", "operator": "BETWEEN", "values": ["2026-02-01", "2026-02-03"]}
    _, rows = read(connection(fake), ["date", "sessions"], filters=[between])
    assert fake.reports[0]["dateRanges"] == [{"startDate": "2026-02-01", "endDate": "2026-02-03"}]
    assert [r["date"] for r in rows] == ["2026-02-01", "2026-02-02", "2026-02-03"]


def test_without_window_or_filter_the_last_30_days_are_read(monkeypatch):
    fake = serve(monkeypatch)
    read(connection(fake), ["date", "sessions"])
    assert fake.reports[0]["dateRanges"] == [{"startDate": "30daysAgo", "endDate": "today"}]


def test_large_reports_page_with_offset_and_limit(monkeypatch):
    fake = serve(monkeypatch)
    monkeypatch.setattr(connector, "PAGE_SIZE", 8)
    batches, rows = read(connection(fake), ["date", "country", "sessions"], JAN)
    assert len(rows) == 35 and len(batches) == 5
    assert [r["offset"] for r in fake.reports] == [0, 8, 16, 24, 32]
    assert len({(r["date"], r["country"]) for r in rows}) == 35
    assert [len(b.notes) for b in batches] == [0, 0, 0, 0, 1] and "5 report page(s) used 50" in batches[-1].notes[0]


def test_a_401_in_the_middle_of_a_run_refreshes_once(monkeypatch):
    fake = serve(monkeypatch)
    monkeypatch.setattr(connector, "PAGE_SIZE", 8)
    fake.revoke_after = 3  # metadata, pages 1 and 2; page 3 finds the token expired
    _, rows = read(connection(fake), ["date", "country", "sessions"], JAN)
    assert len(rows) == 35
    assert [c["grant_type"] for c in fake.token_calls] == ["refresh_token"]
    assert fake.token_calls[0]["client_secret"] == CLIENT_SECRET  # client_secret_post, as Google documents


def test_resource_exhausted_is_retried_with_backoff(monkeypatch, no_waiting):
    fake = serve(monkeypatch)
    fake.exhausted = [2, 3]  # the first runReport twice
    _, rows = read(connection(fake), ["date", "sessions"], JAN)
    assert len(rows) == 7 and len(no_waiting) == 2 and no_waiting[1] >= no_waiting[0] / 2


def test_quota_still_exhausted_after_the_tries_fails_as_temporary(monkeypatch, no_waiting):
    fake = serve(monkeypatch)
    fake.exhausted = list(range(2, 10))
    with pytest.raises(ConnectorError) as caught:
        read(connection(fake), ["date", "sessions"], JAN)
    assert not caught.value.permanent and "RESOURCE_EXHAUSTED" in caught.value.message
    assert "report page 1" in caught.value.message and len(no_waiting) == client.ATTEMPTS - 1


def test_a_malformed_page_fails_naming_google_analytics_and_the_page(monkeypatch):
    fake = serve(monkeypatch)
    monkeypatch.setattr(connector, "PAGE_SIZE", 8)
    fake.malformed_page = 2
    with pytest.raises(ConnectorError, match="Google Analytics answered report page 2 of properties/314159265"):
        read(connection(fake), ["date", "country", "sessions"], JAN)


def test_too_many_dimensions_are_refused_before_any_report(monkeypatch):
    fake = serve(monkeypatch)
    dims = ["date", "country", "city", "deviceCategory", "eventName", "sessionSource", "browser", "language",
            "pagePath", "customUser:plan"]
    with pytest.raises(ConnectorError, match="at most 9 dimensions per flow \\(this flow reads 10"):
        read(connection(fake), [*dims, "sessions"])
    assert fake.reports == []


def test_unknown_and_universal_analytics_fields_at_run_time(monkeypatch):
    fake = serve(monkeypatch)
    with pytest.raises(MissingAtSource, match="no dimension or metric customEvent:gone"):
        read(connection(fake), ["date", "customEvent:gone"])
    with pytest.raises(ConnectorError, match="Its GA4 equivalent is sessions"):
        read(connection(fake), ["ga:sessions"])


def test_a_property_the_account_cannot_read_is_named(monkeypatch):
    fake = serve(monkeypatch)
    with pytest.raises(ConnectorError, match="may not read the property properties/42"):
        GA.describe_entity(connection(fake), "properties/42")


def test_oauth_asks_google_for_offline_access():
    authorize, token = GoogleAnalyticsConnector.oauth_endpoints({})
    assert authorize == "https://accounts.google.com/o/oauth2/v2/auth?access_type=offline&prompt=consent"
    assert token == "https://oauth2.googleapis.com/token"
    assert GoogleAnalyticsConnector.fastest_schedule_minutes == 1440


def test_date_range_of_a_day_window():
    day = datetime(2026, 3, 1, tzinfo=UTC)
    assert GA.date_range(Window(day, day + timedelta(days=1)), []) == ("2026-03-01", "2026-03-01")
    assert GA.date_range(Window(day, None), []) == ("2026-03-01", "today")
    assert date.fromisoformat(GA.date_range(Window(day, day + timedelta(hours=2)), [])[1]) == day.date()


# the document validator, at save time -------------------------------------------------------------

def document(fields: list[str], *, tasks=None, obj=PROPERTY) -> dict:
    return {
        "flowName": "ga4-daily",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "Googleanalytics", "connectorProfileName": "ga",
                             "sourceConnectorProperties": {"GoogleAnalytics": {"object": obj}}},
        "destinationFlowConfigList": [{"connectorType": "S3", "connectorProfileName": "lake",
                                       "destinationConnectorProperties": {"S3": {"bucketName": "ga4-bucket"}}}],
        "tasks": tasks or [{"sourceFields": fields, "connectorOperator": {"GoogleAnalytics": "PROJECTION"},
                            "taskType": "Filter"}],
    }


def errors(doc) -> list[str]:
    return [str(e) for e in validate_flow_document(doc)]


def test_nine_dimensions_and_ten_metrics_are_accepted():
    dims = ["date", "country", "city", "deviceCategory", "eventName", "sessionSource", "browser", "language",
            "customUser:plan"]
    metrics = ["sessions", "totalUsers", "newUsers", "screenPageViews", "eventCount", "bounceRate",
               "averageSessionDuration", "engagementRate", "purchaseRevenue", "calcMetric:margin"]
    assert errors(document(dims + metrics)) == []


def test_a_tenth_dimension_or_an_eleventh_metric_is_refused_at_save_time():
    dims = ["date", "country", "city", "deviceCategory", "eventName", "sessionSource", "browser", "language",
            "pagePath", "hostName"]
    assert errors(document(dims)) == [
        "tasks: Google Analytics 4 takes at most 9 dimensions per flow (this flow reads 10: "
        f"{', '.join(dims)}); make a second flow for the rest"]
    metrics = ["sessions", "totalUsers", "newUsers", "screenPageViews", "eventCount", "bounceRate",
               "averageSessionDuration", "engagementRate", "purchaseRevenue", "keyEvents", "activeUsers"]
    [problem] = errors(document(metrics))
    assert "at most 10 metrics per flow (this flow reads 11" in problem


def test_universal_analytics_fields_are_refused_naming_the_ga4_equivalent():
    problems = errors(document(["ga:date", "ga:pageviews", "ga:dimension24", "ga:eventCategory"]))
    assert problems[0] == ("tasks[0].sourceFields[0]: \"ga:date\" is a Universal Analytics field; Universal "
                           "Analytics stopped processing data in 2023 and Sluice reads Google Analytics 4 "
                           "only. Its GA4 equivalent is date")
    assert problems[1].endswith("Its GA4 equivalent is screenPageViews")
    assert "customEvent:<parameter name> or customUser:<property name>" in problems[2]
    assert "GA4 has no direct equivalent" in problems[3]


def test_map_all_and_a_universal_analytics_view_are_refused():
    map_all = [{"sourceFields": [""], "connectorOperator": {"GoogleAnalytics": "PROJECTION"}, "taskType": "Map_all",
                "taskProperties": {}}]
    assert ("tasks[0].taskType: Google Analytics 4 reports need their dimensions and metrics chosen (at most 9 "
            "and 10): use Map tasks or a PROJECTION Filter instead of Map_all") in errors(document([], tasks=map_all))
    [problem] = errors(document(["date"], obj="ga:12345678"))
    assert "Universal Analytics view" in problem and "properties/<property id>" in problem


def test_the_wizard_builds_tasks_the_validator_takes_for_ga4():
    from flows.wizard.mapping import FieldChoices, FieldMapping, build_tasks

    choices = FieldChoices(maps=[FieldMapping("date", "day", "date"), FieldMapping("sessions", "sessions", "integer")])
    tasks = build_tasks(choices, "GoogleAnalytics")
    assert tasks[0]["connectorOperator"] == {"GoogleAnalytics": "PROJECTION"}
    assert [t["taskType"] for t in tasks] == ["Filter", "Map", "Map"]
    assert all("connectorOperator" not in t for t in tasks[1:])  # AppFlow has no NO_OP for Google Analytics
    assert errors(document([], tasks=tasks)) == []
    assert build_tasks(choices, "Pardot")[1]["connectorOperator"] == {"Pardot": "NO_OP"}
