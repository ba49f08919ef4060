"""Salesforce event channels: listed as objects, described with the ChangeEventHeader flattened,
and read through the Streaming API client (connections/connectors/salesforce/streaming.py)
against the local org's CometD endpoint: handshake, subscribe with replay, connect, a session
the server forgot (403::Unknown client), a dropped connection, an expired replay id, a revoked token."""

from __future__ import annotations

import pytest

from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.connectors.salesforce import SalesforceConnector, streaming
from connections.connectors.salesforce.client import SalesforceApi
from connections.tests.salesforce_server import serve


def info(org, token="sf-token") -> ConnectionInfo:
    return ConnectionInfo("sf", "Salesforce", "", {"environment": "Production"},
                          {"accessToken": token, "instanceUrl": org.base.rstrip("/")})


def test_event_channels_are_listed_and_described(monkeypatch):
    org = serve(monkeypatch)
    names = [e.name for e in SalesforceConnector().list_entities(info(org))]
    assert "Account" in names and "AccountChangeEvent" not in names and "Order_Placed__e" not in names
    assert names[-3:] == ["/data/AccountChangeEvent", "/data/ChangeEvents", "/event/Order_Placed__e"]
    fields = {f.name: f for f in SalesforceConnector().describe_entity(info(org), "/data/AccountChangeEvent")}
    assert {"Name", "ChangeEventHeader_changeType", "ChangeEventHeader_recordIds", "replayId"} <= set(fields)
    assert "ChangeEventHeader" not in fields and fields["replayId"].data_type == "integer"
    platform = {f.name for f in SalesforceConnector().describe_entity(info(org), "/event/Order_Placed__e")}
    assert platform == {"Order_Number__c", "Amount__c", "CreatedDate", "replayId"}


def test_event_channels_run_on_event_only():
    check = SalesforceConnector.check_trigger
    assert check("Event", {"object": "/data/AccountChangeEvent"}) == []
    assert "runs on event" in check("OnDemand", {"object": "/data/AccountChangeEvent"})[0]
    assert "not Account" in check("Event", {"object": "Account"})[0]
    assert SalesforceConnector.check_source_values({"object": "/data/Account"})[0][0] == "object"


def test_the_subscriber_receives_events_in_order_and_survives_a_lost_session_and_a_drop(monkeypatch):
    org = serve(monkeypatch)
    bus = org.streaming
    bus.timeout_ms = 200
    notes: list[str] = []
    sub = streaming.Subscription(SalesforceApi(info(org)), "/data/AccountChangeEvent", on_note=notes.append)
    sub.start()
    first = [bus.publish_change(n) for n in range(1, 4)]
    got = sub.poll()
    assert [e.replay_id for e in got] == first and got[0].payload["ChangeEventHeader"]["changeType"] == "UPDATE"
    bus.forget_clients_after = bus.connects  # the next connect finds its session gone
    assert sub.poll() == [] and sub.client_id == ""
    assert "403::Unknown client" in notes[-1]
    later = bus.publish_change(4)
    assert [e.replay_id for e in sub.poll()] == [later]  # handshake again, resubscribed from the last seen
    assert bus.subscribes[-1] == ("/data/AccountChangeEvent", first[-1])
    bus.drop_after = bus.connects
    with pytest.raises(ConnectorError) as dropped:
        sub.poll()
    assert not dropped.value.permanent
    record = streaming.flatten(got[0].payload, got[0].replay_id)
    assert record["ChangeEventHeader_recordIds"] == '["001000000000000001"]' and record["replayId"] == first[0]


def test_an_expired_replay_id_and_a_revoked_token_are_told_apart(monkeypatch):
    org = serve(monkeypatch)
    with pytest.raises(streaming.ReplayUnavailable):
        streaming.Subscription(SalesforceApi(info(org)), "/data/ChangeEvents", replay_from=12).start()
    with pytest.raises(streaming.AuthenticationInvalid) as refused:
        streaming.Subscription(SalesforceApi(info(org, token="revoked")), "/data/ChangeEvents").start()
    assert "Re-authorize" in refused.value.message
