"""Steps 3 and 4 as tasks: what the wizard's choices become in the flow document, that the
validator accepts it and the engine runs it as the page says, and that the tasks read back."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.document import validate_flow_document
from flows.engine import compile_plan
from flows.wizard.mapping import (
    FieldChoices,
    FieldMapping,
    FilterRule,
    Formula,
    Modification,
    ValidationRule,
    build_tasks,
    choice_problems,
    conditions_for,
)
from flows.wizard.mapping_read import read_tasks

FIELDS = {"Id": "string", "Name": "string", "Country": "string", "Revenue": "double",
          "Employees": "integer", "Phone": "string", "Created": "datetime"}


def choices() -> FieldChoices:
    return FieldChoices(
        maps=[FieldMapping("Id", "account_id"), FieldMapping("Name", "name"),
              FieldMapping("Phone", "phone"), FieldMapping("Revenue", "revenue", "double")],
        formulas=[Formula("concat", ["Name", "Country"], "label", separator=" - "),
                  Formula("arithmetic", ["Revenue", "Employees"], "per_head", operator="/")],
        modifications=[Modification("Phone", "mask_first", 3, "#"), Modification("Name", "truncate", 4)],
        validations=[ValidationRule("Revenue", "negative", "drop")],
        filters=[FilterRule("Country", "one_of", ["NO", "SE"]),
                 FilterRule("Employees", "between", ["1", "100"], "integer")],
    )


def document(tasks: list[dict]) -> dict:
    connector = {"connectorType": "CustomConnector", "connectorLabel": "LocalFiles", "connectorProfileName": "x"}
    return {
        "flowName": "f1", "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {**connector, "sourceConnectorProperties": {"CustomConnector": {"entityName": "a.csv"}}},
        "destinationFlowConfigList": [{**connector, "destinationConnectorProperties": {
            "CustomConnector": {"entityName": "out", "customProperties": {"fileType": "JSONL"}}}}],
        "tasks": tasks,
    }


def test_the_tasks_are_appflows_shapes_with_the_projection_first():
    tasks = build_tasks(choices(), "CustomConnector")
    assert tasks[0] == {"sourceFields": ["Id", "Name", "Phone", "Revenue", "Country", "Employees"],
                        "connectorOperator": {"CustomConnector": "PROJECTION"}, "taskType": "Filter"}
    assert tasks[1]["taskProperties"] == {"DATA_TYPE": "string", "VALUES": "NO,SE"}
    assert tasks[2]["taskProperties"] == {"DATA_TYPE": "integer", "LOWER_BOUND": "1", "UPPER_BOUND": "100"}
    merge = next(t for t in tasks if t["taskType"] == "Merge")
    assert merge["destinationField"] == "Name,Country"
    assert merge["taskProperties"] == {"CONCAT_FORMAT": "{Name} - {Country}"}
    assert validate_flow_document(document(tasks)) == []


def test_the_engine_runs_the_tasks_as_the_page_says():
    plan = compile_plan(build_tasks(choices(), "CustomConnector"))
    rows = [
        {"Id": "1", "Name": "Acme Corp", "Country": "NO", "Revenue": "1000", "Employees": "10", "Phone": "5550100", "Created": ""},
        {"Id": "2", "Name": "Globex", "Country": "DK", "Revenue": "10", "Employees": "5", "Phone": "1", "Created": ""},
        {"Id": "3", "Name": "Initech", "Country": "SE", "Revenue": "-5", "Employees": "5", "Phone": "1", "Created": ""},
        {"Id": "4", "Name": "Umbrella", "Country": "SE", "Revenue": "50", "Employees": "500", "Phone": "1", "Created": ""},
    ]
    out = plan.apply(pa.Table.from_pylist(rows)).to_pylist()
    assert out == [{"account_id": "1", "name": "Acme", "phone": "###0100", "revenue": 1000.0,
                    "label": "Acme Corp - NO", "per_head": 100.0}]


def test_tasks_read_back_to_the_same_choices():
    original = choices()
    again = read_tasks(build_tasks(original, "Salesforce"), FIELDS)
    assert again.as_dict() == original.as_dict()


def test_map_all_is_expanded_and_unknown_tasks_are_kept():
    tasks = [
        {"taskType": "Map_all", "sourceFields": [""], "taskProperties": {"EXCLUDE_SOURCE_FIELDS_LIST": '["Phone"]'}},
        {"taskType": "Map", "sourceFields": ["Name"], "destinationField": "name"},
        {"taskType": "Partition", "sourceFields": ["Country"]},
    ]
    got = read_tasks(tasks, FIELDS)
    assert [(m.source, m.destination) for m in got.maps] == [
        ("Id", "Id"), ("Country", "Country"), ("Revenue", "Revenue"), ("Employees", "Employees"),
        ("Created", "Created"), ("Name", "name")]
    assert got.other_tasks == [{"taskType": "Partition", "sourceFields": ["Country"]}]
    assert build_tasks(got, "CustomConnector")[-1] == {"taskType": "Partition", "sourceFields": ["Country"]}


def test_problems_name_the_control():
    bad = FieldChoices(
        maps=[FieldMapping("Nope", "a"), FieldMapping("Id", "a"), FieldMapping("Name", "")],
        formulas=[Formula("concat", ["Name"], "x")],
        modifications=[Modification("Phone", "mask_last", 0, "**")],
        validations=[ValidationRule("Revenue", "odd", "drop")],
        filters=[FilterRule("Country", "greater", ["A"]), FilterRule("Revenue", "equals", ["ten"], "double"),
                 FilterRule("Country", "one_of", ["a,b", "c"]), FilterRule("Employees", "between", ["1"], "integer")],
    )
    assert choice_problems(bad, FIELDS) == [
        ("maps.0", 'the source object has no field "Nope".'),
        ("maps.1", '"a" is already the destination of Nope; each destination field takes one value.'),
        ("maps.2", "choose a destination field for Name."),
        ("formulas.0", "a formula needs two or more fields."),
        ("modifications.0", "N must be a whole number of characters, 1 or more."),
        ("modifications.0", "the mask character must be exactly one character."),
        ("validations.0", "choose a condition: null, zero, negative or not numeric."),
        ("filters.0.condition", 'Country cannot be filtered with "is greater than" (offered: equals, does not equal, contains, is one of).'),
        ("filters.1.values", '"ten" is not a number; Revenue is compared as double.'),
        ("filters.2.values", "with several criteria no value may hold a comma (AppFlow joins them with commas)."),
        ("filters.3.values", "between takes a lower and an upper bound."),
    ]


def test_conditions_follow_the_type_and_the_source():
    assert conditions_for("string") == ("equals", "not_equals", "contains", "one_of")
    assert "between" in conditions_for("datetime")
    assert conditions_for("datetime", ("PROJECTION", "GREATER_THAN")) == ("greater",)


names = st.sampled_from(sorted(FIELDS))
rules = st.builds(FilterRule, names, st.sampled_from(["equals", "not_equals", "one_of"]),
                  st.lists(st.text("abc123", min_size=1, max_size=4), min_size=1, max_size=3))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(names, st.text("abcdef_", min_size=1, max_size=6)), max_size=6, unique_by=lambda p: p[1]),
       st.lists(rules, max_size=4))
def test_any_valid_choices_round_trip(pairs, filters):
    for f in filters:
        if f.condition == "equals" and len(f.values) > 1:
            f.condition = "one_of"
        if f.condition == "one_of" and len(f.values) == 1:
            f.condition = "equals"
    original = FieldChoices(maps=[FieldMapping(s, d, FIELDS[s]) for s, d in pairs], filters=filters)
    assert read_tasks(build_tasks(original, "CustomConnector"), FIELDS).as_dict() == original.as_dict()


def test_a_source_whose_appflow_operators_are_few_gets_tasks_it_accepts():
    """Amplitude's AppFlow operators are BETWEEN only: no projection Filter, Map tasks without a
    connectorOperator, the BETWEEN filter kept; the document validates and reads back."""
    picked = FieldChoices(maps=[FieldMapping("uuid", "uuid"), FieldMapping("event_type", "event")],
                          filters=[FilterRule("server_upload_time", "between",
                                              ["1764540000000", "1764550799999"], "datetime")])
    tasks = build_tasks(picked, "Amplitude")
    assert [t["taskType"] for t in tasks] == ["Filter", "Map", "Map"]
    assert tasks[0]["connectorOperator"] == {"Amplitude": "BETWEEN"}
    assert all("connectorOperator" not in t for t in tasks[1:])
    doc = document(tasks)
    doc["sourceFlowConfig"] = {"connectorType": "Amplitude", "connectorProfileName": "amp",
                               "sourceConnectorProperties": {"Amplitude": {"object": "events"}}}
    assert validate_flow_document(doc) == []
    again = read_tasks(tasks, {"uuid": "string", "event_type": "string", "server_upload_time": "datetime"})
    assert [(m.source, m.destination) for m in again.maps] == [("uuid", "uuid"), ("event_type", "event")]
