"""The Dynatrace connector against the local environment (dynatrace_server.py): nextPageKey paging
with the key alone on follow-up requests, ranges over 30 days split (and refused at save time as a
BETWEEN filter), entities by type, metric data points, 429 waited out from Retry-After, a refused
token, a malformed page, and the environment URL forms."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connections.connectors.base import ConnectionInfo, ConnectorError, MissingAtSource, Window
from connections.connectors.dynatrace import DynatraceConnector, api, connector
from connections.tests.dynatrace_server import T0, TOKEN, ms, serve
from flows.document.validate import validate_flow_document

DT = DynatraceConnector()


def connection(fake, token=TOKEN) -> ConnectionInfo:
    return ConnectionInfo("dt", "Dynatrace", "", {"instanceUrl": fake.base}, {"apiToken": token})


def between(field: str, low: str, high: str) -> dict:
    return {"task": 1, "field": field, "operator": "BETWEEN", "values": [low, high], "dataType": "datetime"}


def rows(fake, entity, filters=(), window=None, fields=None) -> list[dict]:
    batches = DT.read(connection(fake), entity, fields, list(filters), window or Window(), {"object": entity})
    return [r for b in batches for r in b.table.to_pylist()]


@pytest.fixture
def waits(monkeypatch):
    waited: list[float] = []
    monkeypatch.setattr(api, "pause", waited.append)
    return waited


def test_problems_page_by_next_page_key_sent_alone(monkeypatch, waits):
    fake = serve(monkeypatch)
    monkeypatch.setattr(connector, "PAGE_SIZE", 4)
    got = rows(fake, "problems", [between("startTime", "2026-01-01T00:00:00Z", "2026-01-10T23:59:59Z")])
    assert [p["problemId"] for p in got] == [f"P-{i:04d}" for i in range(10)]
    assert got[0]["title"] == "Réponse lente 0 ⚠" and got[0]["endTime"] is None  # -1: still open
    assert got[1]["endTime"] == T0 + timedelta(days=1, hours=2) and got[0]["rootCauseEntity"] == "HOST-1"
    assert got[1]["rootCauseEntity"] is None
    params = [r["params"] for r in fake.requests]
    assert params[0] == {"from": str(ms(T0)), "to": str(ms(T0 + timedelta(days=10)) - 999), "pageSize": "4"}
    assert [set(p) for p in params[1:]] == [{"nextPageKey"}, {"nextPageKey"}]
    assert {r["auth"] for r in fake.requests} == {f"Api-Token {TOKEN}"}


def test_a_range_over_30_days_is_read_in_30_day_windows(monkeypatch, waits):
    fake = serve(monkeypatch)
    window = Window(T0, T0 + timedelta(days=70), "startTime")
    got = rows(fake, "problems", window=window)
    assert len(got) == 70 and len({p["problemId"] for p in got}) == 70
    spans = [(int(r["params"]["from"]), int(r["params"]["to"])) for r in fake.requests]
    day = 86_400_000
    assert spans == [(ms(T0), ms(T0) + 30 * day), (ms(T0) + 30 * day, ms(T0) + 60 * day),
                     (ms(T0) + 60 * day, ms(T0) + 70 * day)]


def test_events_audit_logs_entities_and_metric_points(monkeypatch, waits):
    fake = serve(monkeypatch)
    monkeypatch.setattr(connector, "PAGE_SIZE", 2)
    span = [between("startTime", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")]
    events = rows(fake, "events", span)
    assert [e["title"] for e in events] == [f"Déploiement {i}" for i in range(5)]
    assert events[0]["entityName"] == "web-1" and events[0]["endTime"] is None
    logs = rows(fake, "auditlogs", [between("timestamp", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")])
    assert len(logs) == 4 and logs[0]["success"] is True and logs[0]["message"] is None
    hosts = rows(fake, "entities/HOST")
    assert [h["entityId"] for h in hosts] == [f"HOST-{i}" for i in range(6)]
    assert fake.requests[-1]["params"] == {"nextPageKey": fake.requests[-1]["params"]["nextPageKey"]}
    first_hosts = next(r for r in fake.requests if r["path"] == "/api/v2/entities")
    assert first_hosts["params"]["entitySelector"] == 'type("HOST")' and "from" not in first_hosts["params"]
    points = rows(fake, "metrics/builtin:host.cpu.usage:avg",
                  [between("timestamp", "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z")])
    assert len(points) == 10 and points[0]["metricId"] == "builtin:host.cpu.usage:avg"
    assert points[0]["dimensions"] == '{"dt.entity.host": "HOST-1"}' and points[1]["value"] is None
    metric_call = next(r for r in fake.requests if r["path"] == "/api/v2/metrics/query")
    assert metric_call["params"]["metricSelector"] == "builtin:host.cpu.usage:avg"


def test_a_429_is_waited_out_from_retry_after(monkeypatch, waits):
    fake = serve(monkeypatch)
    fake.rate_limited = {1, 2}
    got = rows(fake, "auditlogs", [between("timestamp", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")])
    assert len(got) == 4 and fake.calls == 3 and len(waits) == 2 and all(w >= 2 for w in waits)
    fake.rate_limited = set(range(1, 50))
    with pytest.raises(ConnectorError, match="HTTP 429 for audit logs 5 times") as caught:
        rows(fake, "auditlogs")
    assert caught.value.permanent is False


def test_a_refused_token_is_named_and_never_shown(monkeypatch, waits):
    fake = serve(monkeypatch)
    with pytest.raises(ConnectorError, match=r"refused the API token .* \(HTTP 401: Token Authentication failed\)") \
            as caught:
        DT.test(connection(fake, token="dt0c01.WRONG.secret"))
    assert "WRONG" not in caught.value.message
    DT.test(connection(fake))


def test_a_malformed_page_fails_naming_dynatrace_and_the_page(monkeypatch, waits):
    fake = serve(monkeypatch)
    monkeypatch.setattr(connector, "PAGE_SIZE", 3)
    fake.malformed_page = 2
    with pytest.raises(ConnectorError, match="Dynatrace answered page 2 of problems without a list of problems"):
        rows(fake, "problems", [between("startTime", "2026-01-01T00:00:00Z", "2026-01-10T00:00:00Z")])


def test_environment_urls_and_objects():
    assert api.environment_url({"instanceUrl": "abc12345"}) == "https://abc12345.live.dynatrace.com"
    assert api.environment_url({"instanceUrl": "https://abc12345.live.dynatrace.com/"}) == \
        "https://abc12345.live.dynatrace.com"
    assert api.environment_url({"instanceUrl": "https://dt.example.com/e/1234-abcd"}) == \
        "https://dt.example.com/e/1234-abcd"
    with pytest.raises(ConnectorError, match="instanceUrl: .* is not a Dynatrace environment URL"):
        api.environment_url({"instanceUrl": "ftp://x"})
    [field] = [f for f in DynatraceConnector.config_fields if f.name == "instanceUrl"]
    assert field.sends_credentials_to
    with pytest.raises(MissingAtSource, match='no object "entities/host"'):
        connector._kind("entities/host")
    assert DynatraceConnector.check_source_values({"object": "slo"})[0][0] == "object"


def document(low: str, high: str) -> dict:
    return {
        "flowName": "dt-problems",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {"connectorType": "Dynatrace", "connectorProfileName": "dt",
                             "sourceConnectorProperties": {"Dynatrace": {"object": "problems"}}},
        "destinationFlowConfigList": [{"connectorType": "S3", "connectorProfileName": "lake",
                                       "destinationConnectorProperties": {"S3": {"bucketName": "dt-bucket"}}}],
        "tasks": [{"sourceFields": ["problemId", "title"], "connectorOperator": {"Dynatrace": "PROJECTION"},
                   "taskType": "Filter"},
                  {"sourceFields": ["startTime"], "connectorOperator": {"Dynatrace": "BETWEEN"}, "taskType": "Filter",
                   "taskProperties": {"DATA_TYPE": "datetime", "LOWER_BOUND": low, "UPPER_BOUND": high}}],
    }


def test_a_date_range_over_30_days_is_refused_at_save_time():
    assert [str(e) for e in validate_flow_document(document("2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z"))] == []
    [problem] = [str(e) for e in validate_flow_document(document("2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"))]
    assert "Dynatrace reads a date range of at most 30 days (this one spans 59.0 days)" in problem
