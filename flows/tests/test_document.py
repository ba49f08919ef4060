"""The flow document: parsing, validation (exact paths and messages), CloudFormation import.

Runs without Django: `.venv/bin/python -m pytest -p no:django flows/tests/test_document.py`."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connections.connectors import registry
from connections.connectors.base import Connector
from flows.document import (
    DocumentError,
    DocumentInvalid,
    check_flow_document,
    connector_for,
    flow_document_warnings,
    from_cloudformation,
    looks_like_cloudformation,
    parse_flow_json,
    validate_flow_document,
)
from flows.document.appflow_model import CONNECTOR_OPERATORS, CONNECTOR_TYPES, OPERATORS, TASK_TYPES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "flow-document.md"
REAL_CONNECTORS = dict(registry.CONNECTORS)


# -- a registry the tests control ---------------------------------------------------------------


class FakeLocalFiles(Connector):
    """Stands in for LocalFiles so these tests do not depend on its progress."""

    connector_type = "CustomConnector"
    connector_label = "LocalFiles"
    can_be_source = True
    can_be_destination = True
    properties_key = "CustomConnector"
    trigger_types = ("OnDemand", "Scheduled")

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        if not isinstance(props.get("entityName"), str) or not props.get("entityName"):
            return [("entityName", "is required")]
        return []

    @classmethod
    def check_destination_properties(cls, props: Any) -> list[tuple[str, str]]:
        problems = cls.check_source_properties(props)
        file_type = (props.get("customProperties") or {}).get("fileType", "CSV")
        if file_type not in ("CSV", "JSONL"):
            problems.append(
                ("customProperties.fileType", f'unknown value "{file_type}" (expected one of CSV, JSONL)')
            )
        return problems


class ReadOnlyFiles(FakeLocalFiles):
    connector_label = "ReadOnlyFiles"
    can_be_destination = False


class BrokenChecker(FakeLocalFiles):
    connector_label = "Broken"

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        raise KeyError("entityName")


class NativeSalesforce(FakeLocalFiles):
    connector_type = "Salesforce"
    connector_label = ""


def _use_registry(monkeypatch: pytest.MonkeyPatch, connectors: dict[str, str]) -> None:
    registry.get_connector_class.cache_clear()
    monkeypatch.setattr(registry, "CONNECTORS", connectors)
    monkeypatch.setattr(registry, "_registered", None)  # no registered packages either: no database here


@pytest.fixture(autouse=True)
def fake_registry(monkeypatch: pytest.MonkeyPatch):
    _use_registry(monkeypatch, {"LocalFiles": f"{__name__}.FakeLocalFiles"})
    yield
    registry.get_connector_class.cache_clear()


# -- documents ----------------------------------------------------------------------------------


def localfiles_doc(**changes: Any) -> dict:
    doc = {
        "flowName": "accounts-to-jsonl",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {
            "connectorType": "CustomConnector",
            "connectorLabel": "LocalFiles",
            "connectorProfileName": "local-inbox",
            "sourceConnectorProperties": {"CustomConnector": {"entityName": "accounts.csv"}},
        },
        "destinationFlowConfigList": [
            {
                "connectorType": "CustomConnector",
                "connectorLabel": "LocalFiles",
                "connectorProfileName": "local-outbox",
                "destinationConnectorProperties": {
                    "CustomConnector": {
                        "entityName": "out/accounts",
                        "customProperties": {"fileType": "JSONL"},
                    },
                },
            }
        ],
        "tasks": [{"sourceFields": [], "taskType": "Map_all", "taskProperties": {}}],
    }
    doc.update(changes)
    return doc


def with_tasks(*tasks: dict) -> dict:
    return localfiles_doc(tasks=list(tasks))


def map_task(source: str, destination: str, **extra: Any) -> dict:
    return {
        "sourceFields": [source],
        "destinationField": destination,
        "taskType": "Map",
        "connectorOperator": {"CustomConnector": "NO_OP"},
        **extra,
    }


def task(task_type: str, operator: str | None = None, fields: list[str] | None = None, **props: str) -> dict:
    result: dict[str, Any] = {"sourceFields": fields if fields is not None else ["a"], "taskType": task_type}
    if operator:
        result["connectorOperator"] = {"CustomConnector": operator}
    if props:
        result["taskProperties"] = props
    return result


def errors(doc: Any) -> list[str]:
    return [str(error) for error in validate_flow_document(doc)]


def errors_at(doc: Any, prefix: str) -> list[str]:
    return [e for e in errors(doc) if e.startswith(prefix)]


# The seeds' AppFlow examples (Salesforce to S3), as the CLI, the API and CloudFormation write them.
SEED_CLI = {
    "flowName": "MySalesforceToS3Flow",
    "triggerConfig": {"triggerType": "OnDemand"},
    "sourceFlowConfig": {
        "connectorType": "Salesforce",
        "connectorProfileName": "MySalesforceConnection",
        "sourceConnectorProperties": {"Salesforce": {"object": "Account"}},
    },
    "destinationFlowConfigList": [
        {
            "connectorType": "S3",
            "destinationConnectorProperties": {
                "S3": {"bucketName": "<s3-bucket-name>", "s3OutputFormatConfig": {"fileType": "CSV"}},
            },
        }
    ],
    "tasks": [{"sourceFields": [], "taskType": "Map_all", "taskProperties": {}}],
}
SEED_API_BODY = """{
    "flowName": "MySalesforceToS3Flow",
    "triggerConfig": {
        "triggerType": "OnDemand"
    },
    "sourceFlowConfig": {
          "connectorType": "Salesforce",
          "connectorProfileName": "MySalesforceConnection",
          "sourceConnectorProperties": {
              "Salesforce": {
                  "object": "Account"
            }
        }
    },
    "destinationFlowConfigList": [{
        "connectorType": "S3",
        "destinationConnectorProperties": {
            "S3": {
                "bucketName": "appflow-demo-destination",
                "s3OutputFormatConfig": {
                    "fileType": "CSV"
                }
            }
        }
    }],
    "tasks": [
        {
            "sourceFields": [],
            "taskType": "Map_all",
            "taskProperties": {}
        }
    ]
}"""
SEED_CLOUDFORMATION = """{
  "AWSTemplateFormatVersion":"2010-09-09",
  "Resources": {
    "MySalesforceToS3Flow": {
      "Type" : "AWS::AppFlow::Flow",
      "Properties": {
        "FlowName": "MySalesforceToS3Flow",
        "TriggerConfig": {
          "TriggerType": "OnDemand"
        },
        "SourceFlowConfig": {
          "ConnectorType": "Salesforce",
          "ConnectorProfileName": "MySalesforceConnection",
          "SourceConnectorProperties": {
            "Salesforce": {
                "Object": "Account"
            }
          }
        },
        "DestinationFlowConfigList" : [{
          "ConnectorType": "S3",
          "DestinationConnectorProperties": {
            "S3": {
              "BucketName": "<s3-bucket-name>",
              "S3OutputFormatConfig": {
                "FileType": "CSV"
              }
            }
          }
        }],
        "Tasks": [
          {
            "TaskType": "Map_all",
            "SourceFields": [],
            "TaskProperties": [{
              "Key": "EXCLUDE_SOURCE_FIELDS_LIST",
              "Value": "[]"
            }],
            "ConnectorOperator": {
              "Salesforce": "NO_OP"
            }
          }
        ]
      }
    }
  }
}"""
NO_SALESFORCE_NOR_S3 = [
    'sourceFlowConfig.connectorType: Sluice has no "Salesforce" connector yet (available: LocalFiles)',
    'destinationFlowConfigList[0].connectorType: Sluice has no "S3" connector yet (available: LocalFiles)',
]


# -- good documents -----------------------------------------------------------------------------


def test_localfiles_example_is_valid():
    assert errors(localfiles_doc()) == []


def docs_examples() -> list[dict]:
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(), flags=re.S)
    return [json.loads(block) for block in blocks if block.lstrip().startswith("{")]


def test_the_example_in_the_docs_is_valid():
    (example,) = docs_examples()
    assert example["sourceFlowConfig"]["sourceConnectorProperties"] == {
        "CustomConnector": {"entityName": "accounts.csv"}
    }
    assert errors(example) == []
    assert flow_document_warnings(example) == []


def test_the_example_in_the_docs_is_valid_for_the_real_localfiles_connector(monkeypatch):
    pytest.importorskip("connections.connectors.localfiles")
    _use_registry(monkeypatch, REAL_CONNECTORS)
    (example,) = docs_examples()
    assert errors(example) == []


def test_seed_cli_example_is_valid_apart_from_connectors_sluice_lacks():
    assert errors(SEED_CLI) == NO_SALESFORCE_NOR_S3


def test_seed_api_body_parses_and_is_valid_apart_from_connectors_sluice_lacks():
    doc = parse_flow_json(SEED_API_BODY)
    assert errors(doc) == NO_SALESFORCE_NOR_S3


def test_seed_cloudformation_template_converts_to_the_create_flow_shape():
    doc = from_cloudformation(json.loads(SEED_CLOUDFORMATION))
    assert doc == {
        "flowName": "MySalesforceToS3Flow",
        "triggerConfig": {"triggerType": "OnDemand"},
        "sourceFlowConfig": {
            "connectorType": "Salesforce",
            "connectorProfileName": "MySalesforceConnection",
            "sourceConnectorProperties": {"Salesforce": {"object": "Account"}},
        },
        "destinationFlowConfigList": [
            {
                "connectorType": "S3",
                "destinationConnectorProperties": {
                    "S3": {"bucketName": "<s3-bucket-name>", "s3OutputFormatConfig": {"fileType": "CSV"}},
                },
            }
        ],
        "tasks": [
            {
                "taskType": "Map_all",
                "sourceFields": [],
                "taskProperties": {"EXCLUDE_SOURCE_FIELDS_LIST": "[]"},
                "connectorOperator": {"Salesforce": "NO_OP"},
            }
        ],
    }
    assert list(doc["tasks"][0]) == ["taskType", "sourceFields", "taskProperties", "connectorOperator"]
    assert errors(doc) == NO_SALESFORCE_NOR_S3


def test_validation_never_changes_the_document():
    doc = localfiles_doc(tasks=[map_task("b", "B"), map_task("a", "A")], tags={"z": "1", "a": "2"})
    before = json.dumps(doc)
    assert check_flow_document(doc) is doc
    assert json.dumps(doc) == before


@pytest.mark.parametrize("task_type", ["Map_all", "Passthrough"])
def test_field_selecting_tasks_alone_are_enough(task_type):
    # a Passthrough passes one field through; Map_all needs none
    assert errors(with_tasks(task(task_type, fields=[] if task_type == "Map_all" else ["a"]))) == []


def test_map_without_a_projection_is_accepted():
    assert errors(with_tasks(map_task("id", "account_id"))) == []


def test_filter_with_projection_selects_fields():
    assert errors(with_tasks(task("Filter", "PROJECTION", ["id", "name"]))) == []


def test_a_typical_appflow_task_list_is_valid():
    doc = with_tasks(
        task("Filter", "PROJECTION", ["id", "name", "amount", "first", "last", "phone"]),
        task("Filter", "GREATER_THAN", ["amount"], DATA_TYPE="double", VALUE="100"),
        task("Filter", "EQUAL_TO", ["name"], DATA_TYPE="string", VALUES="a,b"),
        task("Filter", "BETWEEN", ["amount"], DATA_TYPE="double", LOWER_BOUND="1", UPPER_BOUND="9"),
        task("Merge", "NO_OP", ["first", "last"], CONCAT_FORMAT="${first} ${last}"),
        task("Arithmetic", "ADDITION", ["amount", "amount"], MATH_OPERATION_FIELDS_ORDER="amount,amount"),
        task("Mask", "MASK_LAST_N", ["phone"], MASK_VALUE="*", MASK_LENGTH="4"),
        task("Truncate", "NO_OP", ["name"], TRUNCATE_LENGTH="10"),
        task("Validate", "VALIDATE_NON_NULL", ["id"], VALIDATION_ACTION="DropRecord"),
        task("Map_all", None, [""], EXCLUDE_SOURCE_FIELDS_LIST='["phone"]'),
        map_task(
            "id", "account_id", taskProperties={"SOURCE_DATA_TYPE": "id", "DESTINATION_DATA_TYPE": "string"}
        ),
    )
    assert errors(doc) == []


def test_describe_flow_output_is_accepted_with_warnings():
    doc = localfiles_doc(flowArn="arn:aws:appflow:eu-west-1:1:flow/x", flowStatus="Active")
    assert errors(doc) == []
    assert [str(w) for w in flow_document_warnings(doc)] == [
        "flowArn: is describe-flow output, not part of a definition; Sluice ignores it",
        "flowStatus: is describe-flow output, not part of a definition; Sluice ignores it",
    ]


def test_unknown_data_types_are_warnings_not_errors():
    doc = with_tasks(
        map_task("a", "b", taskProperties={"SOURCE_DATA_TYPE": "picklist", "DESTINATION_DATA_TYPE": "strnig"})
    )
    assert errors(doc) == []
    assert [str(w) for w in flow_document_warnings(doc)] == [
        'tasks[0].taskProperties.DESTINATION_DATA_TYPE: "strnig" is not a data type Sluice knows '
        "(string, integer, double, boolean, date, datetime...); check the spelling",
    ]


def test_ignored_appflow_keys_are_valid_with_warnings():
    doc = localfiles_doc(kmsArn="arn:aws:kms:eu-west-1:123:key/abc", metadataCatalogConfig={})
    assert errors(doc) == []
    assert [w.path for w in flow_document_warnings(doc)] == ["kmsArn", "metadataCatalogConfig"]


# -- parsing ------------------------------------------------------------------------------------


def parse_errors(text: str | bytes) -> list[str]:
    with pytest.raises(DocumentInvalid) as caught:
        parse_flow_json(text)
    return [str(error) for error in caught.value.errors]


def test_malformed_json_names_line_and_column():
    text = '{\n  "flowName": "a",\n  "tasks": [1 2]\n}'
    assert parse_errors(text) == ["(document): not valid JSON at line 3, column 15: Expecting ',' delimiter"]


def test_empty_text_is_not_json():
    assert parse_errors("") == ["(document): not valid JSON at line 1, column 1: Expecting value"]


def test_bytes_that_are_not_utf8():
    assert parse_errors(b'{"flowName": "\xff"}') == [
        "(document): not valid UTF-8 (byte 0xff at offset 14); save the file as UTF-8"
    ]


@pytest.mark.parametrize(
    "text, kind",
    [("[1]", "a list"), ('"x"', "a string"), ("3", "a number"), ("null", "null"), ("true", "true/false")],
)
def test_top_level_must_be_an_object(text, kind):
    assert parse_errors(text) == [f"(document): must be a JSON object (a flow definition), not {kind}"]


def test_a_repeated_key_is_an_error():
    assert parse_errors('{"tasks": [], "flowName": "a", "tasks": []}') == [
        '(document): the key "tasks" appears twice in one object; keep one'
    ]


def test_nan_is_not_json():
    assert parse_errors('{"a": NaN}') == [
        "(document): not valid JSON: NaN is not a JSON value (use null or a string)"
    ]


def test_parse_keeps_key_order_and_accepts_a_bom():
    doc = parse_flow_json('\ufeff{"z": 1, "a": {"y": 2, "b": 3}}'.encode())
    assert list(doc) == ["z", "a"] and list(doc["a"]) == ["y", "b"]


# -- required keys, types, top level ------------------------------------------------------------


def test_an_empty_object_lists_every_required_key():
    assert errors({}) == [
        "flowName: is required",
        "triggerConfig: is required",
        "sourceFlowConfig: is required",
        "destinationFlowConfigList: is required",
        "tasks: is required",
    ]


def test_not_an_object():
    assert errors([]) == ["(document): must be a JSON object (a flow definition), not a list"]


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("flowName", 3, "flowName: must be a string, not a number"),
        ("description", ["x"], "description: must be a string, not a list"),
        ("triggerConfig", "OnDemand", "triggerConfig: must be an object, not a string"),
        ("sourceFlowConfig", None, "sourceFlowConfig: must be an object, not null"),
        ("destinationFlowConfigList", {}, "destinationFlowConfigList: must be a list, not an object"),
        ("tasks", True, "tasks: must be a list, not true/false"),
        ("tags", "a=b", "tags: must be an object, not a string"),
        ("metadataCatalogConfig", [], "metadataCatalogConfig: must be an object, not a list"),
        ("clientToken", "", "clientToken: must not be empty"),
    ],
)
def test_types_of_top_level_keys(key, value, message):
    assert errors(localfiles_doc(**{key: value})) == [message]


@pytest.mark.parametrize("name", ["a", "has space", "-leading", "x/y", "naïve"])
def test_flow_name_pattern(name):
    assert errors(localfiles_doc(flowName=name)) == [
        "flowName: must be 2 to 256 characters: a letter or digit, then letters, digits or _ ! @ # . - "
        "(no spaces)"
    ]


@pytest.mark.parametrize("name", ["ab", "My_Flow.v2", "0!@#.-_x", "x" * 256])
def test_flow_names_that_match(name):
    assert errors(localfiles_doc(flowName=name)) == []


def test_flow_name_length():
    assert errors(localfiles_doc(flowName="x" * 257)) == [
        "flowName: must be at most 256 characters (it has 257)"
    ]


def test_description_length():
    assert errors(localfiles_doc(description="d" * 2048)) == []
    assert errors(localfiles_doc(description="d" * 2049)) == [
        "description: must be at most 2048 characters (it has 2049)"
    ]


def test_description_may_hold_any_text():
    assert errors(localfiles_doc(description="Copies (daily): accounts -> lake; owner's job")) == []


def test_unknown_keys_with_and_without_a_suggestion():
    doc = localfiles_doc(flowname="x", colour="blue")
    assert errors(doc) == [
        'flowname: unknown key; did you mean "flowName"?',
        "colour: unknown key (expected one of flowName, description, kmsArn, triggerConfig, sourceFlowConfig, "
        "destinationFlowConfigList, tasks, tags, metadataCatalogConfig, clientToken)",
    ]


def test_all_errors_are_reported_in_document_order():
    doc = {
        "tasks": [task("Map", fields=["a", "b"]), task("Mapp")],
        "flowName": "has space",
        "triggerConfig": {"triggerType": "Sometimes"},
        "sourceFlowConfig": {"connectorType": "Zendesk", "sourceConnectorProperties": {"Zendesk": {}}},
    }
    assert errors(doc) == [
        "destinationFlowConfigList: is required",
        "tasks[0].destinationField: is required for a Map task",
        "tasks[0].sourceFields: a Map task takes exactly one source field (it has 2)",
        'tasks[1].taskType: unknown value "Mapp" (expected one of Arithmetic, Filter, Map, Map_all, Mask, '
        "Merge, Passthrough, Truncate, Validate, Partition)",
        "flowName: must be 2 to 256 characters: a letter or digit, then letters, digits or _ ! @ # . - "
        "(no spaces)",
        'triggerConfig.triggerType: unknown value "Sometimes" (expected one of Scheduled, Event, OnDemand)',
        'sourceFlowConfig.connectorType: Sluice has no "Zendesk" connector yet (available: LocalFiles)',
    ]


def test_check_flow_document_raises_with_every_error():
    with pytest.raises(DocumentInvalid) as caught:
        check_flow_document({"flowName": "ok"})
    assert [e.path for e in caught.value.errors] == [
        "triggerConfig",
        "sourceFlowConfig",
        "destinationFlowConfigList",
        "tasks",
    ]
    assert str(caught.value).splitlines()[0] == "triggerConfig: is required"


def test_document_error_is_a_small_frozen_value():
    error = DocumentError("tasks[3].taskProperties.TRUNCATE_LENGTH", "must be a positive integer")
    assert str(error) == "tasks[3].taskProperties.TRUNCATE_LENGTH: must be a positive integer"
    with pytest.raises(AttributeError):
        error.path = "x"  # type: ignore[misc]


# -- trigger ------------------------------------------------------------------------------------


def scheduled(**props: Any) -> dict:
    return localfiles_doc(
        triggerConfig={"triggerType": "Scheduled", "triggerProperties": {"Scheduled": props}}
    )


def test_the_source_connector_decides_which_triggers_it_supports():
    assert errors(localfiles_doc(triggerConfig={"triggerType": "Event"})) == [
        "triggerConfig.triggerType: the LocalFiles connector does not support Event triggers "
        "(supported: OnDemand, Scheduled)"
    ]


def test_triggers_of_a_source_sluice_lacks_are_not_judged():
    doc = localfiles_doc(
        triggerConfig={"triggerType": "Event"}, sourceFlowConfig=appflow_source("Salesforce")
    )
    assert errors_at(doc, "triggerConfig") == []


def test_trigger_type_enum_and_required():
    assert errors(localfiles_doc(triggerConfig={"triggerType": "ondemand"})) == [
        'triggerConfig.triggerType: unknown value "ondemand" (expected one of Scheduled, Event, OnDemand)'
    ]
    assert errors(localfiles_doc(triggerConfig={})) == ["triggerConfig.triggerType: is required"]


@pytest.mark.parametrize(
    "trigger_config",
    [
        {"triggerType": "Scheduled"},
        {"triggerType": "Scheduled", "triggerProperties": {}},
        {"triggerType": "Scheduled", "triggerProperties": {"Scheduled": {"dataPullMode": "Complete"}}},
    ],
)
def test_scheduled_needs_an_expression_at_whichever_level_it_is_missing(trigger_config):
    assert errors(localfiles_doc(triggerConfig=trigger_config)) == [
        "triggerConfig.triggerProperties.Scheduled.scheduleExpression: is required for a Scheduled trigger, "
        "e.g. rate(5minutes)"
    ]


def test_a_wrongly_typed_schedule_block_is_one_error():
    doc = localfiles_doc(triggerConfig={"triggerType": "Scheduled", "triggerProperties": {"Scheduled": None}})
    assert errors(doc) == ["triggerConfig.triggerProperties.Scheduled: must be an object, not null"]


def test_a_complete_schedule_is_valid():
    doc = scheduled(
        scheduleExpression="rate(1hours)",
        dataPullMode="Incremental",
        scheduleStartTime=1714521600,
        scheduleEndTime="2025-01-01T00:00:00Z",
        firstExecutionFrom=1714521600.5,
        timezone="Europe/Amsterdam",
        scheduleOffset=0,
        flowErrorDeactivationThreshold=100,
    )
    assert errors(doc) == []


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("dataPullMode", "Full", 'unknown value "Full" (expected one of Incremental, Complete)'),
        ("scheduleOffset", -1, "must be a whole number from 0 to 36000"),
        ("scheduleOffset", 36001, "must be a whole number from 0 to 36000"),
        ("scheduleOffset", "60", "must be a whole number from 0 to 36000"),
        ("scheduleOffset", True, "must be a whole number from 0 to 36000"),
        ("flowErrorDeactivationThreshold", 0, "must be a whole number from 1 to 100"),
        ("flowErrorDeactivationThreshold", 101, "must be a whole number from 1 to 100"),
        (
            "scheduleStartTime",
            "yesterday",
            "must be a time: epoch seconds, or ISO 8601 text like 2024-05-01T00:00:00Z",
        ),
        (
            "scheduleEndTime",
            False,
            "must be a time: epoch seconds, or ISO 8601 text like 2024-05-01T00:00:00Z",
        ),
        (
            "firstExecutionFrom",
            [],
            "must be a time: epoch seconds, or ISO 8601 text like 2024-05-01T00:00:00Z",
        ),
        ("timezone", 1, "must be a string, not a number"),
        ("scheduleExpression", "", "must not be empty"),
        ("scheduleExpression", "r" * 257, "must be at most 256 characters (it has 257)"),
        ("schedule_offset", 1, 'unknown key; did you mean "scheduleOffset"?'),
    ],
)
def test_schedule_fields(key, value, message):
    props = {"scheduleExpression": "rate(5minutes)", key: value}
    assert errors(scheduled(**props)) == [f"triggerConfig.triggerProperties.Scheduled.{key}: {message}"]


@pytest.mark.parametrize(
    "props, key, message",
    [
        ({"scheduleExpression": "rate(5 mins)"}, "scheduleExpression",
         '"mins" is not a rate unit: use minutes, hours, days, weeks or months'),
        ({"scheduleExpression": "cron(0 24 * * *)"}, "scheduleExpression",
         'the hour field "24" is not valid (allowed: 0-23, with * , - / )'),
        ({"scheduleExpression": "rate(5minutes)", "timezone": "Mars/Olympus"}, "timezone",
         '"Mars/Olympus" is not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC).'),
        ({"scheduleExpression": "rate(5minutes)", "scheduleStartTime": 1714521600,
          "scheduleEndTime": 1714521600}, "scheduleEndTime", "must be later than scheduleStartTime"),
    ],
)
def test_schedule_meaning_is_checked(props, key, message):
    assert errors(scheduled(**props)) == [f"triggerConfig.triggerProperties.Scheduled.{key}: {message}"]


def test_a_schedule_faster_than_the_source_allows_is_refused(monkeypatch):
    monkeypatch.setattr(FakeLocalFiles, "fastest_schedule_minutes", 60)
    assert errors(scheduled(scheduleExpression="rate(15minutes)")) == [
        "triggerConfig.triggerProperties.Scheduled.scheduleExpression: runs as often as one run every "
        "15 minutes, but the LocalFiles connector allows at most one run per hour; choose a slower schedule"
    ]
    assert errors(scheduled(scheduleExpression="cron(0 * * * ? *)")) == []


@pytest.mark.parametrize("mode", ["Incremental", "Complete"])
def test_every_data_pull_mode(mode):
    assert errors(scheduled(scheduleExpression="rate(1days)", dataPullMode=mode)) == []


# -- source and destinations --------------------------------------------------------------------


def appflow_source(connector_type: str, key: str | None = None) -> dict:
    return {
        "connectorType": connector_type,
        "sourceConnectorProperties": {key or connector_type: {"object": "x"}},
    }


@pytest.mark.parametrize("connector_type", CONNECTOR_TYPES)
def test_every_appflow_connector_type_is_known(connector_type):
    found = errors_at(localfiles_doc(sourceFlowConfig=appflow_source(connector_type)), "sourceFlowConfig")
    assert not any("unknown value" in e or "does not match" in e for e in found)


@pytest.mark.parametrize(
    "written, key",
    [
        ("GoogleAnalytics", "GoogleAnalytics"),
        ("Googleanalytics", "GoogleAnalytics"),
        ("ServiceNow", "ServiceNow"),
        ("Servicenow", "Servicenow"),
        ("InforNexus", "Infornexus"),
    ],
)
def test_both_spellings_of_the_three_odd_connector_types(written, key):
    doc = localfiles_doc(sourceFlowConfig=appflow_source(written, key))
    assert errors_at(doc, "sourceFlowConfig") == [
        f'sourceFlowConfig.connectorType: Sluice has no "{written}" connector yet (available: LocalFiles)'
    ]


def test_connector_type_outside_the_enum():
    doc = localfiles_doc(sourceFlowConfig=appflow_source("salesforce"))
    assert errors_at(doc, "sourceFlowConfig") == [
        'sourceFlowConfig.connectorType: unknown value "salesforce" (expected one of '
        + ", ".join(CONNECTOR_TYPES)
        + ")"
    ]


def test_zendesk_is_appflow_but_not_in_sluice_yet():
    assert errors(localfiles_doc(sourceFlowConfig=appflow_source("Zendesk"))) == [
        'sourceFlowConfig.connectorType: Sluice has no "Zendesk" connector yet (available: LocalFiles)'
    ]


def test_appflow_connectors_that_cannot_be_on_that_side():
    doc = localfiles_doc(sourceFlowConfig=appflow_source("Redshift"))
    assert errors_at(doc, "sourceFlowConfig") == [
        "sourceFlowConfig.connectorType: Redshift cannot be used as a source"
    ]
    doc = localfiles_doc(
        destinationFlowConfigList=[
            {"connectorType": "Slack", "destinationConnectorProperties": {"Slack": {"object": "x"}}}
        ]
    )
    assert errors(doc) == [
        "destinationFlowConfigList[0].connectorType: Slack cannot be used as a destination"
    ]


def test_custom_connector_needs_a_label():
    doc = localfiles_doc()
    del doc["sourceFlowConfig"]["connectorLabel"]
    assert errors(doc) == [
        "sourceFlowConfig.connectorLabel: is required when connectorType is CustomConnector (available: LocalFiles)"
    ]


def test_custom_connector_label_sluice_does_not_have():
    doc = localfiles_doc()
    doc["sourceFlowConfig"]["connectorLabel"] = "Dropbox"
    assert errors(doc) == [
        'sourceFlowConfig.connectorLabel: Sluice has no "Dropbox" connector (available: LocalFiles)'
    ]


def test_connector_label_pattern():
    doc = localfiles_doc()
    doc["sourceFlowConfig"]["connectorLabel"] = "Local Files"
    assert errors(doc) == [
        "sourceFlowConfig.connectorLabel: must be 2 to 256 characters: a letter or digit, then letters, digits or "
        "_ ! @ # . - (no spaces)"
    ]


def test_label_naming_a_native_connector_under_custom_connector(monkeypatch):
    _use_registry(
        monkeypatch,
        {"LocalFiles": f"{__name__}.FakeLocalFiles", "Salesforce": f"{__name__}.NativeSalesforce"},
    )
    doc = localfiles_doc()
    doc["sourceFlowConfig"]["connectorLabel"] = "Salesforce"
    assert errors(doc) == [
        'sourceFlowConfig.connectorType: "Salesforce" is a Salesforce connector: use connectorType "Salesforce"'
    ]


def test_connector_specific_errors_are_reported_under_the_block():
    doc = localfiles_doc()
    doc["sourceFlowConfig"]["sourceConnectorProperties"]["CustomConnector"] = {"entity": "accounts.csv"}
    doc["destinationFlowConfigList"][0]["destinationConnectorProperties"]["CustomConnector"][
        "customProperties"
    ] = {"fileType": "XML"}
    assert errors(doc) == [
        "sourceFlowConfig.sourceConnectorProperties.CustomConnector.entityName: is required",
        "destinationFlowConfigList[0].destinationConnectorProperties.CustomConnector.customProperties.fileType: "
        'unknown value "XML" (expected one of CSV, JSONL)',
    ]


def test_a_connector_whose_check_fails_does_not_crash_validation(monkeypatch):
    _use_registry(
        monkeypatch, {"LocalFiles": f"{__name__}.FakeLocalFiles", "Broken": f"{__name__}.BrokenChecker"}
    )
    doc = localfiles_doc()
    doc["sourceFlowConfig"]["connectorLabel"] = "Broken"
    assert errors(doc) == [
        "sourceFlowConfig.sourceConnectorProperties.CustomConnector: could not be checked by the Broken "
        "connector (KeyError: 'entityName')"
    ]


def test_a_connector_module_that_fails_to_import(monkeypatch):
    _use_registry(monkeypatch, {"LocalFiles": "connections.connectors.no_such_module.Nope"})
    assert errors_at(localfiles_doc(), "sourceFlowConfig") == [
        'sourceFlowConfig.connectorLabel: the "LocalFiles" connector could not be loaded '
        "(ModuleNotFoundError: No module named 'connections.connectors.no_such_module')"
    ]


def test_a_source_only_connector_as_destination(monkeypatch):
    _use_registry(
        monkeypatch,
        {"LocalFiles": f"{__name__}.FakeLocalFiles", "ReadOnlyFiles": f"{__name__}.ReadOnlyFiles"},
    )
    doc = localfiles_doc()
    doc["destinationFlowConfigList"][0]["connectorLabel"] = "ReadOnlyFiles"
    assert errors(doc) == [
        "destinationFlowConfigList[0].connectorLabel: the ReadOnlyFiles connector cannot be used as a destination"
    ]


@pytest.mark.parametrize(
    "block, message",
    [
        (
            {},
            'sourceFlowConfig.sourceConnectorProperties: must have one key naming the connector, "CustomConnector"',
        ),
        ([], "sourceFlowConfig.sourceConnectorProperties: must be an object, not a list"),
        (
            {"CustomConnector": "accounts.csv"},
            "sourceFlowConfig.sourceConnectorProperties.CustomConnector: must be an object, not a string",
        ),
        (
            {"S3": {"bucketName": "b"}},
            'sourceFlowConfig.sourceConnectorProperties.S3: does not match connectorType "CustomConnector": '
            'this object takes one key, "CustomConnector"',
        ),
    ],
)
def test_properties_block_shape(block, message):
    doc = localfiles_doc()
    doc["sourceFlowConfig"]["sourceConnectorProperties"] = block
    assert errors(doc) == [message]


def test_properties_block_with_an_extra_connector_key():
    doc = localfiles_doc()
    doc["sourceFlowConfig"]["sourceConnectorProperties"]["S3"] = {}
    assert errors(doc) == [
        'sourceFlowConfig.sourceConnectorProperties.S3: does not match connectorType "CustomConnector": '
        'this object takes one key, "CustomConnector"'
    ]


def test_properties_key_is_compared_without_case():
    doc = localfiles_doc()
    doc["sourceFlowConfig"]["sourceConnectorProperties"] = {"customConnector": {"entityName": "a.csv"}}
    assert errors(doc) == []


def test_properties_block_when_the_connector_type_is_unknown():
    doc = localfiles_doc(
        sourceFlowConfig={"connectorType": "Nope", "sourceConnectorProperties": {"A": {}, "B": {}}}
    )
    assert errors_at(doc, "sourceFlowConfig.sourceConnectorProperties") == [
        "sourceFlowConfig.sourceConnectorProperties: must have exactly one key naming the connector (it has 2)"
    ]


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("connectorProfileName", 7, "must be a string, not a number"),
        ("connectorProfileName", "", "must not be empty"),
        ("connectorProfileName", "p" * 257, "must be at most 256 characters (it has 257)"),
        ("apiVersion", "", "must not be empty"),
        ("apiVersion", 2, "must be a string, not a number"),
        ("incrementalPullConfig", "updated_at", "must be an object, not a string"),
        ("connectorLable", "LocalFiles", 'unknown key; did you mean "connectorLabel"?'),
    ],
)
def test_source_config_fields(key, value, message):
    doc = localfiles_doc()
    doc["sourceFlowConfig"][key] = value
    assert errors(doc) == [f"sourceFlowConfig.{key}: {message}"]


def test_incremental_pull_config():
    doc = localfiles_doc()
    doc["sourceFlowConfig"]["incrementalPullConfig"] = {"datetimeTypeFieldName": "updated_at"}
    assert errors(doc) == []
    doc["sourceFlowConfig"]["incrementalPullConfig"] = {"datetimeTypeFieldName": 1}
    assert errors(doc) == [
        "sourceFlowConfig.incrementalPullConfig.datetimeTypeFieldName: must be a string, not a number"
    ]


def test_required_keys_of_the_configs():
    doc = localfiles_doc(sourceFlowConfig={}, destinationFlowConfigList=[{}])
    assert errors(doc) == [
        "sourceFlowConfig.connectorType: is required",
        "sourceFlowConfig.sourceConnectorProperties: is required",
        "destinationFlowConfigList[0].connectorType: is required",
        "destinationFlowConfigList[0].destinationConnectorProperties: is required",
    ]


def test_incremental_pull_config_is_for_sources_only():
    doc = localfiles_doc()
    doc["destinationFlowConfigList"][0]["incrementalPullConfig"] = {}
    assert errors(doc) == [
        "destinationFlowConfigList[0].incrementalPullConfig: unknown key (expected one of connectorType, "
        "connectorLabel, apiVersion, connectorProfileName, destinationConnectorProperties)"
    ]


def test_destination_list_must_hold_one_destination():
    assert errors(localfiles_doc(destinationFlowConfigList=[])) == [
        "destinationFlowConfigList: must have at least one destination"
    ]
    two = localfiles_doc()
    two["destinationFlowConfigList"].append(copy.deepcopy(two["destinationFlowConfigList"][0]))
    assert errors(two) == [
        "destinationFlowConfigList: Sluice runs one destination per flow, as AppFlow does (this list has 2); "
        "make one flow per destination"
    ]
    assert errors(localfiles_doc(destinationFlowConfigList=["x"])) == [
        "destinationFlowConfigList[0]: must be an object, not a string"
    ]


# -- tasks --------------------------------------------------------------------------------------


def test_tasks_must_be_a_non_empty_list_of_objects():
    assert errors(with_tasks()) == ["tasks: must have at least one task"]
    assert errors(localfiles_doc(tasks=[task("Map_all", fields=[]), 3])) == [
        "tasks[1]: must be an object, not a number"
    ]


def test_task_required_keys_and_types():
    doc = localfiles_doc(
        tasks=[
            task("Map_all", fields=[]),
            {},
            {"sourceFields": "a", "taskType": 1},
            {"sourceFields": ["a", 2], "taskType": "Passthrough", "destinationField": 5},
        ]
    )
    assert errors(doc) == [
        "tasks[1].sourceFields: is required",
        "tasks[1].taskType: is required",
        "tasks[2].sourceFields: must be a list, not a string",
        "tasks[2].taskType: must be a string, not a number",
        "tasks[3].sourceFields[1]: must be a string, not a number",
        "tasks[3].destinationField: must be a string, not a number",
    ]


def test_unknown_task_type_names_the_index():
    doc = with_tasks(task("Map_all", fields=[]), map_task("a", "b"), task("Mapp"))
    assert errors(doc) == [
        'tasks[2].taskType: unknown value "Mapp" (expected one of Arithmetic, Filter, Map, Map_all, Mask, Merge, '
        "Passthrough, Truncate, Validate, Partition)"
    ]


VALID_TASK_OF_TYPE = {
    "Arithmetic": task("Arithmetic", "MULTIPLICATION", ["a", "b"]),
    "Filter": task("Filter", "PROJECTION", ["a"]),
    "Map": map_task("a", "b"),
    "Map_all": task("Map_all", fields=[]),
    "Mask": task("Mask", "MASK_ALL", ["a"]),
    "Merge": task("Merge", "NO_OP", ["a", "b"]),
    "Passthrough": task("Passthrough", "NO_OP", ["a"]),
    "Truncate": task("Truncate", "NO_OP", ["a"], TRUNCATE_LENGTH="5"),
    "Validate": task("Validate", "VALIDATE_NUMERIC", ["a"]),
    "Partition": task("Partition", fields=["a"]),
}


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_every_task_type(task_type):
    # one Map_all per flow: the Map_all case is that task alone
    others = [] if task_type == "Map_all" else [task("Map_all", fields=[])]
    assert errors(with_tasks(*others, VALID_TASK_OF_TYPE[task_type])) == []


def test_one_map_all_and_no_filter_on_a_derived_field():
    doc = with_tasks(
        task("Map_all", fields=[]),
        task("Merge", "NO_OP", ["a", "b"]),
        task("Filter", "EQUAL_TO", ["a,b"], VALUE="x"),
        task("Map_all", fields=[]),
    )
    assert errors(doc) == [
        'tasks[2].sourceFields: "a,b" is written by tasks[1]; filters test the fields as read, before Merge, '
        "Arithmetic, Mask and Truncate",
        "tasks[3].taskType: only one Map_all task is allowed (tasks[0] is one)",
    ]


@pytest.mark.parametrize("operator", OPERATORS)
def test_every_operator_is_known_for_custom_connectors(operator):
    from flows.document.tasks import OPERATORS_BY_TASK_TYPE

    # each operator on a task type it fits (the others take NO_OP)
    task_type = next((t for t, ops in OPERATORS_BY_TASK_TYPE.items() if operator in ops), "Passthrough")
    doc = with_tasks(
        task("Map_all", fields=[]),
        task(task_type, operator, fields=["a", "b"] if task_type == "Arithmetic" else ["a"],
             LOWER_BOUND="1", UPPER_BOUND="2", MASK_LENGTH="3", VALUE="1"),
    )
    assert errors(doc) == []


def test_task_types_without_operators_take_no_op():
    doc = with_tasks(task("Map_all", fields=[]), task("Truncate", "MASK_ALL", TRUNCATE_LENGTH="3"))
    assert errors(doc) == [
        "tasks[1].connectorOperator.CustomConnector: MASK_ALL does not apply to a Truncate task (use NO_OP)"
    ]


@pytest.mark.parametrize("key", list(CONNECTOR_OPERATORS))
def test_every_connector_operator_enum(key):
    for operator in OPERATORS:
        doc = with_tasks(
            task("Map_all", fields=[]),
            {"sourceFields": ["a"], "taskType": "Passthrough", "connectorOperator": {key: operator}},
        )
        found = errors_at(doc, "tasks[1].connectorOperator")
        assert any(e.endswith('must be keyed by the source connector, "CustomConnector"') for e in found) == (
            key != "CustomConnector"
        )
        allowed = operator in CONNECTOR_OPERATORS[key]
        assert any(f"{operator} is not available for {key}" in e for e in found) == (not allowed)


def zendesk_doc(*tasks: dict) -> dict:
    return localfiles_doc(sourceFlowConfig=appflow_source("Zendesk"), tasks=list(tasks))


def test_operator_not_available_for_the_connector():
    doc = zendesk_doc(
        {
            "sourceFields": ["a"],
            "taskType": "Filter",
            "connectorOperator": {"Zendesk": "LESS_THAN"},
            "taskProperties": {"VALUE": "1"},
        },
        task("Map_all", fields=[]),
    )
    assert errors_at(doc, "tasks") == [
        "tasks[0].connectorOperator.Zendesk: LESS_THAN is not available for Zendesk (expected one of PROJECTION, "
        "GREATER_THAN, ADDITION, MULTIPLICATION, DIVISION, SUBTRACTION, MASK_ALL, MASK_FIRST_N, MASK_LAST_N, "
        "VALIDATE_NON_NULL, VALIDATE_NON_ZERO, VALIDATE_NON_NEGATIVE, VALIDATE_NUMERIC, NO_OP)"
    ]


@pytest.mark.parametrize(
    "operator, message",
    [
        (
            {"CustomConnector": "FOO"},
            'tasks[1].connectorOperator.CustomConnector: unknown value "FOO" (expected one of '
            + ", ".join(OPERATORS)
            + ")",
        ),
        (
            {"CustomConnector": 1},
            "tasks[1].connectorOperator.CustomConnector: must be a string, not a number",
        ),
        (
            {},
            'tasks[1].connectorOperator: must have exactly one key, the source connector ("CustomConnector") (it has 0)',
        ),
        (
            {"CustomConnector": "NO_OP", "S3": "NO_OP"},
            'tasks[1].connectorOperator: must have exactly one key, the source connector ("CustomConnector") (it has 2)',
        ),
        (
            {"Salesforce": "NO_OP"},
            'tasks[1].connectorOperator.Salesforce: must be keyed by the source connector, "CustomConnector"',
        ),
        ("NO_OP", "tasks[1].connectorOperator: must be an object, not a string"),
    ],
)
def test_connector_operator_shape(operator, message):
    doc = with_tasks(
        task("Map_all", fields=[]),
        {"sourceFields": ["a"], "taskType": "Passthrough", "connectorOperator": operator},
    )
    assert errors(doc) == [message]


def test_connector_operator_key_may_use_either_spelling():
    doc = localfiles_doc(
        sourceFlowConfig=appflow_source("Servicenow", "ServiceNow"),
        tasks=[
            task("Map_all", fields=[]),
            {
                "sourceFields": ["a"],
                "taskType": "Filter",
                "connectorOperator": {"ServiceNow": "CONTAINS"},
                "taskProperties": {"VALUE": "x"},
            },
        ],
    )
    assert errors_at(doc, "tasks") == []


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("TRUNCATE_LENGTH", "0", "must be a positive integer"),
        ("TRUNCATE_LENGTH", "-3", "must be a positive integer"),
        ("TRUNCATE_LENGTH", "ten", "must be a positive integer"),
        ("TRUNCATE_LENGTH", "2.5", "must be a positive integer"),
        ("MASK_LENGTH", " 4", "must be a positive integer"),
        ("MASK_VALUE", "**", "must be exactly one character"),
        ("VALIDATION_ACTION", "Drop", 'unknown value "Drop" (expected one of DropRecord, DropDataset)'),
        ("EXCLUDE_SOURCE_FIELDS_LIST", "Id,Name", 'must be a JSON array of field names, like ["Id", "Name"]'),
        ("EXCLUDE_SOURCE_FIELDS_LIST", "[1]", 'must be a JSON array of field names, like ["Id", "Name"]'),
        (
            "EXCLUDE_SOURCE_FIELDS_LIST",
            '{"a": 1}',
            'must be a JSON array of field names, like ["Id", "Name"]',
        ),
        ("VALUE", "", "must not be empty"),
        ("VALUE", 5, "must be a string, not a number"),
        ("VALUES", "v" * 2049, "must be at most 2048 characters (it has 2049)"),
        ("TRUNCATE", "5", 'unknown key; did you mean "TRUNCATE_LENGTH"?'),
    ],
)
def test_task_property_values(key, value, message):
    doc = with_tasks(
        task("Map_all", fields=[]),
        {"sourceFields": ["a"], "taskType": "Passthrough", "taskProperties": {key: value}},
    )
    assert errors(doc) == [f"tasks[1].taskProperties.{key}: {message}"]


def test_truncate_length_positive_integer_at_the_issue_path():
    doc = with_tasks(
        task("Map_all", fields=[]),
        map_task("a", "b"),
        map_task("c", "d"),
        task("Truncate", "NO_OP", ["a"], TRUNCATE_LENGTH="0"),
    )
    assert errors(doc) == ["tasks[3].taskProperties.TRUNCATE_LENGTH: must be a positive integer"]


def test_task_properties_must_be_an_object():
    doc = with_tasks(
        task("Map_all", fields=[]),
        {
            "sourceFields": ["a"],
            "taskType": "Passthrough",
            "taskProperties": [{"Key": "VALUE", "Value": "1"}],
        },
    )
    assert errors(doc) == ["tasks[1].taskProperties: must be an object, not a list"]


@pytest.mark.parametrize(
    "bad_task, message",
    [
        (
            task("Filter", None, ["a"]),
            "tasks[1].connectorOperator: is required for a Filter task (one of PROJECTION, LESS_THAN, GREATER_THAN, "
            "CONTAINS, BETWEEN, LESS_THAN_OR_EQUAL_TO, GREATER_THAN_OR_EQUAL_TO, EQUAL_TO, NOT_EQUAL_TO)",
        ),
        (
            task("Filter", "NO_OP", ["a"]),
            "tasks[1].connectorOperator.CustomConnector: NO_OP does not apply to a Filter task (expected one of PROJECTION, "
            "LESS_THAN, GREATER_THAN, CONTAINS, BETWEEN, LESS_THAN_OR_EQUAL_TO, GREATER_THAN_OR_EQUAL_TO, EQUAL_TO, "
            "NOT_EQUAL_TO)",
        ),
        (
            task("Arithmetic", "PROJECTION", ["a", "b"]),
            "tasks[1].connectorOperator.CustomConnector: PROJECTION does not apply to an Arithmetic task (expected one of "
            "ADDITION, MULTIPLICATION, DIVISION, SUBTRACTION)",
        ),
        (
            task("Mask", None, ["a"]),
            "tasks[1].connectorOperator: is required for a Mask task (one of MASK_ALL, MASK_FIRST_N, MASK_LAST_N)",
        ),
        (
            task("Validate", "NO_OP", ["a"]),
            "tasks[1].connectorOperator.CustomConnector: NO_OP does not apply to a Validate task (expected one of "
            "VALIDATE_NON_NULL, VALIDATE_NON_ZERO, VALIDATE_NON_NEGATIVE, VALIDATE_NUMERIC)",
        ),
        (
            task("Filter", "LESS_THAN", ["a"], DATA_TYPE="integer"),
            "tasks[1].taskProperties.VALUE: is required for a LESS_THAN filter (or VALUES)",
        ),
        (
            task("Mask", "MASK_FIRST_N", ["a"]),
            "tasks[1].taskProperties.MASK_LENGTH: is required for MASK_FIRST_N",
        ),
        (
            task("Truncate", "NO_OP", ["a"]),
            "tasks[1].taskProperties.TRUNCATE_LENGTH: is required for a Truncate task",
        ),
        (
            task("Merge", "NO_OP", ["a"]),
            "tasks[1].taskProperties.CONCAT_FORMAT: is required for a Merge task with fewer than two sourceFields",
        ),
        (map_task("a", ""), "tasks[1].destinationField: is required for a Map task"),
        (
            {**map_task("a", "b"), "sourceFields": []},
            "tasks[1].sourceFields: a Map task takes exactly one source field (it has 0)",
        ),
    ],
)
def test_per_type_rules(bad_task, message):
    assert errors(with_tasks(task("Map_all", fields=[]), bad_task)) == [message]


def test_between_needs_both_bounds():
    doc = with_tasks(task("Map_all", fields=[]), task("Filter", "BETWEEN", ["a"], DATA_TYPE="integer"))
    assert errors(doc) == [
        "tasks[1].taskProperties.LOWER_BOUND: is required for the BETWEEN operator",
        "tasks[1].taskProperties.UPPER_BOUND: is required for the BETWEEN operator",
    ]


def test_merge_with_one_field_and_a_format_is_fine():
    assert (
        errors(with_tasks(task("Map_all", fields=[]), task("Merge", "NO_OP", ["a"], CONCAT_FORMAT="<${a}>")))
        == []
    )


def test_a_malformed_required_property_is_reported_once():
    doc = with_tasks(task("Map_all", fields=[]), task("Truncate", "NO_OP", ["a"], TRUNCATE_LENGTH="x"))
    assert errors(doc) == ["tasks[1].taskProperties.TRUNCATE_LENGTH: must be a positive integer"]


NO_FIELD = (
    "tasks: no field is selected: add a Map_all task, Map tasks, or a Filter task with the PROJECTION "
    "operator"
)


@pytest.mark.parametrize(
    "tasks",
    [
        [task("Filter", "GREATER_THAN", ["a"], VALUE="1")],
        [task("Truncate", "NO_OP", ["a"], TRUNCATE_LENGTH="3"), task("Mask", "MASK_ALL", ["b"])],
        [task("Validate", "VALIDATE_NON_NULL", ["a"])],
    ],
)
def test_no_field_selected(tasks):
    assert errors(with_tasks(*tasks)) == [NO_FIELD]


def test_duplicate_map_destination_names_both_tasks():
    doc = with_tasks(
        task("Map_all", fields=[]), map_task("a", "name"), map_task("b", "other"), map_task("c", "name")
    )
    assert errors(doc) == ['tasks[3].destinationField: "name" is also the destinationField of tasks[1]']


# -- tags ---------------------------------------------------------------------------------------


def test_good_tags():
    assert errors(localfiles_doc(tags={"team": "finance", "cost-center/1": "A b:c@d.e", "x": ""})) == []


@pytest.mark.parametrize(
    "tags, message",
    [
        (
            {"sluice:owner": "me"},
            'tags["sluice:owner"]: tag keys starting with "sluice:" are reserved for Sluice',
        ),
        ({"aws:x": "me"}, 'tags["aws:x"]: tag keys starting with "aws:" are reserved by AWS'),
        ({"": "x"}, 'tags[""]: tag key must not be empty'),
        ({"k" * 129: "x"}, f"tags.{'k' * 129}: tag key must be at most 128 characters (it has 129)"),
        ({"a b": "x"}, 'tags["a b"]: tag key may contain only letters, digits and + - = . _ : /'),
        ({"team": 5}, "tags.team: tag value must be a string, not a number"),
        ({"team": "v" * 257}, "tags.team: tag value must be at most 256 characters (it has 257)"),
        (
            {"team": "a#b"},
            "tags.team: tag value may contain only letters, digits, spaces and _ . : / = + - @",
        ),
        (
            [{"Key": "team", "Value": "x"}],
            "tags: must be an object of key: value pairs (a list of {Key, Value} is "
            "CloudFormation's form: import the CloudFormation block instead)",
        ),
    ],
)
def test_bad_tags(tags, message):
    assert errors(localfiles_doc(tags=tags)) == [message]


def test_at_most_fifty_tags():
    assert errors(localfiles_doc(tags={f"k{i}": "v" for i in range(50)})) == []
    assert errors(localfiles_doc(tags={f"k{i}": "v" for i in range(51)})) == [
        "tags: must have at most 50 tags (it has 51)"
    ]


# -- CloudFormation -----------------------------------------------------------------------------

LOCALFILES_CFN = {
    "FlowName": "accounts-hourly",
    "Description": "hourly copy",
    "KMSArn": "arn:aws:kms:eu-west-1:123456789012:key/abc",
    "FlowStatus": "Active",
    "TriggerConfig": {
        "TriggerType": "Scheduled",
        "TriggerProperties": {
            "ScheduleExpression": "rate(1hours)",
            "DataPullMode": "Incremental",
            "TimeZone": "Europe/Amsterdam",
            "ScheduleOffset": 0,
        },
    },
    "SourceFlowConfig": {
        "ConnectorType": "CustomConnector",
        "ConnectorProfileName": "local-inbox",
        "SourceConnectorProperties": {
            "CustomConnector": {
                "EntityName": "accounts.csv",
                "CustomProperties": {"delimiter_char": ";"},
                "DataTransferApi": {"Name": "files", "Type": "SYNC"},
            }
        },
        "IncrementalPullConfig": {"DatetimeTypeFieldName": "updated_at"},
    },
    "DestinationFlowConfigList": [
        {
            "ConnectorType": "CustomConnector",
            "ConnectorProfileName": "local-outbox",
            "DestinationConnectorProperties": {
                "CustomConnector": {
                    "EntityName": "out/accounts",
                    "CustomProperties": {"fileType": "JSONL"},
                    "ErrorHandlingConfig": {"FailOnFirstError": True, "BucketPrefix": "errors"},
                }
            },
        }
    ],
    "Tasks": [
        {
            "SourceFields": ["a", "b"],
            "ConnectorOperator": {"CustomConnector": "PROJECTION"},
            "TaskType": "Filter",
        },
        {
            "SourceFields": ["a"],
            "TaskType": "Truncate",
            "ConnectorOperator": {"CustomConnector": "NO_OP"},
            "TaskProperties": [{"Key": "TRUNCATE_LENGTH", "Value": 10}],
        },
    ],
    "Tags": [{"Key": "team", "Value": "finance"}],
}


def test_cloudformation_properties_convert_to_create_flow():
    doc = from_cloudformation(LOCALFILES_CFN)
    assert doc == {
        "flowName": "accounts-hourly",
        "description": "hourly copy",
        "kmsArn": "arn:aws:kms:eu-west-1:123456789012:key/abc",
        "triggerConfig": {
            "triggerType": "Scheduled",
            "triggerProperties": {
                "Scheduled": {
                    "scheduleExpression": "rate(1hours)",
                    "dataPullMode": "Incremental",
                    "timezone": "Europe/Amsterdam",
                    "scheduleOffset": 0,
                }
            },
        },
        "sourceFlowConfig": {
            "connectorType": "CustomConnector",
            "connectorProfileName": "local-inbox",
            "sourceConnectorProperties": {
                "CustomConnector": {
                    "entityName": "accounts.csv",
                    "customProperties": {"delimiter_char": ";"},
                    "dataTransferApi": {"Name": "files", "Type": "SYNC"},
                }
            },
            "incrementalPullConfig": {"datetimeTypeFieldName": "updated_at"},
        },
        "destinationFlowConfigList": [
            {
                "connectorType": "CustomConnector",
                "connectorProfileName": "local-outbox",
                "destinationConnectorProperties": {
                    "CustomConnector": {
                        "entityName": "out/accounts",
                        "customProperties": {"fileType": "JSONL"},
                        "errorHandlingConfig": {
                            "failOnFirstDestinationError": True,
                            "bucketPrefix": "errors",
                        },
                    }
                },
            }
        ],
        "tasks": [
            {
                "sourceFields": ["a", "b"],
                "connectorOperator": {"CustomConnector": "PROJECTION"},
                "taskType": "Filter",
            },
            {
                "sourceFields": ["a"],
                "taskType": "Truncate",
                "connectorOperator": {"CustomConnector": "NO_OP"},
                "taskProperties": {"TRUNCATE_LENGTH": "10"},
            },
        ],
        "tags": {"team": "finance"},
    }
    # CloudFormation has no connectorLabel (AppFlow keeps it on the profile): the one thing to add.
    assert errors(doc) == [
        "sourceFlowConfig.connectorLabel: is required when connectorType is CustomConnector (available: LocalFiles)",
        "destinationFlowConfigList[0].connectorLabel: is required when connectorType is CustomConnector "
        "(available: LocalFiles)",
    ]
    doc["sourceFlowConfig"]["connectorLabel"] = doc["destinationFlowConfigList"][0]["connectorLabel"] = (
        "LocalFiles"
    )
    assert errors(doc) == []


def test_cloudformation_resource_and_template_forms():
    resource = {"Type": "AWS::AppFlow::Flow", "Properties": LOCALFILES_CFN}
    template = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}}, "Flow": resource}}
    expected = from_cloudformation(LOCALFILES_CFN)
    assert from_cloudformation(resource) == expected
    assert from_cloudformation(template) == expected


def test_cloudformation_template_with_two_flows():
    resource = {"Type": "AWS::AppFlow::Flow", "Properties": LOCALFILES_CFN}
    with pytest.raises(DocumentInvalid) as caught:
        from_cloudformation({"Resources": {"A": resource, "B": resource}})
    assert [str(e) for e in caught.value.errors] == [
        "Resources: must hold exactly one AWS::AppFlow::Flow to import (it has 2)"
    ]


def test_cloudformation_intrinsic_functions_are_reported_with_their_path():
    props = copy.deepcopy(LOCALFILES_CFN)
    props["SourceFlowConfig"]["ConnectorProfileName"] = {"Ref": "ProfileName"}
    props["Tags"][0]["Value"] = {"Fn::Sub": "${Team}"}
    with pytest.raises(DocumentInvalid) as caught:
        from_cloudformation({"Type": "AWS::AppFlow::Flow", "Properties": props})
    assert [str(e) for e in caught.value.errors] == [
        "Properties.SourceFlowConfig.ConnectorProfileName: Ref cannot be resolved outside CloudFormation; "
        "write the value itself",
        "Properties.Tags[0].Value: Fn::Sub cannot be resolved outside CloudFormation; write the value itself",
    ]


def test_cloudformation_malformed_key_value_lists():
    props = copy.deepcopy(LOCALFILES_CFN)
    props["Tasks"][1]["TaskProperties"] = [
        {"Key": "VALUE"},
        {"Key": "A", "Value": "1"},
        {"Key": "A", "Value": "2"},
    ]
    with pytest.raises(DocumentInvalid) as caught:
        from_cloudformation(props)
    assert [str(e) for e in caught.value.errors] == [
        "Tasks[1].TaskProperties[0]: must be an object with a string Key and a Value",
        'Tasks[1].TaskProperties[2]: the key "A" appears twice',
    ]


def test_cloudformation_not_an_object():
    with pytest.raises(DocumentInvalid) as caught:
        from_cloudformation([])  # type: ignore[arg-type]
    assert (
        str(caught.value)
        == "(document): must be a CloudFormation AWS::AppFlow::Flow resource or its Properties"
    )


@pytest.mark.parametrize(
    "doc, expected",
    [
        (LOCALFILES_CFN, True),
        ({"Type": "AWS::AppFlow::Flow", "Properties": LOCALFILES_CFN}, True),
        (json.loads(SEED_CLOUDFORMATION), True),
        ({"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {}}}}, False),
        (SEED_CLI, False),
        ({}, False),
        ([], False),
        ("FlowName", False),
    ],
)
def test_looks_like_cloudformation(doc, expected):
    assert looks_like_cloudformation(doc) is expected


# -- never raises -------------------------------------------------------------------------------

VOCABULARY = [
    "flowName",
    "triggerConfig",
    "triggerType",
    "triggerProperties",
    "Scheduled",
    "scheduleExpression",
    "scheduleOffset",
    "sourceFlowConfig",
    "destinationFlowConfigList",
    "connectorType",
    "connectorLabel",
    "sourceConnectorProperties",
    "destinationConnectorProperties",
    "CustomConnector",
    "Salesforce",
    "tasks",
    "taskType",
    "sourceFields",
    "connectorOperator",
    "destinationField",
    "taskProperties",
    "tags",
    "Map",
    "Map_all",
    "Filter",
    "PROJECTION",
    "BETWEEN",
    "TRUNCATE_LENGTH",
    "EXCLUDE_SOURCE_FIELDS_LIST",
    "LocalFiles",
    "FlowName",
    "TaskProperties",
    "Key",
    "Value",
    "Ref",
    "Resources",
    "Type",
    "AWS::AppFlow::Flow",
    "Properties",
]
keys = st.sampled_from(VOCABULARY) | st.text(max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(VOCABULARY)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_validate_never_raises_on_any_json_value(value):
    found = validate_flow_document(value)
    assert all(isinstance(error, DocumentError) for error in found)
    flow_document_warnings(value)
    looks_like_cloudformation(value)
    try:
        from_cloudformation(value)
    except DocumentInvalid:
        pass


def paths_of(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths_of(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths_of(item, (*path, index))
    return found


BASE = localfiles_doc(
    tasks=[map_task("a", "b"), task("Filter", "BETWEEN", ["a"], LOWER_BOUND="1", UPPER_BOUND="2")],
    triggerConfig={
        "triggerType": "Scheduled",
        "triggerProperties": {"Scheduled": {"scheduleExpression": "rate(5minutes)"}},
    },
    tags={"team": "x"},
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_validate_never_raises_and_never_changes_a_damaged_document(data):
    doc = copy.deepcopy(BASE)
    path = data.draw(st.sampled_from(paths_of(doc)[1:]))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(json_values)
    before = json.dumps(doc)
    found = validate_flow_document(doc)
    assert all(isinstance(error, DocumentError) and error.path for error in found)
    assert json.dumps(doc) == before


@settings(max_examples=300, deadline=None)
@given(st.text() | st.binary())
def test_parse_returns_an_object_or_raises_document_invalid(text):
    try:
        assert isinstance(parse_flow_json(text), dict)
    except DocumentInvalid as exc:
        assert exc.errors and all(error.path == "(document)" for error in exc.errors)


# -- odds and ends ------------------------------------------------------------------------------


def test_messages_use_the_right_article():
    doc = with_tasks(task("Map_all", fields=[]), task("Filter", "EQUAL_TO", ["a"]))
    assert errors(doc) == ["tasks[1].taskProperties.VALUE: is required for an EQUAL_TO filter (or VALUES)"]


def test_connector_for_names_the_class_or_none():
    doc = localfiles_doc()
    assert connector_for(doc["sourceFlowConfig"]) is FakeLocalFiles
    assert connector_for(appflow_source("Zendesk")) is None
    assert connector_for({"connectorType": "CustomConnector"}) is None
    assert connector_for("x") is None


def test_the_package_imports_without_django():
    code = "import sys, flows.document; assert not any(m.split('.')[0] == 'django' for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


# -- the checks the transform engine relies on (issue 3) ------------------------------------------


@pytest.mark.parametrize(
    "bad_task, message",
    [
        (
            task("Filter", "GREATER_THAN", ["a"], DATA_TYPE="money", VALUE="1"),
            'tasks[1].taskProperties.DATA_TYPE: "money" is not a type Sluice compares values as (use one of '
            "string, integer, double, boolean, date, datetime)",
        ),
        (
            task("Filter", "GREATER_THAN", ["a"], DATA_TYPE="integer", VALUE="1.5"),
            'tasks[1].taskProperties.VALUE: "1.5" is not an integer (DATA_TYPE is integer)',
        ),
        (
            task("Filter", "EQUAL_TO", ["a"], DATA_TYPE="boolean", VALUES="true,maybe"),
            'tasks[1].taskProperties.VALUES: "maybe" is not true or false (DATA_TYPE is boolean)',
        ),
        (
            task("Filter", "BETWEEN", ["a"], DATA_TYPE="datetime", LOWER_BOUND="2024-01-01",
                 UPPER_BOUND="2024-02-30T00:00:00Z"),
            'tasks[1].taskProperties.UPPER_BOUND: "2024-02-30T00:00:00Z" is not a datetime (ISO 8601 or epoch '
            "milliseconds) (DATA_TYPE is datetime)",
        ),
        (
            task("Filter", "EQUAL_TO", ["a", "b"], DATA_TYPE="string", VALUE="x"),
            "tasks[1].sourceFields: a Filter task works on exactly one field (it has 2)",
        ),
        (
            task("Mask", "MASK_ALL", ["a", "b"]),
            "tasks[1].sourceFields: a Mask task works on exactly one field (it has 2)",
        ),
        (
            task("Merge", "NO_OP", ["a", "b"], CONCAT_FORMAT="{a} {c}"),
            'tasks[1].taskProperties.CONCAT_FORMAT: "{c}" names no field of sourceFields (a, b); write each field '
            "as {FieldName}",
        ),
        (
            task("Arithmetic", "ADDITION", ["a", "b"], MATH_OPERATION_FIELDS_ORDER="a,z"),
            'tasks[1].taskProperties.MATH_OPERATION_FIELDS_ORDER: "z" is not one of sourceFields (a, b)',
        ),
        (
            task("Arithmetic", "DIVISION", ["a"]),
            "tasks[1].sourceFields: an Arithmetic task needs two or more fields",
        ),
        (
            task("Mask", "MASK_LAST_N", ["a"], MASK_LENGTH="-2"),
            "tasks[1].taskProperties.MASK_LENGTH: must be a positive integer",
        ),
        (
            task("Sort", "NO_OP", ["a"]),
            'tasks[1].taskType: unknown value "Sort" (expected one of Arithmetic, Filter, Map, Map_all, Mask, '
            "Merge, Passthrough, Truncate, Validate, Partition)",
        ),
    ],
)
def test_transform_checks_name_the_path(bad_task, message):
    assert errors(with_tasks(task("Map_all", fields=[]), bad_task)) == [message]


@pytest.mark.parametrize(
    "good_task",
    [
        task("Filter", "GREATER_THAN", ["a"], DATA_TYPE="Double", VALUE="1e6"),
        task("Filter", "EQUAL_TO", ["a"], DATA_TYPE="string", VALUES="Banking, Energy,Retail"),
        task("Filter", "BETWEEN", ["a"], DATA_TYPE="datetime", LOWER_BOUND="1704067200000",
             UPPER_BOUND="2024-12-31T23:59:59+01:00"),
        task("Filter", "CONTAINS", ["a"], DATA_TYPE="integer", VALUE="abc"),
        task("Merge", "NO_OP", ["a", "b"], CONCAT_FORMAT="{a} - {b}"),
        task("Arithmetic", "SUBTRACTION", ["a", "b"], MATH_OPERATION_FIELDS_ORDER="b,a"),
    ],
)
def test_transform_tasks_that_pass(good_task):
    assert errors(with_tasks(task("Map_all", fields=[]), good_task)) == []


@pytest.mark.parametrize(
    "partition, message",
    [
        (task("Partition", fields=[]),
         "tasks[1].taskProperties.ORDERED_PARTITION_KEYS_LIST: is required for a Partition task without sourceFields"),
        (task("Partition", fields=[], ORDERED_PARTITION_KEYS_LIST="[]"),
         'tasks[1].taskProperties.ORDERED_PARTITION_KEYS_LIST: must name the partition keys, as a JSON array like '
         '["Country", "Year"] or as "Country,Year"'),
    ],
)
def test_partition_needs_keys(partition, message):
    assert errors(with_tasks(task("Map_all", fields=[]), partition)) == [message]
