"""Local files: path safety, reading CSV / JSON Lines / Parquet with per-record failures, writing
atomically, property checks. No Django, no database."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connections.connectors import fencing, localfiles
from connections.connectors.base import ConnectionInfo, ConnectorError, Entity, Window
from connections.connectors.fileformats import encode_jsonl
from connections.connectors.localfiles import LocalFilesConnector, allowed_base

CONNECTOR = LocalFilesConnector()


@pytest.fixture
def base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "base"
    folder.mkdir()
    monkeypatch.setenv("SLUICE_LOCAL_FILES_BASE", str(folder))
    return folder


@pytest.fixture
def root(base: Path) -> Path:
    folder = base / "root"
    folder.mkdir()
    return folder


def conn(root: Path | str) -> ConnectionInfo:
    return ConnectionInfo("files", "CustomConnector", "LocalFiles", {"rootPath": str(root)})


def read(root: Path, entity: str, fields: list[str] | None = None, **custom):
    options = {"entityName": entity, **({"customProperties": custom} if custom else {})}
    return list(CONNECTOR.read(conn(root), entity, fields, [], Window(), options))


def rows(batches) -> list[dict]:
    return [r for b in batches for r in b.table.to_pylist()]


def write(root: Path, entity: str, tables, file_type: str | None = "JSONL", execution_id: str = "exec-1"):
    custom = {} if file_type is None else {"fileType": file_type}
    return CONNECTOR.write(
        conn(root),
        entity,
        iter(tables),
        {"entityName": entity, "customProperties": custom, "executionId": execution_id},
    )


# -- the allowed base and rootPath ----------------------------------------------------------------


def test_allowed_base_comes_from_the_environment_at_call_time(monkeypatch, tmp_path):
    monkeypatch.delenv("SLUICE_LOCAL_FILES_BASE", raising=False)
    monkeypatch.delenv("SLUICE_DATA_DIR", raising=False)
    assert allowed_base() == Path(localfiles.__file__).resolve().parents[2] / "data"
    monkeypatch.setenv("SLUICE_DATA_DIR", str(tmp_path / "d"))
    assert allowed_base() == tmp_path / "d"
    monkeypatch.setenv("SLUICE_LOCAL_FILES_BASE", str(tmp_path / "f"))
    assert allowed_base() == tmp_path / "f"


def test_root_outside_the_base_is_refused(base, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with pytest.raises(ConnectorError, match=r'rootPath ".*elsewhere" is outside the folder Sluice may use'):
        CONNECTOR.test(conn(outside))


def test_root_must_be_absolute_and_exist(base):
    with pytest.raises(ConnectorError, match="is not absolute"):
        CONNECTOR.test(conn("root"))
    with pytest.raises(ConnectorError, match="does not exist"):
        CONNECTOR.test(conn(base / "missing"))
    with pytest.raises(ConnectorError, match="has no rootPath"):
        CONNECTOR.test(ConnectionInfo("x", "CustomConnector", "LocalFiles", {}))


def test_root_through_a_link_out_of_the_base_is_refused(base, tmp_path):
    (tmp_path / "secret").mkdir()
    (base / "sneaky").symlink_to(tmp_path / "secret")
    with pytest.raises(ConnectorError, match="outside the folder Sluice may use"):
        CONNECTOR.test(conn(base / "sneaky"))


def test_connection_test_passes_on_a_good_folder(root):
    CONNECTOR.test(conn(root))


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_connection_test_reports_a_read_only_folder(root):
    root.chmod(0o555)
    try:
        with pytest.raises(ConnectorError, match="cannot write"):
            CONNECTOR.test(conn(root))
    finally:
        root.chmod(0o755)


# -- entity paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entity, rule",
    [
        ("../outside.csv", 'contains ".."'),
        ("sub/../../outside.csv", 'contains ".."'),
        ("/etc/passwd", "is an absolute path"),
        ("~/x.csv", "is an absolute path"),
    ],
)
def test_entity_paths_stay_inside_the_root(root, entity, rule):
    with pytest.raises(ConnectorError, match=rule) as caught:
        read(root, entity)
    assert entity in caught.value.message
    with pytest.raises(ConnectorError, match=rule):
        write(root, entity, [pa.table({"a": [1]})])


def test_links_leading_out_of_the_root_are_refused(root, tmp_path):
    (tmp_path / "private.csv").write_text("a\n1\n")
    (root / "link.csv").symlink_to(tmp_path / "private.csv")
    with pytest.raises(
        ConnectorError, match=r"outside the root folder .* links that leave the root folder are refused"
    ):
        read(root, "link.csv")
    (root / "folder").mkdir()
    (root / "folder" / "ok.csv").write_text("a\n1\n")
    (root / "folder" / "zlink.csv").symlink_to(tmp_path / "private.csv")
    with pytest.raises(ConnectorError, match=re.escape('"folder/zlink.csv" leads to')):
        read(root, "folder")
    (tmp_path / "outdir").mkdir()
    (root / "outlink").symlink_to(tmp_path / "outdir")
    with pytest.raises(ConnectorError, match="outside the root folder"):
        write(root, "outlink/x", [pa.table({"a": [1]})])
    assert "link.csv" not in [e.name for e in CONNECTOR.list_entities(conn(root))]


def test_links_inside_the_root_are_followed(root):
    (root / "real.csv").write_text("a\n1\n")
    (root / "alias.csv").symlink_to(root / "real.csv")
    assert rows(read(root, "alias.csv")) == [{"a": "1"}]


# -- listing and describing ---------------------------------------------------------------------


def test_list_entities_shows_folders_then_supported_files(root):
    (root / "b.csv").write_text("a\n")
    (root / "a.jsonl").write_text("{}\n")
    (root / "notes.txt").write_text("x")
    (root / ".hidden.csv").write_text("a\n")
    (root / "sub").mkdir()
    (root / "sub" / "c.parquet").write_bytes(b"")
    assert CONNECTOR.list_entities(conn(root)) == [
        Entity("sub", "sub", has_children=True),
        Entity("a.jsonl", "a.jsonl"),
        Entity("b.csv", "b.csv"),
    ]
    assert CONNECTOR.list_entities(conn(root), "sub") == [Entity("sub/c.parquet", "c.parquet")]


def test_describe_csv_gives_text_fields(root):
    (root / "a.csv").write_text("Id,Amount\n1,2.5\n")
    fields = CONNECTOR.describe_entity(conn(root), "a.csv")
    assert [(f.name, f.data_type) for f in fields] == [("Id", "string"), ("Amount", "string")]


def test_describe_parquet_and_jsonl_give_typed_fields(root):
    table = pa.table(
        {
            "i": pa.array([1], pa.int32()),
            "f": [1.5],
            "b": [True],
            "s": ["x"],
            "d": [dt.date(2024, 1, 2)],
            "t": pa.array([dt.datetime(2024, 1, 2, 3)], pa.timestamp("us")),
        }
    )
    pq.write_table(table, root / "a.parquet")
    described = [(f.name, f.data_type) for f in CONNECTOR.describe_entity(conn(root), "a.parquet")]
    assert described == [
        ("i", "integer"),
        ("f", "double"),
        ("b", "boolean"),
        ("s", "string"),
        ("d", "date"),
        ("t", "datetime"),
    ]
    (root / "a.jsonl").write_text('{"i": 1, "f": 1.5, "b": true, "s": "x", "n": null}\n')
    described = [(f.name, f.data_type) for f in CONNECTOR.describe_entity(conn(root), "a.jsonl")]
    assert described == [
        ("i", "integer"),
        ("f", "double"),
        ("b", "boolean"),
        ("s", "string"),
        ("n", "string"),
    ]


# -- reading --------------------------------------------------------------------------------------


def test_csv_bad_row_is_a_failure_with_its_line_and_the_read_goes_on(root):
    (root / "accounts.csv").write_text(
        "Id,Name,City\n1,Acme,Oslo\n2,Globex,Lyon,extra\n3,Initech\n4,Umbrella,Rome\n"
    )
    batches = read(root, "accounts.csv")
    assert rows(batches) == [
        {"Id": "1", "Name": "Acme", "City": "Oslo"},
        {"Id": "4", "Name": "Umbrella", "City": "Rome"},
    ]
    failures = [(f.where, f.reason) for b in batches for f in b.failures]
    assert failures == [
        ("accounts.csv line 3", "expected 3 columns, found 4"),
        ("accounts.csv line 4", "expected 3 columns, found 2"),
    ]


def test_csv_values_are_text_and_a_blank_cell_is_null_unless_the_source_says_empty_text(root):
    (root / "a.csv").write_text('Id,Zip,Note\n007,01234,""\n8,,"multi\nline"\n')
    assert rows(read(root, "a.csv")) == [
        {"Id": "007", "Zip": "01234", "Note": None},
        {"Id": "8", "Zip": None, "Note": "multi\nline"},
    ]
    assert rows(read(root, "a.csv", blankCells="EMPTY_TEXT")) == [
        {"Id": "007", "Zip": "01234", "Note": ""},
        {"Id": "8", "Zip": "", "Note": "multi\nline"},
    ]


def test_bytes_read_add_up_to_the_file_size(root, monkeypatch):
    monkeypatch.setenv("SLUICE_READ_BLOCK_BYTES", "4096")
    (root / "a.csv").write_text("Id,Name\n" + "".join(f"{i},name {i}\n" for i in range(20_000)))
    (root / "b.jsonl").write_text("".join(f'{{"Id": {i}}}\n' for i in range(5_000)))
    pq.write_table(pa.table({"Id": list(range(50_000))}), root / "c.parquet", row_group_size=5_000)
    for name in ("a.csv", "b.jsonl", "c.parquet"):
        batches = read(root, name)
        assert len(batches) > 3, name
        assert sum(b.bytes_read for b in batches) == (root / name).stat().st_size, name
        assert all(b.bytes_read >= 0 for b in batches)


def test_a_utf8_problem_names_the_file(root):
    (root / "latin1.csv").write_bytes("Name\nZürich\n".encode("latin-1"))
    with pytest.raises(ConnectorError, match=re.escape("latin1.csv is not UTF-8 text")):
        read(root, "latin1.csv")


def test_jsonl_bad_lines_are_failures_with_line_numbers(root):
    (root / "a.jsonl").write_text(
        '{"Id": 1, "Name": "Acme"}\n{"Id": 2, "Name": \n[1, 2]\n\n'
        '{"Id": "three", "Name": "x"}\n{"Id": 4, "Name": null}\n'
    )
    batches = read(root, "a.jsonl")
    assert rows(batches) == [{"Id": 1, "Name": "Acme"}, {"Id": 4, "Name": None}]
    failures = [(f.where, f.reason) for b in batches for f in b.failures]
    assert [w for w, _ in failures] == ["a.jsonl line 2", "a.jsonl line 3", "a.jsonl line 5"]
    assert failures[0][1].startswith("is not valid JSON")
    assert failures[1][1] == "is a JSON array, not an object"
    assert failures[2][1] == (
        'field "Id" holds "three", which does not fit the type int64 decided by the first lines of the file'
    )


def test_jsonl_numbers_widen_and_nulls_do_not_decide_types(root, monkeypatch):
    monkeypatch.setenv("SLUICE_READ_BLOCK_BYTES", "4096")
    first = "".join(f'{{"n": {i}, "x": null}}\n' for i in range(300))  # more than one block
    (root / "a.jsonl").write_text('{"n": 1, "x": null}\n{"n": 1.5, "x": "a"}\n{"n": "no", "x": 5}\n' + first)
    batches = read(root, "a.jsonl")
    assert batches[0].table.schema == pa.schema([("n", pa.float64()), ("x", pa.string())])
    assert rows(batches)[:2] == [{"n": 1.0, "x": None}, {"n": 1.5, "x": "a"}]
    assert [f.where for b in batches for f in b.failures] == ["a.jsonl line 3"]
    assert len(rows(batches)) == 302


def test_a_json_array_file_gets_a_clear_error(root):
    (root / "a.json").write_text('[\n  {"Id": 1},\n  {"Id": 2}\n]\n')
    with pytest.raises(
        ConnectorError, match=re.escape("a.json holds one JSON array; Sluice reads JSON Lines")
    ):
        read(root, "a.json")


def test_requested_fields_come_in_the_requested_order(root):
    (root / "a.csv").write_text("Id,Name,City\n1,Acme,Oslo\n")
    assert read(root, "a.csv", ["City", "Id"])[0].table.column_names == ["City", "Id"]
    with pytest.raises(
        ConnectorError, match=re.escape('a.csv has no field "Nope". Available fields: Id, Name, City.')
    ):
        read(root, "a.csv", ["Id", "Nope"])


def test_a_folder_reads_every_file_aligned_to_the_first(root):
    (root / "in" / "b").mkdir(parents=True)
    (root / "in" / "a.csv").write_text("Id,Name\n1,Acme\n")
    (root / "in" / "b" / "b.csv").write_text("Id,Name,Extra\n2,Globex,x\n")
    (root / "in" / "c.jsonl").write_text('{"Id": 3}\n')
    (root / "in" / ".staging.csv").write_text("Id,Name\n9,hidden\n")
    batches = read(root, "in")
    assert rows(batches) == [
        {"Id": "1", "Name": "Acme"},
        {"Id": "2", "Name": "Globex"},
        {"Id": "3", "Name": None},
    ]
    assert [w for b in batches for w in b.warnings] == [
        "in/b/b.csv has columns Extra that the first file lacks (not read); "
        "files are aligned to the columns Id, Name.",
        "in/c.jsonl has no column Name (read as empty); files are aligned to the columns Id, Name.",
    ]


def test_a_folder_is_read_in_sorted_path_order(root):
    (root / "in" / "b").mkdir(parents=True)
    (root / "in" / "c.csv").write_text("Id\n3\n")
    (root / "in" / "a.csv").write_text("Id\n1\n")
    (root / "in" / "b" / "x.csv").write_text("Id\n2\n")
    assert [r["Id"] for r in rows(read(root, "in"))] == ["1", "2", "3"]


def test_empty_folder_and_unknown_file_are_errors(root):
    (root / "empty").mkdir()
    with pytest.raises(
        ConnectorError, match=re.escape('The folder "empty" holds no CSV, JSON Lines or Parquet files.')
    ):
        read(root, "empty")
    with pytest.raises(ConnectorError, match=re.escape('"nope.csv" does not exist under the root folder')):
        read(root, "nope.csv")


# -- writing --------------------------------------------------------------------------------------

TYPED = pa.table(
    {
        "id": pa.array([1, 2, None], pa.int64()),
        "amount": [1.5, None, -2.25],
        "ok": [True, None, False],
        "name": ["Zürich / 東京", None, 'quote " and \\ back'],
        "tags": [["a"], [], None],
    }
)


def test_jsonl_round_trip_keeps_types_and_is_plain_utf8(root):
    result = write(root, "out/accounts", [TYPED.slice(0, 2), TYPED.slice(2)])
    part = root / "out" / "accounts" / "exec-1" / "part-00000.jsonl"
    assert result.location == str(part.parent)
    assert result.records_written == 3 and result.bytes_written == part.stat().st_size
    text = part.read_text(encoding="utf-8")
    assert "Zürich / 東京" in text and "\\u" not in text and "\\/" not in text
    assert json.loads(text.splitlines()[1]) == {"id": 2, "amount": None, "ok": None, "name": None, "tags": []}
    assert rows(read(root, "out/accounts/exec-1")) == TYPED.to_pylist()


def test_parquet_round_trip(root):
    write(root, "out", [TYPED], file_type="PARQUET")
    part = root / "out" / "exec-1" / "part-00000.parquet"
    assert pq.read_table(part).equals(TYPED)
    assert read(root, "out/exec-1")[0].table.equals(TYPED)


def test_csv_output_has_a_header_and_nested_values_as_json(root):
    write(root, "out", [TYPED], file_type="CSV")
    lines = (root / "out" / "exec-1" / "part-00000.csv").read_text().splitlines()
    assert lines[0] == '"id","amount","ok","name","tags"'
    assert rows(read(root, "out/exec-1"))[0] == {
        "id": "1",
        "amount": "1.5",
        "ok": "true",
        "name": "Zürich / 東京",
        "tags": '["a"]',
    }


def test_default_file_type_is_jsonl(root):
    write(root, "out", [TYPED], file_type=None)
    assert (root / "out" / "exec-1" / "part-00000.jsonl").exists()


def failing_batches() -> Iterator[pa.Table]:
    yield TYPED
    yield TYPED
    raise RuntimeError("the source broke")


def test_write_is_atomic_when_the_batches_fail(root):
    with pytest.raises(RuntimeError, match="the source broke"):
        write(root, "out", failing_batches())
    assert list((root / "out").iterdir()) == []


def test_a_rerun_replaces_the_same_execution_and_cleans_a_dead_attempt(root):
    write(root, "out", [TYPED])
    (root / "out" / ".exec-1.inprogress").mkdir()
    (root / "out" / ".exec-1.inprogress" / "part-00000.jsonl").write_text("half a fi")
    write(root, "out", [TYPED.slice(0, 1)])
    assert sorted(p.name for p in (root / "out").iterdir()) == ["exec-1"]
    assert len((root / "out" / "exec-1" / "part-00000.jsonl").read_text().splitlines()) == 1


def test_an_attempt_that_lost_its_lease_publishes_nothing_and_removes_its_staging(root):
    with pytest.raises(fencing.LeaseLost), fencing.held(1, lambda: False):
        write(root, "out", [TYPED])
    assert list((root / "out").iterdir()) == []


def test_each_attempt_stages_apart_and_the_next_one_clears_the_earlier_ones(root):
    (root / "out").mkdir()
    (root / "out" / ".exec-1.1.inprogress").mkdir()  # attempt 1, frozen or killed
    staged = []

    def batches():
        staged.extend(p.name for p in (root / "out").iterdir())
        yield TYPED

    with fencing.held(2, lambda: True):
        write(root, "out", batches())
    assert staged == [".exec-1.2.inprogress"]
    assert sorted(p.name for p in (root / "out").iterdir()) == ["exec-1"]


def test_no_batches_commits_an_empty_folder(root):
    result = write(root, "out", [])
    assert result.records_written == 0 and list((root / "out" / "exec-1").iterdir()) == []


def test_write_refuses_bad_file_type_and_execution_id(root):
    with pytest.raises(ConnectorError, match='must be one of CSV, JSONL, PARQUET, not "XML"'):
        write(root, "out", [TYPED], file_type="XML")
    with pytest.raises(ConnectorError, match="cannot name an output folder"):
        write(root, "out", [TYPED], execution_id="../x")


# -- document properties --------------------------------------------------------------------------


def test_property_checks_name_the_sub_path():
    check_src = LocalFilesConnector.check_source_properties
    check_dst = LocalFilesConnector.check_destination_properties
    assert check_src({"entityName": "accounts.csv"}) == []
    assert check_src({}) == [("entityName", "is required")]
    assert check_src({"entityName": "../x"}) == [("entityName", 'must not contain ".."')]
    assert check_src({"entityName": "a.csv", "customProperties": {"x": "1"}}) == [
        ("customProperties.x", "is not a Local files source property (only blankCells)")
    ]
    assert check_src({"entityName": "a.csv", "customProperties": {"blankCells": "EMPTY_TEXT"}}) == []
    assert check_src({"entityName": "a.csv", "customProperties": {"blankCells": "empty"}}) == [
        ("customProperties.blankCells",
         'must be NULL (a blank CSV cell is a null) or EMPTY_TEXT (it is empty text), not "empty"')
    ]
    assert check_dst({"entityName": "out", "customProperties": {"fileType": "parquet"}}) == []
    assert check_dst({"entityName": "out", "customProperties": {"fileType": "XML"}}) == [
        ("customProperties.fileType", 'must be one of CSV, JSONL, PARQUET, not "XML"')
    ]
    assert check_dst({"entityName": "/abs", "bucketName": "b"}) == [
        ("entityName", "must be relative to the connection's root folder, not absolute"),
        ("bucketName", "is not a property of Local files"),
    ]
    assert LocalFilesConnector.entity_name({"entityName": "a.csv"}) == "a.csv"


def test_block_size_setting_is_checked(root, monkeypatch):
    (root / "a.csv").write_text("a\n1\n")
    monkeypatch.setenv("SLUICE_READ_BLOCK_BYTES", "lots")
    with pytest.raises(ConnectorError, match='SLUICE_READ_BLOCK_BYTES must be a number of bytes, not "lots"'):
        read(root, "a.csv")


# -- properties (hypothesis) ----------------------------------------------------------------------

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.tuples(texts, texts), max_size=20))
def test_csv_round_trip_of_arbitrary_text(values):
    table = pa.table(
        {"a": [v[0] for v in values], "b": [v[1] for v in values]},
        schema=pa.schema([("a", pa.string()), ("b", pa.string())]),
    )
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        mp.setenv("SLUICE_LOCAL_FILES_BASE", tmp)
        write(Path(tmp), "out", [table], file_type="CSV")
        back = read(Path(tmp), "out/exec-1", blankCells="EMPTY_TEXT")  # "" stays ""
        assert rows(back) == table.to_pylist()
        assert not [f for b in back for f in b.failures]
        # by default a blank cell is a null
        blank_is_null = [{k: v or None for k, v in row.items()} for row in table.to_pylist()]
        assert rows(read(Path(tmp), "out/exec-1")) == blank_is_null


@settings(max_examples=150, deadline=None)
@given(
    records=st.lists(
        st.fixed_dictionaries(
            {
                "s": st.none() | texts,
                "i": st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
                "f": st.none() | st.floats(allow_nan=False, allow_infinity=False),
                "b": st.none() | st.booleans(),
            }
        ),
        max_size=20,
    )
)
@example(records=[{"s": "a/b \\/ c", "i": 1, "f": 0.5, "b": True}])
def test_jsonl_encoding_parses_back_to_the_same_values(records):
    table = pa.Table.from_pylist(
        records,
        schema=pa.schema([("s", pa.string()), ("i", pa.int64()), ("f", pa.float64()), ("b", pa.bool_())]),
    )
    text = encode_jsonl(table).decode("utf-8")
    assert [json.loads(line) for line in text.split("\n")[:-1]] == records
    # "/" is never escaped; drop escaped backslashes first, since a value may hold "\\/" itself.
    assert "\\/" not in text.replace("\\\\", "")


def test_parquet_gathers_small_batches_into_row_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from connections.connectors.fileformats import writers

    monkeypatch.setattr(writers, "PARQUET_ROW_GROUP_ROWS", 1_000)
    writer = writers.open_writer("PARQUET", tmp_path / "part.parquet")
    tables = [pa.table({"n": list(range(i * 300, i * 300 + 300)), "s": ["x"] * 300}) for i in range(10)]
    for table in tables:
        writer.write(table)
    writer.close()
    parquet = pq.ParquetFile(tmp_path / "part.parquet")
    # 10 batches of 300 rows: row groups of 1,200, 1,200 and the last 600, not 10 of 300
    assert [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)] == [1200, 1200, 600]
    assert pq.read_table(tmp_path / "part.parquet").equals(pa.concat_tables(tables))
    assert writer.records == 3_000


def test_csv_and_jsonl_write_the_same_iso_8601_times(root):
    """`2024-01-01T17:35:00Z`, not pyarrow's `2024-01-01 17:35:00.000000Z`; a fraction only when
    there is one (3 digits, 6 for microseconds); a time without a zone has no Z."""
    moments = [dt.datetime(2024, 1, 1, 17, 35), dt.datetime(2024, 1, 1, 17, 35, 0, 250_000),
               dt.datetime(2024, 1, 1, 17, 35, 0, 123_456), None]
    table = pa.table({"at": pa.array(moments, pa.timestamp("us", "UTC")),
                      "wall": pa.array(moments, pa.timestamp("us"))})
    expected = ["2024-01-01T17:35:00Z", "2024-01-01T17:35:00.250Z", "2024-01-01T17:35:00.123456Z", None]
    write(root, "csv", [table], file_type="CSV")
    write(root, "jsonl", [table], file_type="JSONL")
    csv_lines = (root / "csv" / "exec-1" / "part-00000.csv").read_text().splitlines()
    assert csv_lines[1:] == ['"2024-01-01T17:35:00Z","2024-01-01T17:35:00"',
                             '"2024-01-01T17:35:00.250Z","2024-01-01T17:35:00.250"',
                             '"2024-01-01T17:35:00.123456Z","2024-01-01T17:35:00.123456"', ","]
    jsonl = [json.loads(line) for line in (root / "jsonl" / "exec-1" / "part-00000.jsonl").read_text().splitlines()]
    assert [r["at"] for r in jsonl] == expected
    assert [r["wall"] for r in jsonl] == [e and e.removesuffix("Z") for e in expected]
