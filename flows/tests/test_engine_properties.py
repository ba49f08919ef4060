"""Property tests: the engine (column-wise, in batches) against the row-at-a-time reference
(flows/tests/reference.py) on random records and random task lists."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connections.connectors.base import ConnectionInfo, Connector, SourceBatch, WriteResult
from flows.engine import Endpoint, RunError, run_flow
from flows.tests import reference

OP = "CustomConnector"
SAFE_TEXT = st.characters(blacklist_categories=("Cs",))  # surrogates cannot be UTF-8
COLUMNS = {"s1": "string", "s2": "string", "i": "integer", "f": "double", "b": "boolean"}
ARROW = {"string": pa.string(), "integer": pa.int64(), "double": pa.float64(), "boolean": pa.bool_()}
TEXT_FIELDS = ("s1", "s2", "i", "b")  # the engine writes doubles as Arrow does; the reference does not try
TYPES = ("string", "integer", "double", "boolean", "date", "datetime")


def iso_datetimes() -> st.SearchStrategy[str]:
    zones = st.one_of(
        st.none(), st.just(UTC),
        st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m))),
    )
    moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones)
    return st.tuples(moments, st.sampled_from(["T", " "]), st.booleans()).map(
        lambda x: (x[0].isoformat(sep=x[1]).replace("+00:00", "Z") if x[2] else x[0].date().isoformat())
    )


TEXTS = st.one_of(
    st.none(),
    st.just(""),
    st.text(SAFE_TEXT, max_size=8),
    st.integers(-(10**20), 10**20).map(str),
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["true", "False", "TRUE", "yes", "0", "-0", "1e400", "+5", ".5", "5.", "nan", " 1",
                     "2021-02-30", "2021-01-01T24:00:00", "0000-01-01", "9999-12-31T23:59:59.999999Z"]),
    iso_datetimes(),
    st.integers(reference.MIN_MS - 5, reference.MAX_MS + 5).map(str),
)
VALUES = {
    "string": TEXTS,
    "integer": st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.integers(-3, 3),
                         st.integers(reference.MIN_MS - 5, reference.MAX_MS + 5)),
    "double": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0.0, -0.0,
                        1.5, 2.0**63, -(2.0**63), 1e308])),
    "boolean": st.one_of(st.none(), st.booleans()),
}


@st.composite
def tables(draw) -> tuple[pa.Table, list[dict]]:
    rows = draw(st.integers(0, 12))
    data = {name: draw(st.lists(VALUES[kind], min_size=rows, max_size=rows)) for name, kind in COLUMNS.items()}
    table = pa.table({name: pa.array(values, ARROW[COLUMNS[name]]) for name, values in data.items()})
    return table, table.to_pylist()


def op(name: str) -> dict:
    return {OP: name}


@st.composite
def filter_tasks(draw, sample: st.SearchStrategy[str]) -> dict:
    field = draw(st.sampled_from(list(COLUMNS)))
    text_ok = field != "f"
    operators = ["EQUAL_TO", "NOT_EQUAL_TO", "LESS_THAN", "LESS_THAN_OR_EQUAL_TO", "GREATER_THAN",
                 "GREATER_THAN_OR_EQUAL_TO", "BETWEEN"] + (["CONTAINS"] if text_ok else [])
    operator = draw(st.sampled_from(operators))
    kinds = [k for k in TYPES if text_ok or k != "string"]
    kind = draw(st.one_of(st.none(), st.sampled_from(kinds))) if operator != "CONTAINS" else None
    properties: dict[str, str] = {}
    if kind:
        properties["DATA_TYPE"] = kind
    values = draw(st.lists(sample.filter(lambda v: "," not in v and v.strip() == v and v), min_size=1,
                           max_size=3))
    if operator == "BETWEEN":
        properties["LOWER_BOUND"], properties["UPPER_BOUND"] = values[0], values[-1]
    elif len(values) > 1:
        properties["VALUES"] = ",".join(values)
    else:
        properties["VALUE"] = values[0]
    return {"taskType": "Filter", "sourceFields": [field], "connectorOperator": op(operator),
            "taskProperties": properties}


@st.composite
def task_lists(draw, table: pa.Table) -> list[dict]:
    values = [str(v) for row in table.to_pylist() for v in row.values() if v is not None and not isinstance(v, bool)]
    sample = st.one_of(st.sampled_from(values), TEXTS.filter(bool)) if values else TEXTS.filter(bool)
    tasks: list[dict] = draw(st.lists(filter_tasks(sample), max_size=2))
    produced: list[str] = []
    for n in range(draw(st.integers(0, 2))):
        fields = draw(st.lists(st.sampled_from(TEXT_FIELDS), min_size=1, max_size=3, unique=True))
        properties = {}
        if draw(st.booleans()) or len(fields) < 2:
            separator = draw(st.sampled_from([" - ", "", "/", "ü"]))
            properties["CONCAT_FORMAT"] = "<" + separator.join("{" + f + "}" for f in fields) + ">"
        tasks.append({"taskType": "Merge", "sourceFields": fields, "destinationField": f"m{n}",
                      "connectorOperator": op("NO_OP"), "taskProperties": properties})
        produced.append(f"m{n}")
    if draw(st.booleans()):
        fields = draw(st.lists(st.sampled_from(list(COLUMNS)), min_size=2, max_size=3))
        operator = draw(st.sampled_from(["ADDITION", "SUBTRACTION", "MULTIPLICATION", "DIVISION"]))
        tasks.append({"taskType": "Arithmetic", "sourceFields": fields, "destinationField": "a0",
                      "connectorOperator": op(operator),
                      "taskProperties": {"MATH_OPERATION_FIELDS_ORDER": ",".join(fields)}})
        produced.append("a0")
    if draw(st.booleans()):
        tasks.append({"taskType": "Truncate", "sourceFields": [draw(st.sampled_from(TEXT_FIELDS))],
                      "connectorOperator": op("NO_OP"),
                      "taskProperties": {"TRUNCATE_LENGTH": str(draw(st.integers(1, 6)))}})
    if draw(st.booleans()):
        mask = draw(st.sampled_from(["MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N"]))
        properties = {"MASK_VALUE": draw(st.sampled_from(["*", "#", "é"]))}
        if mask != "MASK_ALL":
            properties["MASK_LENGTH"] = str(draw(st.integers(1, 6)))
        tasks.append({"taskType": "Mask", "sourceFields": [draw(st.sampled_from(TEXT_FIELDS))],
                      "connectorOperator": op(mask), "taskProperties": properties})
    for _ in range(draw(st.integers(0, 2))):
        check = draw(st.sampled_from(["VALIDATE_NON_NULL", "VALIDATE_NON_ZERO", "VALIDATE_NON_NEGATIVE",
                                      "VALIDATE_NUMERIC"]))
        action = draw(st.sampled_from(["DropRecord", "DropRecord", "DropRecord", "DropDataset"]))
        tasks.append({"taskType": "Validate", "sourceFields": [draw(st.sampled_from(list(COLUMNS)))],
                      "connectorOperator": op(check), "taskProperties": {"VALIDATION_ACTION": action}})
    tasks += draw(_selection(produced))
    return tasks


@st.composite
def _selection(draw, produced: list[str]) -> list[dict]:
    how = draw(st.sampled_from(["map_all", "projection+maps", "maps", "projection"]))
    readable = list(COLUMNS) + produced
    maps = []
    for n, source in enumerate(draw(st.lists(st.sampled_from(readable), min_size=1, max_size=4))):
        kinds = [k for k in TYPES if k != "string" or (source in TEXT_FIELDS or source.startswith("m"))]
        properties = {}
        kind = draw(st.one_of(st.none(), st.sampled_from(kinds)))
        if kind:
            properties["DESTINATION_DATA_TYPE"] = kind
        maps.append({"taskType": "Map", "sourceFields": [source], "destinationField": f"o{n}",
                     "connectorOperator": op("NO_OP"), "taskProperties": properties})
    projected = draw(st.lists(st.sampled_from(list(COLUMNS)), min_size=1, unique=True))
    projection = {"taskType": "Filter", "sourceFields": projected, "connectorOperator": op("PROJECTION")}
    if how == "map_all":
        excluded = draw(st.lists(st.sampled_from(readable), unique=True))
        return [{"taskType": "Map_all", "sourceFields": [""], "connectorOperator": op("NO_OP"),
                 "taskProperties": {"EXCLUDE_SOURCE_FIELDS_LIST": json.dumps(excluded)}},
                *draw(st.lists(st.sampled_from(maps), max_size=2, unique_by=lambda m: m["destinationField"]))]
    if how == "projection+maps":
        return [projection, *maps]
    if how == "maps":
        return maps
    return [projection]


# -- running both ----------------------------------------------------------------------------------


class ChunkedSource(Connector):
    connector_type = "Chunks"
    can_be_source = True

    def __init__(self, table: pa.Table, size: int):
        self.table, self.size = table, size

    def read(self, conn, entity, fields, filters, window, options):
        table = self.table if fields is None else self.table.select(fields)
        for start in range(0, max(table.num_rows, 1), self.size):
            yield SourceBatch(table.slice(start, self.size))


class Collect(Connector):
    connector_type = "Collect"
    can_be_destination = True

    def write(self, conn, entity, batches, options):
        self.tables = [t for t in batches]
        return WriteResult(sum(t.num_rows for t in self.tables))


def run_engine(tasks: list[dict], table: pa.Table, batch_rows: int):
    destination = Collect()
    document = {
        "sourceFlowConfig": {"sourceConnectorProperties": {OP: {"entityName": "t"}}},
        "destinationFlowConfigList": [{"destinationConnectorProperties": {OP: {"entityName": "o"}}}],
        "tasks": tasks,
    }
    result = run_flow(document, Endpoint(ChunkedSource(table, batch_rows), ConnectionInfo("s", "Chunks")),
                      Endpoint(destination, ConnectionInfo("d", "Collect")), execution_id="p")
    rows = [_plain(row) for t in destination.tables for row in _readable(t).to_pylist()]
    return result.counters, rows


def _readable(table: pa.Table) -> pa.Table:
    """Datetimes as microseconds and dates as days since the epoch, as the reference has them."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.int64()))
        elif pa.types.is_date32(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.int32()))
    return table


def _plain(row: dict) -> dict:
    return {k: v for k, v in row.items()}


def check_equal(tasks: list[dict], table: pa.Table, records: list[dict], batch_rows: int):
    try:
        expected = reference.run(tasks, records, COLUMNS)
    except ValueError:  # a filter value that is not of its type: refused before any record passes
        with pytest.raises(RunError, match=r"(tasks\[\d+\](\.taskProperties\.\w+)?|The filter \".*\"): \"") as caught:
            run_engine(tasks, table, batch_rows)
        assert "DropDataset" not in caught.value.message
        return None
    except reference.DropDataset as stop:
        with pytest.raises(RunError, match=r": Stop the run\" stopped the run") as caught:
            run_engine(tasks, table, batch_rows)
        assert re.match(r"Record \d+ of the source", caught.value.message), caught.value.message
        return stop
    counters, rows = run_engine(tasks, table, batch_rows)
    assert rows == expected.records
    # within a batch, failures are listed stage by stage
    assert sorted(int(f.where.split()[-1].replace(",", "")) for f in counters.failures) == expected.failed
    assert counters.record_failures == len(expected.failed)
    assert counters.records_filtered == expected.filtered
    assert counters.records_dropped == expected.dropped
    assert counters.records_processed == (
        counters.records_written + counters.records_filtered + counters.records_dropped + counters.record_failures
    )
    return rows


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), batch_rows=st.integers(1, 5))
def test_engine_equals_the_row_at_a_time_reference(data, batch_rows):
    table, records = data.draw(tables())
    tasks = data.draw(task_lists(table))
    check_equal(tasks, table, records, batch_rows)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**32))
def test_task_order_does_not_change_the_result(data, seed):
    table, records = data.draw(tables())
    tasks = data.draw(task_lists(table))
    shuffled = list(tasks)
    random.Random(seed).shuffle(shuffled)
    try:
        first = run_engine(tasks, table, 4)
    except RunError as exc:
        with pytest.raises(RunError) as again:
            run_engine(shuffled, table, 4)
        assert type(again.value) is type(exc)
        return
    counters, rows = run_engine(shuffled, table, 4)
    # Map tasks write in task order, so compare each record's fields, not their order
    assert [sorted(r.items()) for r in rows] == [sorted(r.items()) for r in first[1]]
    assert (counters.records_filtered, counters.records_dropped, counters.record_failures) == (
        first[0].records_filtered, first[0].records_dropped, first[0].record_failures)
