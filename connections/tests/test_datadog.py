"""The Datadog connector against the local Datadog API (datadog_server.py): logs cursor paging with
the query and date range pushed down, events / incidents / monitors paging, metric points, the
rate-limit headers obeyed, a refused key, a malformed page, the sites' hosts, and the query filter
and date range refused at save time without them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connections.connectors.base import ConnectionInfo, ConnectorError, Window
from connections.connectors.datadog import DatadogConnector, api, connector
from connections.tests.datadog_server import API_KEY, APP_KEY, T0, serve
from flows.document.validate import validate_flow_document

DD = DatadogConnector()


def connection(fake, api_key=API_KEY, app_key=APP_KEY) -> ConnectionInfo:
    return ConnectionInfo("dd", "Datadog", "", {"site": "EU", "instanceUrl": fake.base},
                          {"apiKey": api_key, "applicationKey": app_key})


def between(field: str, low: str, high: str) -> dict:
    return {"task": 1, "field": field, "operator": "BETWEEN", "values": [low, high], "dataType": "datetime"}


def query(text: str) -> dict:
    return {"task": 0, "field": "query", "operator": "EQUAL_TO", "values": [text], "dataType": None}


def rows(fake, entity, filters=(), window=None, fields=None) -> list[dict]:
    batches = DD.read(connection(fake), entity, fields, list(filters), window or Window(), {"object": entity})
    return [r for b in batches for r in b.table.to_pylist()]


@pytest.fixture
def waits(monkeypatch):
    waited: list[float] = []
    monkeypatch.setattr(api, "pause", waited.append)
    return waited


def test_logs_page_by_cursor_with_the_query_and_date_range_pushed_down(monkeypatch, waits):
    fake = serve(monkeypatch)
    monkeypatch.setattr(connector, "PAGE_SIZE", 4)
    got = rows(fake, "logs", [query("service:web"), between("timestamp", "2026-01-05T10:00:00Z",
                                                                  "2026-01-05T10:19:00Z")])
    assert [r["id"] for r in got] == [f"AQAAAY{i:06d}" for i in range(0, 20, 2)]  # 10 web logs in 20 minutes
    searches = [r for r in fake.requests if r["path"] == "/api/v2/logs/events/search"]
    assert len(searches) == 3
    assert searches[0]["body"]["filter"] == {"query": "service:web", "from": "2026-01-05T10:00:00.000Z",
                                             "to": "2026-01-05T10:19:00.001Z"}
    assert "cursor" not in searches[0]["body"]["page"] and searches[1]["body"]["page"]["cursor"]
    assert {(r["api_key"], r["app_key"]) for r in fake.requests} == {(API_KEY, APP_KEY)}
    first = got[0]
    assert first["timestamp"] == T0 and first["message"] == "requête 0 — ok ✓" and first["query"] == "service:web"
    assert first["tags"] == '["env:prod", "n:0"]' and '"status_code": 200' in first["attributes"]


def test_nulls_and_the_incremental_window(monkeypatch, waits):
    fake = serve(monkeypatch)
    window = Window(T0 + timedelta(minutes=2), T0 + timedelta(minutes=5), "timestamp")
    got = rows(fake, "logs", [query("*")], window)
    assert [r["id"] for r in got] == ["AQAAAY000002", "AQAAAY000003", "AQAAAY000004"]
    assert got[1]["host"] is None
    body = fake.requests[0]["body"]["filter"]
    assert (body["from"], body["to"]) == ("2026-01-05T10:02:00.000Z", "2026-01-05T10:05:00.000Z")


def test_events_incidents_and_monitors_page_through(monkeypatch, waits):
    fake = serve(monkeypatch)
    monkeypatch.setattr(connector, "PAGE_SIZE", 3)
    monkeypatch.setattr(connector, "INCIDENT_PAGE", 2)
    monkeypatch.setattr(connector, "MONITOR_PAGE", 2)
    span = between("timestamp", "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z")
    events = rows(fake, "events", [query("*"), span])
    assert [e["title"] for e in events] == [f"Deploy {i}" for i in range(7)] and events[0]["source"] == "ci"
    incidents = rows(fake, "incidents", [query("state:active")])
    assert [i["public_id"] for i in incidents] == [1, 2, 3, 4, 5] and incidents[0]["title"] == "Panne n°0"
    assert incidents[0]["created"] == T0 and incidents[0]["customer_impacted"] is True
    offsets = [r["params"]["page[offset]"] for r in fake.requests if r["path"] == "/api/v2/incidents/search"]
    assert offsets == ["0", "2", "4"]
    monitors = rows(fake, "monitors", [query("*")])
    assert [m["id"] for m in monitors] == [1000, 1001, 1002, 1003, 1004]
    assert monitors[0]["monitor_query"].startswith("avg(last_5m)") and monitors[0]["creator"] == "ops@example.com"
    pages = [r["params"]["page"] for r in fake.requests if r["path"] == "/api/v1/monitor/search"]
    assert pages == ["0", "1", "2"]


def test_metric_points_of_a_named_query(monkeypatch, waits):
    fake = serve(monkeypatch)
    got = rows(fake, "metrics", [query("avg:system.cpu.user{*}"),
                                 between("timestamp", "2026-01-05T10:00:00Z", "2026-01-05T10:09:59Z")])
    assert len(got) == 10 and got[0]["timestamp"] == T0 and got[0]["metric"] == "system.cpu.user"
    assert got[2]["value"] is None and got[0]["unit"] == "percent" and got[0]["expression"] == "avg:system.cpu.user{*}"
    assert fake.requests[0]["params"] == {"from": str(int(T0.timestamp())), "to": str(int(T0.timestamp()) + 600),
                                          "query": "avg:system.cpu.user{*}"}
    with pytest.raises(ConnectorError, match="metrics need a metric query"):
        rows(fake, "metrics")


def test_a_429_waits_for_the_reset_and_remaining_zero_waits_before_the_next_call(monkeypatch, waits):
    fake = serve(monkeypatch)
    monkeypatch.setattr(connector, "PAGE_SIZE", 10)
    fake.rate_limited = {2}
    fake.exhausted = {3}
    got = rows(fake, "logs", [query("*"), between("timestamp", "2026-01-05T10:00:00Z", "2026-01-05T10:30:00Z")])
    assert len(got) == 25
    assert fake.calls == 4  # page 1, page 2 refused (429), page 2 again, page 3
    assert len(waits) == 2 and all(w >= 3 for w in waits)  # X-RateLimit-Reset: 3 seconds, twice


def test_rate_limited_every_time_fails_as_temporary(monkeypatch, waits):
    fake = serve(monkeypatch)
    fake.rate_limited = set(range(1, 20))
    with pytest.raises(ConnectorError, match="HTTP 429 for logs 5 times") as caught:
        rows(fake, "logs", [query("*")])
    assert caught.value.permanent is False and fake.calls == api.ATTEMPTS


def test_a_refused_key_is_named_and_never_shown(monkeypatch, waits):
    fake = serve(monkeypatch)
    with pytest.raises(ConnectorError, match="refused the API key or the application key for the API key check "
                                             r"\(HTTP 403: Forbidden\)") as caught:
        DD.test(connection(fake, api_key="wrong-api-key"))
    assert "wrong-api-key" not in caught.value.message
    with pytest.raises(ConnectorError, match="application key check"):
        DD.test(connection(fake, app_key="wrong-app-key"))
    DD.test(connection(fake))
    assert [r["path"] for r in fake.requests][-2:] == ["/api/v1/validate", "/api/v1/monitor/search"]


def test_a_malformed_page_fails_naming_datadog_and_the_page(monkeypatch, waits):
    fake = serve(monkeypatch)
    monkeypatch.setattr(connector, "PAGE_SIZE", 5)
    fake.malformed_page = 2
    with pytest.raises(ConnectorError, match="Datadog answered page 2 of logs with a malformed body"):
        rows(fake, "logs", [query("*"), between("timestamp", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z")])


def test_each_site_has_its_documented_api_host():
    hosts = {site: api.api_address({"site": site}) for site in api.SITES}
    assert hosts == {"US1": "https://api.datadoghq.com", "US3": "https://api.us3.datadoghq.com",
                     "US5": "https://api.us5.datadoghq.com", "EU": "https://api.datadoghq.eu",
                     "AP1": "https://api.ap1.datadoghq.com", "US1-FED": "https://api.ddog-gov.com"}
    with pytest.raises(ConnectorError, match='site: "US9" is not a Datadog site'):
        api.api_address({"site": "US9"})
    with pytest.raises(ConnectorError, match="instanceUrl: .* is not an http"):
        api.api_address({"instanceUrl": "ftp://example.com"})
    fields = {f.name: f for f in DatadogConnector.config_fields}
    assert fields["site"].sends_credentials_to and fields["instanceUrl"].sends_credentials_to
    assert fields["apiKey"].secret and fields["applicationKey"].secret


# the document validator, at save time -------------------------------------------------------------

def document(tasks: list[dict], obj="logs") -> dict:
    return {
        "flowName": "dd-logs",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "Datadog", "connectorProfileName": "dd",
                             "sourceConnectorProperties": {"Datadog": {"object": obj}}},
        "destinationFlowConfigList": [{"connectorType": "S3", "connectorProfileName": "lake",
                                       "destinationConnectorProperties": {"S3": {"bucketName": "dd-bucket"}}}],
        "tasks": [{"sourceFields": ["id", "message"], "connectorOperator": {"Datadog": "PROJECTION"},
                   "taskType": "Filter"}, *tasks],
    }


QUERY_TASK = {"sourceFields": ["query"], "connectorOperator": {"Datadog": "EQUAL_TO"}, "taskType": "Filter",
              "taskProperties": {"DATA_TYPE": "string", "VALUE": "service:web status:error"}}
RANGE_TASK = {"sourceFields": ["timestamp"], "connectorOperator": {"Datadog": "BETWEEN"}, "taskType": "Filter",
              "taskProperties": {"DATA_TYPE": "datetime", "LOWER_BOUND": "1767571200000",
                                 "UPPER_BOUND": "1767657600000"}}


def errors(doc) -> list[str]:
    return [str(e) for e in validate_flow_document(doc)]


def test_the_query_filter_and_date_range_are_required_at_save_time():
    assert errors(document([QUERY_TASK, RANGE_TASK])) == []
    [missing_query] = errors(document([RANGE_TASK]))
    assert missing_query.startswith("tasks: Datadog needs a query filter: add a Filter task with EQUAL_TO")
    [missing_range] = errors(document([QUERY_TASK]))
    assert missing_range.startswith("tasks: Datadog needs a date range: add a Filter task with BETWEEN")
    assert len(errors(document([]))) == 2
    on_id = {**RANGE_TASK, "sourceFields": ["id"], "taskProperties": {"LOWER_BOUND": "a", "UPPER_BOUND": "b"}}
    assert any("needs a date range" in e for e in errors(document([QUERY_TASK, on_id])))
    split = {**QUERY_TASK, "taskProperties": {"VALUES": "service:web,service:db"}}
    assert any("goes in VALUE" in e for e in errors(document([split, RANGE_TASK])))
    [unknown] = errors(document([QUERY_TASK, RANGE_TASK], obj="dashboards"))
    assert "must be one of logs, events, incidents, monitors, metrics" in unknown


def test_bad_bounds_of_the_date_range_are_named(monkeypatch, waits):
    fake = serve(monkeypatch)
    with pytest.raises(ConnectorError, match="date range of the Datadog flow"):
        rows(fake, "logs", [query("*"), between("timestamp", "yesterday", "today")])
    assert datetime(2026, 1, 5, tzinfo=UTC) < T0
