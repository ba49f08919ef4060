"""The Trend Micro connector against the local Deep Security API (trendmicro_server.py): ID paging
of the search endpoints, the events' date windows pushed down, the vendor's dates, nulls and
unicode, and its failures (a refused key, the 429 answer, a malformed page) as clear messages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connections import net
from connections.connectors.base import ConnectionInfo, ConnectorError, Window
from connections.connectors.registry import get_connector
from connections.connectors.trendmicro.client import PAGE_SIZE
from connections.tests.trendmicro_server import KEY, START, serve


def connection(fake, key: str = KEY) -> ConnectionInfo:
    return ConnectionInfo("tm", "Trendmicro", "", {"apiUrl": fake.base}, {"apiSecretKey": key})


OPEN = Window()


def rows(fake, entity: str, fields=None, window: Window = OPEN) -> list[dict]:
    batches = get_connector("Trendmicro").read(connection(fake), entity, fields, [], window, {})
    return [r for b in batches for r in b.table.to_pylist()]


def test_computers_are_paged_by_id_with_the_documented_search(monkeypatch):
    fake = serve(monkeypatch)
    found = rows(fake, "computers")
    assert [r["ID"] for r in found] == list(range(1, 1201))
    bodies = [r["body"] for r in fake.requests]
    assert [b["maxItems"] for b in bodies] == [PAGE_SIZE] * 3 and all(b["sortByObjectID"] for b in bodies)
    assert bodies[0]["searchCriteria"] == []
    assert bodies[1]["searchCriteria"] == [{"idValue": 500, "idTest": "greater-than"}]
    assert bodies[2]["searchCriteria"] == [{"idValue": 1000, "idTest": "greater-than"}]
    headers = fake.requests[0]["headers"]
    assert headers["api-secret-key"] == KEY and headers["api-version"] == "v1"
    assert {r["resource"] for r in fake.requests} == {"computers"}


def test_dates_nulls_unicode_and_nested_values(monkeypatch):
    fake = serve(monkeypatch, count=3)
    first, second, _ = rows(fake, "computers")
    assert first["hostName"] == "büro-日本" and first["description"] is None
    assert first["lastAgentCommunication"] == "2026-01-01T00:00:01.000Z"
    assert second["lastAgentCommunication"] is None  # 0 is the API's "never"
    assert first["computerStatus"] == '{"agentStatus": "active"}'
    event = rows(fake, "antiMalwareEvents")[0]
    assert event["hostID"] is None and event["tags"] == '["prod", "ünïcode"]'
    assert event["logDate"] == "2026-01-01T00:00:00.000Z"


def test_an_events_window_is_pushed_down_as_a_date_range_on_logdate(monkeypatch):
    fake = serve(monkeypatch)
    window = Window(START + timedelta(minutes=100), START + timedelta(minutes=160))
    found = rows(fake, "firewallEvents", ["firewallEventID", "logDate"], window)
    assert [r["firewallEventID"] for r in found] == list(range(101, 161))
    start_ms = int(window.start.timestamp() * 1000)
    assert fake.requests[0]["body"]["searchCriteria"] == [
        {"fieldName": "logDate", "firstDate": start_ms, "firstDateInclusive": True,
         "lastDate": start_ms + 3_600_000, "lastDateInclusive": False}]
    assert len(fake.requests) == 1  # the window went to the server, not 1200 records to Sluice


def test_a_window_on_computers_or_another_field_is_refused_with_a_message(monkeypatch):
    fake = serve(monkeypatch)
    with pytest.raises(ConnectorError, match="no time field.*Complete"):
        rows(fake, "computers", window=Window(START, None))
    with pytest.raises(ConnectorError, match='"hostID".*use logDate'):
        rows(fake, "firewallEvents", window=Window(START, None, field="hostID"))
    assert fake.requests == []


def test_a_refused_key_is_named_and_never_shown(monkeypatch):
    fake = serve(monkeypatch)
    with pytest.raises(ConnectorError) as caught:
        get_connector("Trendmicro").test(connection(fake, key="wrong-key-123"))
    assert "refused the API secret key" in caught.value.message and caught.value.permanent
    assert "wrong-key-123" not in caught.value.message


def test_a_key_revoked_mid_run_fails_the_read(monkeypatch):
    fake = serve(monkeypatch, revoke_after=1)
    with pytest.raises(ConnectorError, match="refused the API secret key for computers page 2"):
        rows(fake, "computers")


def test_the_rate_limit_answer_is_transient(monkeypatch):
    fake = serve(monkeypatch, rate_limited={2})
    with pytest.raises(ConnectorError) as caught:
        rows(fake, "policies")
    assert not caught.value.permanent
    assert "rate limiting" in caught.value.message and "policies page 2" in caught.value.message
    assert "Too many API requests" in caught.value.message


def test_a_malformed_page_names_the_vendor_and_the_page(monkeypatch):
    fake = serve(monkeypatch, malformed_at=2)
    with pytest.raises(ConnectorError, match="Trend Micro answered firewallEvents page 2.*malformed"):
        rows(fake, "firewallEvents")


def test_a_server_that_ignores_the_id_criterion_does_not_loop_forever(monkeypatch):
    from connections.tests import trendmicro_server

    fake = serve(monkeypatch)
    monkeypatch.setattr(trendmicro_server, "_matches", lambda record, id_key, criteria: True)
    with pytest.raises(ConnectorError, match="do not go past 500"):
        rows(fake, "computers")
    assert len(fake.requests) == 2


def test_source_and_connection_properties_are_checked():
    cls = type(get_connector("Trendmicro"))
    assert cls.check_source_properties({"object": "computers"}) == []
    assert cls.check_source_properties({"object": "alerts"}) == [
        ("object", "must be one of computers, policies, antiMalwareEvents, intrusionPreventionEvents, "
                   "firewallEvents")]
    assert cls.check_connection_properties({"region": "mars-1"})[0].startswith('region: "mars-1" is not')
    assert cls.check_connection_properties({"apiUrl": "ftp://x"})[0].startswith("apiUrl:")
    assert cls.check_connection_properties({"region": "de-1"}) == []
    assert cls.fastest_schedule_minutes == 60


def test_the_api_address_goes_through_the_ssrf_guard():
    conn = ConnectionInfo("tm", "Trendmicro", "", {"apiUrl": "http://169.254.169.254/api"}, {"apiSecretKey": "k"})
    with pytest.raises(net.BlockedAddress):
        get_connector("Trendmicro").test(conn)


def test_an_appflow_connector_profile_imports_unchanged():
    from connections import services

    cls = type(get_connector("Trendmicro"))
    properties, credentials = services.split_profile_config("Trendmicro", {
        "connectorProfileProperties": {"Trendmicro": {}},
        "connectorProfileCredentials": {"Trendmicro": {"apiSecretKey": "2:abc"}}})
    services.check_fields(cls, properties, credentials)  # no error: region defaults to us-1
    assert credentials == {"apiSecretKey": "2:abc"} and properties == {}
