"""Incremental windows on Local files: only records whose timestamp field is inside the window.
No Django, no database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from connections.connectors.base import ConnectorError, Window
from connections.connectors.windowing import in_window
from connections.tests.test_localfiles import CONNECTOR, conn, rows

UTC = dt.UTC
START, END = dt.datetime(2026, 5, 1, tzinfo=UTC), dt.datetime(2026, 5, 2, tzinfo=UTC)
CSV = """Id,Name,LastModifiedDate
1,before,2026-04-30T23:59:59Z
2,at start,2026-05-01T00:00:00Z
3,inside with offset,2026-05-01T14:00:00+02:00
4,naive inside,2026-05-01 12:00:00
5,at end,2026-05-02T00:00:00Z
6,no time,
7,garbage,yesterday
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "base" / "root"
    folder.mkdir(parents=True)
    monkeypatch.setenv("SLUICE_LOCAL_FILES_BASE", str(folder.parent))
    return folder


def read(root: Path, window: Window, fields=None):
    return list(CONNECTOR.read(conn(root), "accounts.csv", fields, [], window, {"entityName": "accounts.csv"}))


def test_only_records_inside_the_window_start_inclusive_end_exclusive(root):
    (root / "accounts.csv").write_text(CSV)
    batches = read(root, Window(START, END, "LastModifiedDate"))
    assert [r["Name"] for r in rows(batches)] == ["at start", "inside with offset", "naive inside"]
    warnings = [w for b in batches for w in b.warnings]
    assert warnings == ["2 record(s) of accounts.csv have no readable time in LastModifiedDate and were "
                        "left out of the incremental window."]


def test_an_open_end_and_a_field_the_flow_does_not_map(root):
    (root / "accounts.csv").write_text(CSV)
    batches = read(root, Window(START, None, "LastModifiedDate"), fields=["Id", "Name"])
    assert rows(batches) == [{"Id": "2", "Name": "at start"}, {"Id": "3", "Name": "inside with offset"},
                             {"Id": "4", "Name": "naive inside"}, {"Id": "5", "Name": "at end"}]


def test_a_field_that_is_not_a_column_is_a_clear_error(root):
    (root / "accounts.csv").write_text(CSV)
    with pytest.raises(ConnectorError, match='"Modified" .* is not a column of accounts.csv'):
        read(root, Window(START, END, "Modified"))


def test_a_window_without_a_field_reads_everything_and_says_so(root):
    (root / "accounts.csv").write_text(CSV)
    batches = read(root, Window(START, END))
    assert len(rows(batches)) == 7
    assert "names no timestamp field" in batches[0].warnings[0]


def test_no_window_reads_everything(root):
    (root / "accounts.csv").write_text(CSV)
    assert len(rows(read(root, Window(field="LastModifiedDate")))) == 7


def test_typed_timestamp_columns():
    moments = [dt.datetime(2026, 4, 30, tzinfo=UTC), dt.datetime(2026, 5, 1, 6, tzinfo=UTC)]
    aware = pa.table({"t": pa.array(moments, pa.timestamp("us", tz="UTC"))})
    assert in_window(aware, Window(START, END, "t"))[0].num_rows == 1
    naive = pa.table({"t": pa.array([m.replace(tzinfo=None) for m in moments], pa.timestamp("us"))})
    assert in_window(naive, Window(START, END, "t"))[0].num_rows == 1
    dates = pa.table({"t": pa.array([dt.date(2026, 4, 30), dt.date(2026, 5, 1)])})
    assert in_window(dates, Window(START, END, "t"))[0].num_rows == 1
