"""A document the validator accepts compiles in the engine: what can be refused before a run is
refused at save time, with a JSON path, not at the start of a run."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from flows.document import validate_flow_document
from flows.engine import PlanError, compile_plan
from flows.tests.test_document import with_tasks

FIELDS = st.sampled_from(["a", "b", "c", "a,b", ""])
OPERATORS = st.sampled_from([
    None, "NO_OP", "PROJECTION", "EQUAL_TO", "NOT_EQUAL_TO", "LESS_THAN", "GREATER_THAN", "BETWEEN",
    "CONTAINS", "ADDITION", "DIVISION", "MASK_ALL", "MASK_FIRST_N", "MASK_LAST_N", "VALIDATE_NON_NULL",
    "VALIDATE_NUMERIC",
])
PROPERTIES = st.dictionaries(
    st.sampled_from([
        "VALUE", "VALUES", "DATA_TYPE", "LOWER_BOUND", "UPPER_BOUND", "DESTINATION_DATA_TYPE", "MASK_VALUE",
        "MASK_LENGTH", "TRUNCATE_LENGTH", "CONCAT_FORMAT", "MATH_OPERATION_FIELDS_ORDER", "VALIDATION_ACTION",
        "EXCLUDE_SOURCE_FIELDS_LIST", "ORDERED_PARTITION_KEYS_LIST",
    ]),
    st.sampled_from(["1", "x", "a,b", "{a}-{b}", "integer", "string", "*", "3", "DropRecord", "[]", '["a"]',
                     "2024-01-01"]),
    max_size=3,
)


@st.composite
def tasks(draw) -> dict:
    task = {
        "taskType": draw(st.sampled_from(["Filter", "Map", "Map_all", "Passthrough", "Merge", "Arithmetic",
                                          "Mask", "Truncate", "Validate", "Partition"])),
        "sourceFields": draw(st.lists(FIELDS, max_size=3)),
    }
    operator = draw(OPERATORS)
    if operator:
        task["connectorOperator"] = {"CustomConnector": operator}
    if draw(st.booleans()):
        task["destinationField"] = draw(st.sampled_from(["a", "x", "y", "a,b"]))
    properties = draw(PROPERTIES)
    if properties:
        task["taskProperties"] = properties
    return task


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.lists(tasks(), min_size=1, max_size=4))
# Found once by chance (a Merge of empty field names passed the validator): now tried every run.
@example([{"taskType": "Map_all", "sourceFields": []}, {"taskType": "Merge", "sourceFields": ["", ""]}])
def test_a_valid_document_compiles(task_list):
    if validate_flow_document(with_tasks(*task_list)):
        return
    try:
        compile_plan(task_list)
    except PlanError as exc:
        raise AssertionError(f"the validator accepted tasks the engine refuses:\n{exc.message}") from None
