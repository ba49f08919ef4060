"""Amplitude: the Export API client and the events reader against a local project
(amplitude_server.py): hourly windows, empty hours, big hours split in files, rate limits, refused
keys, damaged and malformed archives, the date range, data residency."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from connections.connectors.amplitude import client, connector, events
from connections.connectors.amplitude.client import base_url
from connections.connectors.amplitude.connector import AmplitudeConnector, export_range
from connections.connectors.base import ConnectionInfo, ConnectorError, MissingAtSource, Window
from connections.tests.amplitude_server import serve

START = datetime(2026, 11, 30, 22, tzinfo=UTC)
END = START + timedelta(hours=3)  # three hours: 22, 23 and 00
THREE_HOURS = Window(START, END)


@pytest.fixture
def sleeps(monkeypatch):
    waited: list[float] = []
    monkeypatch.setattr(client, "sleep", waited.append)
    return waited


def connection(project, **properties) -> ConnectionInfo:
    return ConnectionInfo("amp", "Amplitude", "", {"dataResidency": "US", "baseUrl": project.base, **properties},
                          {"apiKey": project.api_key, "secretKey": project.secret_key})


def read(project, fields=None, window=THREE_HOURS, filters=()):
    batches = list(AmplitudeConnector().read(connection(project), "events", fields, list(filters), window, {}))
    return batches, [row for b in batches for row in b.table.to_pylist()]


def test_events_of_each_hour_of_the_window_are_read_with_their_documented_fields(monkeypatch):
    project = serve(monkeypatch, events_per_hour=4)
    batches, rows = read(project)
    assert [r[:2] for r in project.requests] == [("20261130T22", "20261130T22"), ("20261130T23", "20261130T23"),
                                                 ("20261201T00", "20261201T00")]
    assert len(rows) == 12 and len({r["uuid"] for r in rows}) == 12
    first = rows[0]
    assert first["server_upload_time"] == "2026-11-30T22:00:00.000000Z"  # Amplitude's UTC time, as ISO
    assert json.loads(first["event_properties"]) == {"song": {"title": "Für Elise", "seconds": 0},
                                                     "tags": ["a", "b"]}  # kept as JSON text
    assert json.loads(first["user_properties"])["ünï"] == "çødé"
    assert first["city"] == "Zürich" and rows[1]["city"] == "東京"
    assert rows[3]["user_id"] is None and rows[0]["location_lat"] is None and rows[1]["location_lat"] == 47.37
    assert first["amplitude_id"] == 900000 and first["is_attribution_event"] is False
    assert first["$insert_id"] == "ins-20261130T22-0"
    assert sum(b.bytes_read for b in batches) > 0
    names = [f.name for f in AmplitudeConnector().describe_entity(connection(project), "events")]
    assert list(batches[0].table.column_names) == names


def test_only_the_chosen_fields_and_only_events_inside_the_window(monkeypatch):
    project = serve(monkeypatch, events_per_hour=4)
    _, rows = read(project, ["uuid", "event_type"], Window(START + timedelta(minutes=30), START + timedelta(hours=1)))
    # 22:00, 22:15 are before the window; 22:30 and 22:45 are in it: the hour is read whole, then narrowed
    assert rows == [{"uuid": "20261130T22-00000002", "event_type": "Purchase ✓"},
                    {"uuid": "20261130T22-00000003", "event_type": "page_view"}]
    assert [r[0] for r in project.requests] == ["20261130T22"]


def test_an_event_without_an_upload_time_is_left_out_and_the_log_says_so(monkeypatch):
    from connections.tests import amplitude_server

    original = amplitude_server.event
    monkeypatch.setattr(amplitude_server, "event", lambda hour, index, per_hour: {
        **original(hour, index, per_hour), **({"server_upload_time": None} if index == 1 else {})})
    project = serve(monkeypatch, events_per_hour=3)
    batches, rows = read(project, ["uuid"], Window(START, START + timedelta(hours=1)))
    assert [r["uuid"] for r in rows] == ["20261130T22-00000000", "20261130T22-00000002"]
    assert "1 record(s) of the hour 2026-11-30 22:00 UTC have no readable time" in batches[0].warnings[0]


def test_an_hour_without_data_answers_404_and_is_skipped(monkeypatch):
    project = serve(monkeypatch, events_per_hour=2, empty_hours={"20261130T23"})
    _, rows = read(project)
    assert [r[2] for r in project.requests] == [200, 404, 200]
    assert len(rows) == 4


def test_a_range_without_any_data_gives_an_empty_result_not_an_error(monkeypatch):
    project = serve(monkeypatch, events_per_hour=0)
    batches, rows = read(project, ["uuid"])
    assert rows == [] and batches[0].table.column_names == ["uuid"]


def test_a_big_hour_comes_in_several_files_and_in_batches(monkeypatch):
    monkeypatch.setattr(connector, "BATCH_ROWS", 10)
    project = serve(monkeypatch, events_per_hour=25, per_file=7)
    batches, rows = read(project, ["uuid"], Window(START, START + timedelta(hours=1)))
    assert len(rows) == 25 and [b.table.num_rows for b in batches] == [10, 10, 5]
    assert [r["uuid"] for r in rows] == [f"20261130T22-{i:08d}" for i in range(25)]


def test_a_batch_also_ends_at_its_size_so_memory_follows_bytes_not_rows(monkeypatch):
    monkeypatch.setattr(events, "BATCH_BYTES", 5000)  # about four events of the local project
    project = serve(monkeypatch, events_per_hour=10)
    batches, rows = read(project, ["uuid"], Window(START, START + timedelta(hours=1)))
    assert len(rows) == 10 and len(batches) == 3 and all(b.table.num_rows <= 5 for b in batches)


def test_a_rate_limited_export_is_waited_out_with_its_retry_after(monkeypatch, sleeps):
    project = serve(monkeypatch, events_per_hour=1, rate_limited=2, retry_after="7")
    _, rows = read(project, ["uuid"])
    assert [r[2] for r in project.requests] == [429, 429, 200, 200, 200]
    assert len(rows) == 3 and len(sleeps) == 2 and all(s >= 7 for s in sleeps)


def test_a_rate_limit_that_does_not_end_fails_the_run_as_temporary(monkeypatch, sleeps):
    project = serve(monkeypatch, events_per_hour=1, rate_limited=10, retry_after="30")
    with pytest.raises(ConnectorError) as caught:
        read(project)
    assert not caught.value.permanent and caught.value.retry_after == 30
    assert "rate limiting" in caught.value.message and "2026-11-30 22:00" in caught.value.message
    assert len(project.requests) == client.RETRIES + 1


def test_a_timed_out_export_is_asked_again(monkeypatch, sleeps):
    project = serve(monkeypatch, events_per_hour=1, timeouts=1)
    _, rows = read(project, ["uuid"])
    assert [r[2] for r in project.requests][:2] == [504, 200] and len(rows) == 3


def test_refused_keys_fail_with_what_to_check_and_without_the_secret(monkeypatch):
    project = serve(monkeypatch, events_per_hour=1, refuse_from=2)
    with pytest.raises(ConnectorError) as caught:
        read(project)
    message = caught.value.message
    assert caught.value.permanent and "API key and secret key" in message and "HTTP 401" in message
    assert project.secret_key not in message and project.api_key not in message
    assert [r[2] for r in project.requests] == [200, 401]  # one refusal, no retry storm


def test_a_malformed_line_fails_naming_amplitude_the_hour_the_file_and_the_line(monkeypatch):
    project = serve(monkeypatch, events_per_hour=5, malformed={"20261130T23"})
    with pytest.raises(ConnectorError) as caught:
        read(project)
    assert caught.value.permanent
    assert ("Amplitude's export of the hour 2026-11-30 23:00 UTC, file 187520/187520_2026-11-30_23#0.json.gz, "
            "line 3 is not a JSON event") in caught.value.message


def test_a_damaged_archive_fails_the_run(monkeypatch):
    project = serve(monkeypatch, events_per_hour=5, damaged={"20261130T22"})
    with pytest.raises(ConnectorError, match="the hour 2026-11-30 22:00 UTC is not a zip archive"):
        read(project)


def test_a_between_filter_on_the_upload_time_narrows_the_export(monkeypatch):
    project = serve(monkeypatch, events_per_hour=2)
    between = {"field": "server_upload_time", "operator": "BETWEEN",
               "values": ["2026-11-30T23:00:00Z", str(int((START + timedelta(hours=5)).timestamp() * 1000))]}
    _, rows = read(project, ["uuid"], Window(), [between])
    # BETWEEN includes its upper bound: the event uploaded at 03:00:00.000 exactly is in, so hour 03 is read
    assert [r[0] for r in project.requests] == ["20261130T23", "20261201T00", "20261201T01", "20261201T02",
                                                "20261201T03"]
    assert len(rows) == 9 and rows[-1]["uuid"] == "20261201T03-00000000"


def test_without_a_range_the_last_24_whole_hours_are_exported_and_the_log_says_so():
    now = datetime(2026, 12, 3, 8, 41, tzinfo=UTC)
    start, end, notes = export_range(Window(), [], now)
    # hour 05 is whole in the export from 08:00 (Amplitude's two hours of loading after the hour)
    assert (start, end) == (datetime(2026, 12, 2, 6, tzinfo=UTC), datetime(2026, 12, 3, 6, tzinfo=UTC))
    assert len(notes) == 1 and "the last 24 full hours" in notes[0]


def test_a_range_ending_too_recently_for_the_export_is_named_with_the_offset_to_give():
    now = datetime(2026, 12, 3, 8, 41, tzinfo=UTC)
    notes = export_range(Window(now - timedelta(days=1), now), [], now)[2]
    assert "may be missing" in notes[0] and "scheduleOffset of 10800 seconds" in notes[0]
    assert export_range(Window(now - timedelta(days=1), now - timedelta(hours=3)), [], now)[2] == []


def test_more_than_365_days_is_refused_before_any_call():
    with pytest.raises(ConnectorError, match="at most 365 days"):
        export_range(Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)), [],
                     datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ConnectorError, match="needs two dates"):
        export_range(Window(), [{"field": "server_upload_time", "operator": "BETWEEN", "values": ["x"]}],
                     datetime(2026, 1, 1, tzinfo=UTC))


def test_data_residency_picks_the_host_the_keys_go_to():
    assert base_url({"dataResidency": "US"}) == "https://amplitude.com/"
    assert base_url({"dataResidency": "eu"}) == "https://analytics.eu.amplitude.com/"
    assert base_url({}) == "https://amplitude.com/"
    with pytest.raises(ConnectorError, match='dataResidency: "MARS" is not US or EU'):
        base_url({"dataResidency": "Mars"})
    fields = {f.name: f for f in AmplitudeConnector.config_fields}
    assert fields["dataResidency"].sends_credentials_to and fields["baseUrl"].sends_credentials_to
    assert fields["apiKey"].secret and fields["secretKey"].secret


def test_an_appflow_profile_with_empty_properties_is_a_us_connection():
    from connections.services import check_fields

    check_fields(AmplitudeConnector, {}, {"apiKey": "k", "secretKey": "s"})  # AppFlow's shape: no properties
    assert base_url({}) == "https://amplitude.com/"


def test_the_connection_test_is_one_cheap_call_and_names_a_refused_key(monkeypatch):
    project = serve(monkeypatch, events_per_hour=50_000)
    AmplitudeConnector().test(connection(project))  # the list of event types, not an hour's export
    assert [r[2] for r in project.requests] == [200] and len(project.requests) == 1
    wrong = ConnectionInfo("amp", "Amplitude", "", {"baseUrl": project.base},
                           {"apiKey": project.api_key, "secretKey": "wrong"})
    with pytest.raises(ConnectorError, match="refused the API key and secret key"):
        AmplitudeConnector().test(wrong)
    with pytest.raises(ConnectorError, match="secretKey: is required"):
        AmplitudeConnector().test(ConnectionInfo("amp", "Amplitude", "", {}, {"apiKey": "k"}))


def test_only_events_can_be_read_and_unknown_fields_are_named(monkeypatch):
    project = serve(monkeypatch)
    assert AmplitudeConnector.check_source_properties({"object": "users"})[0][0] == "object"
    assert AmplitudeConnector.check_source_properties({"object": "events"}) == []
    with pytest.raises(MissingAtSource, match='no object "users"'):
        list(AmplitudeConnector().read(connection(project), "users", None, [], Window(START, END), {}))
    with pytest.raises(MissingAtSource) as caught:
        read(project, ["uuid", "song"])
    assert caught.value.fields == ("song",)
