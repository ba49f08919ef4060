"""The EventBridge destination against moto's events service in server mode: records become
events on a partner event bus (an SQS target proves delivery), PutEvents calls stay within 10
entries and 256 KB, an event over 256 KB goes to the large-event bucket, refusals are record failures."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.connectors.eventbridge import EventBridgeConnector
from connections.connectors.eventbridge.batching import MAX_BYTES, Entry, calls
from connections.tests import s3server
from connections.tests.eventbridge_bus import drain, partner_bus


def connection() -> ConnectionInfo:
    return ConnectionInfo("eb", "EventBridge", "", {"region": s3server.REGION, "endpointUrl": s3server.need_s3()},
                          {"accessKeyId": s3server.ACCESS_KEY, "secretAccessKey": s3server.SECRET_KEY})


def test_calls_hold_at_most_ten_entries_and_256_kb():
    entries = [Entry(n, "s", "t", "x" * size) for n, size in enumerate([10] * 12 + [100_000] * 4, start=1)]
    groups = list(calls(entries))
    assert [len(g) for g in groups] == [10, 4, 2]
    assert all(sum(e.size for e in g) <= MAX_BYTES for g in groups)


def test_records_become_events_and_a_large_one_goes_to_s3(monkeypatch):
    bus, queue = partner_bus()
    bucket = s3server.new_bucket()
    rows = [{"Id": f"a{n}", "n": n, "Description": "x" * (300_000 if n == 7 else 5)} for n in range(1, 24)]
    options = {"object": bus, "executionId": "e1", "flowName": "SfToBus", "sourceEntity": "/data/AccountChangeEvent",
               "errorHandlingConfig": {"bucketName": bucket, "bucketPrefix": "big"}}
    result = EventBridgeConnector().write(connection(), bus, [pa.Table.from_pylist(rows)], options)
    assert result.records_written == 23 and not result.failures
    events = drain(queue)
    assert len(events) == 23
    assert {e["source"] for e in events} == {"sluice.SfToBus"}
    assert {e["detail-type"] for e in events} == {"AccountChangeEvent"}
    large = next(e["detail"] for e in events if e["detail"].get("largeEvent"))
    assert large["s3Bucket"] == bucket and large["s3Key"] == "big/large-events/e1/7.json"
    assert json.loads(s3server.body(bucket, large["s3Key"]))["Id"] == "a7"
    assert sorted(e["detail"]["n"] for e in events if "n" in e["detail"]) == [n for n in range(1, 24) if n != 7]


def test_refused_and_oversized_events_are_record_failures():
    bus, queue = partner_bus()
    rows = [{"n": 1, "big": "y"}, {"n": 2, "big": "y" * 300_000}]
    keep_going = {"object": bus, "flowName": "F", "sourceEntity": "X",
                  "errorHandlingConfig": {"failOnFirstDestinationError": False}}
    result = EventBridgeConnector().write(connection(), bus, [pa.Table.from_pylist(rows)], keep_going)
    assert result.records_written == 1 and [f.where for f in result.failures] == ["record 2"]
    assert "large-event bucket" in result.failures[0].reason and len(drain(queue)) == 1
    with pytest.raises(ConnectorError, match="Record 2"):
        EventBridgeConnector().write(connection(), bus, [pa.Table.from_pylist(rows)], {"object": bus})
    with pytest.raises(ConnectorError, match="no such event bus"):
        EventBridgeConnector().write(connection(), "nobody", [pa.Table.from_pylist(rows[:1])], {"object": "nobody"})
