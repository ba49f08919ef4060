"""The embedded broker publishes a message whole or not at all (console/broker.py)."""

from __future__ import annotations

import os
from queue import Empty

import pytest
from kombu import Connection


def channel_in(folder):
    connection = Connection("filesystem://", transport_options={
        "data_folder_in": str(folder), "data_folder_out": str(folder), "control_folder": str(folder)})
    return connection, connection.default_channel


def test_the_embedded_broker_is_the_atomic_one(tmp_path):
    import console.celery  # noqa: F401  (registers the transport, as every Sluice process does)

    connection, _ = channel_in(tmp_path)  # whatever broker this test run itself uses
    assert type(connection.transport).__module__ == "console.broker"
    connection.release()


def test_a_worker_polling_while_a_message_is_written_sees_nothing_until_it_is_whole(tmp_path, monkeypatch):
    connection, channel = channel_in(tmp_path)
    seen_while_writing = []
    real_replace = os.replace

    def replace(src, dst):
        # The moment kombu's own _put would already have an empty or half-written file in place.
        with pytest.raises(Empty):
            channel._get("runs")
        seen_while_writing.append(sorted(os.listdir(tmp_path)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    channel._put("runs", {"body": "é" * 10_000})
    monkeypatch.setattr(os, "replace", real_replace)
    assert len(seen_while_writing) == 1 and seen_while_writing[0][0].endswith(".runs.msg.part")
    assert channel._get("runs") == {"body": "é" * 10_000}
    with pytest.raises(Empty):
        channel._get("runs")
    connection.release()
