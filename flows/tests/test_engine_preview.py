"""The preview's counts: per filter (ANDed in order) what reached it and what it kept, per
validation what it caught, and for every record what a run would write or why it leaves it out.
Pure engine, no database."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from connections.connectors.base import RecordFailure, SourceBatch
from flows.engine import compile_plan
from flows.engine.preview import preview


def f(field, op, **props):
    return {"taskType": "Filter", "sourceFields": [field], "connectorOperator": {"CustomConnector": op},
            "taskProperties": props}


TASKS = [
    f("Country", "EQUAL_TO", DATA_TYPE="string", VALUES="NO,SE"),
    f("Employees", "GREATER_THAN", DATA_TYPE="integer", VALUE="10"),
    {"taskType": "Validate", "sourceFields": ["Revenue"], "connectorOperator": {"CustomConnector": "VALIDATE_NON_NEGATIVE"},
     "taskProperties": {"VALIDATION_ACTION": "DropRecord"}},
    {"taskType": "Validate", "sourceFields": ["Id"], "connectorOperator": {"CustomConnector": "VALIDATE_NON_NULL"},
     "taskProperties": {"VALIDATION_ACTION": "DropDataset"}},
    {"taskType": "Map", "sourceFields": ["Id"], "destinationField": "id"},
    {"taskType": "Map", "sourceFields": ["Revenue"], "destinationField": "revenue",
     "taskProperties": {"DESTINATION_DATA_TYPE": "double"}},
]
ROWS = [
    {"Id": "1", "Country": "NO", "Employees": "50", "Revenue": "10"},   # written
    {"Id": "2", "Country": "DK", "Employees": "50", "Revenue": "10"},   # filter 1
    {"Id": "3", "Country": "SE", "Employees": "5", "Revenue": "10"},    # filter 2
    {"Id": "4", "Country": "SE", "Employees": "many", "Revenue": "10"},  # failed: not an integer
    {"Id": "5", "Country": "SE", "Employees": "20", "Revenue": "-1"},   # dropped
    {"Id": None, "Country": "NO", "Employees": "20", "Revenue": "1"},   # would stop the run
    {"Id": "7", "Country": "NO", "Employees": "20", "Revenue": "x1"},   # dropped: VALIDATE_NON_NEGATIVE fails a non-number
]


def test_counts_per_filter_and_validation_and_an_outcome_per_record():
    result = preview(compile_plan(TASKS), [pa.Table.from_pylist(ROWS)])
    assert [(c.description, c.reached, c.kept) for c in result.filters] == [
        ("Country is one of NO, SE as string", 6, 5),
        ("Employees is greater than 10 as integer", 5, 4),
    ]
    assert [(v.field, v.failed, v.stops_run) for v in result.validations] == [("Revenue", 2, False), ("Id", 1, True)]
    assert [(r.position, r.outcome) for r in result.records] == [
        (1, "written"), (2, "filtered"), (3, "filtered"), (4, "failed"), (5, "dropped"), (6, "stopped"), (7, "dropped")]
    assert result.records[0].result == {"id": "1", "revenue": 10.0}
    assert result.records[0].source == ROWS[0]
    assert result.records[1].reason == "left out by the filter Country is one of NO, SE as string"
    assert result.records[3].reason.startswith('Employees = "many" is not an integer')
    assert result.records[5].reason == "Id is null: this record would stop the run"
    assert result.result_columns == ["id", "revenue"]


def test_reads_only_the_limit_and_closes_the_source():
    closed = []

    def batches():
        try:
            for start in range(0, 1000, 7):
                yield SourceBatch(pa.table({"Id": [str(i) for i in range(start, start + 7)]}))
        finally:
            closed.append(True)

    tasks = [{"taskType": "Map_all", "sourceFields": [""]}]
    result = preview(compile_plan(tasks), batches(), limit=20)
    assert len(result.records) == 20 and closed == [True]
    assert result.records[-1].result == {"Id": "19"}


def test_source_failures_and_typed_values_are_plain_json():
    when = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    batch = SourceBatch(pa.table({"At": pa.array([when], pa.timestamp("us", "UTC")), "X": [float("nan")]}),
                        failures=[RecordFailure("a.csv line 3", "wrong number of columns")])
    result = preview(compile_plan([{"taskType": "Map_all", "sourceFields": [""]}]), [batch])
    assert result.records[0].source == {"At": "2024-05-01T12:00:00Z", "X": "nan"}
    assert result.records[1].outcome == "failed" and "line 3" in result.records[1].reason
    import json
    json.dumps(result.as_dict())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["NO", "SE", "DK", None]), st.sampled_from(["5", "50", "", "x", None])),
                max_size=30))
def test_preview_writes_what_a_run_writes(rows):
    tasks = TASKS[:2] + [{"taskType": "Map_all", "sourceFields": [""]}]
    table = pa.table({"Country": [r[0] for r in rows], "Employees": [r[1] for r in rows]},
                     schema=pa.schema([("Country", pa.string()), ("Employees", pa.string())]))
    plan = compile_plan(tasks)
    result = preview(plan, [table], limit=200)
    expected = plan.apply(table).to_pylist()
    assert [r.result for r in result.records if r.outcome == "written"] == expected
    # filters are ANDed in order: each one is reached by what the one before kept
    assert result.filters[1].reached == result.filters[0].kept
    assert result.count("filtered") == sum(c.left_out for c in result.filters)
