"""The one validator for flow documents (AppFlow's CreateFlow shape). Read-only: it never reorders,
normalises or fills in the document, so what a person saved is what they get back."""

from __future__ import annotations

from typing import Any

from connections.connectors.base import Connector
from flows.schedules import schedule_problems

from .appflow_model import (
    CLIENT_TOKEN_MAX,
    DATA_PULL_MODES,
    DESCRIPTION_MAX,
    FLOW_ERROR_DEACTIVATION_THRESHOLD_RANGE,
    FLOW_NAME_MAX,
    FLOW_NAME_PATTERN,
    KMS_ARN_MAX,
    SCHEDULE_EXPRESSION_MAX,
    SCHEDULE_OFFSET_RANGE,
    TAG_KEY_MAX,
    TAG_KEY_PATTERN,
    TAG_VALUE_MAX,
    TAG_VALUE_PATTERN,
    TAGS_MAX,
    TIMEZONE_MAX,
    TRIGGER_TYPES,
)
from .checks import (
    check_keys,
    check_members,
    expect_enum,
    expect_integer_in,
    expect_list,
    expect_object,
    expect_string,
    expect_time,
    json_type,
)
from .endpoints import (
    DESTINATION,
    NAME_RULE,
    SOURCE,
    check_flow_config,
    connector_for,
    source_block,
    source_properties_key,
)
from .errors import DocumentError, DocumentInvalid, Path, Problems
from .tasks import check_tasks

FLOW_KEYS = (
    "flowName", "description", "kmsArn", "triggerConfig", "sourceFlowConfig",
    "destinationFlowConfigList", "tasks", "tags", "metadataCatalogConfig", "clientToken",
)
REQUIRED_FLOW_KEYS = ("flowName", "triggerConfig", "sourceFlowConfig", "destinationFlowConfigList", "tasks")
# What describe-flow adds to a definition. Accepted (and ignored) so its output can be pasted as is.
DESCRIBE_FLOW_KEYS = (
    "flowArn", "flowStatus", "flowStatusMessage", "createdAt", "lastUpdatedAt", "createdBy",
    "lastUpdatedBy", "lastRunExecutionDetails", "lastRunMetadataCatalogDetails", "schemaVersion",
)
SCHEDULED_KEYS = (
    "scheduleExpression", "dataPullMode", "scheduleStartTime", "scheduleEndTime", "timezone",
    "scheduleOffset", "firstExecutionFrom", "flowErrorDeactivationThreshold",
)
# The engine runs destinationFlowConfigList[0]; more would be silently skipped, so they are refused.
MAX_DESTINATIONS = 1
RESERVED_TAG_PREFIX = "sluice:"


def validate_flow_document(doc: Any) -> list[DocumentError]:
    """Every problem with `doc`, in document order; an empty list means it is valid. Never raises
    on any JSON value: a wrong shape anywhere becomes an error naming its path."""
    problems = Problems()
    if not isinstance(doc, dict):
        problems.add((), f"must be a JSON object (a flow definition), not {json_type(doc)}")
        return problems.sorted_errors(doc)
    check_keys(problems, (), doc, required=REQUIRED_FLOW_KEYS, allowed=FLOW_KEYS,
               also_accepted=DESCRIBE_FLOW_KEYS)
    source_key = source_properties_key(doc)
    source = connector_for(doc.get("sourceFlowConfig"))
    check_members(problems, (), doc, {
        "flowName": _check_flow_name,
        "description": lambda p, at, v: expect_string(p, at, v, max_length=DESCRIPTION_MAX),
        "kmsArn": lambda p, at, v: expect_string(p, at, v, max_length=KMS_ARN_MAX),
        "clientToken": lambda p, at, v: expect_string(p, at, v, max_length=CLIENT_TOKEN_MAX, non_empty=True),
        "metadataCatalogConfig": expect_object,
        "triggerConfig": lambda p, at, v: _check_trigger(p, at, v, source, source_block(doc)),
        "sourceFlowConfig": lambda p, at, v: check_flow_config(p, at, v, SOURCE),
        "destinationFlowConfigList": lambda p, at, v: _check_destinations(p, at, v, source, doc),
        "tasks": lambda p, at, v: check_tasks(p, at, v, source_key, source),
        "tags": _check_tags,
    })
    return problems.sorted_errors(doc)


def check_flow_document(doc: Any) -> dict:
    """`doc` itself, unchanged, if it is valid; otherwise DocumentInvalid with every error."""
    errors = validate_flow_document(doc)
    if errors:
        raise DocumentInvalid(errors)
    return doc


def _check_flow_name(problems: Problems, path: Path, value: Any) -> None:
    name = expect_string(problems, path, value, max_length=FLOW_NAME_MAX)
    if name is not None and not FLOW_NAME_PATTERN.fullmatch(name):
        problems.add(path, NAME_RULE)


def _check_trigger(problems: Problems, path: Path, value: Any, source: type[Connector] | None,
                   source_props: Any = None) -> None:
    config = expect_object(problems, path, value)
    if config is None:
        return
    check_keys(problems, path, config, required=("triggerType",),
               allowed=("triggerType", "triggerProperties"))
    trigger_type = None
    if "triggerType" in config:
        trigger_type = expect_enum(problems, (*path, "triggerType"), config["triggerType"], TRIGGER_TYPES)
    if trigger_type and source is not None and trigger_type not in source.trigger_types:
        problems.add((*path, "triggerType"), f"the {source.key()} connector does not support {trigger_type} "
                                             f"triggers (supported: {', '.join(source.trigger_types)})")
    elif trigger_type and source is not None and isinstance(source_props, dict):
        # e.g. Salesforce: event channels run on Event only, and Event runs only on them
        for message in source.check_trigger(trigger_type, source_props):
            problems.add((*path, "triggerType"), message)
    scheduled: Any = None
    properties = config.get("triggerProperties")
    if "triggerProperties" in config and expect_object(problems, (*path, "triggerProperties"), properties):
        check_keys(problems, (*path, "triggerProperties"), properties, required=(), allowed=("Scheduled",))
        scheduled = properties.get("Scheduled")
        if "Scheduled" in properties:
            _check_scheduled(problems, (*path, "triggerProperties", "Scheduled"), scheduled, source)
    if (trigger_type == "Scheduled" or isinstance(scheduled, dict)) and _expression_absent(config):
        why = " for a Scheduled trigger, e.g. rate(5minutes)" if trigger_type == "Scheduled" else ""
        problems.add((*path, "triggerProperties", "Scheduled", "scheduleExpression"), f"is required{why}")


def _expression_absent(config: dict) -> bool:
    """True when triggerProperties.Scheduled.scheduleExpression is missing at whichever level; false
    when a level has the wrong type, which has its own error already."""
    node: Any = config
    for key in ("triggerProperties", "Scheduled", "scheduleExpression"):
        if not isinstance(node, dict):
            return False
        if key not in node:
            return True
        node = node[key]
    return False


def _check_scheduled(problems: Problems, path: Path, value: Any, source: type[Connector] | None) -> None:
    scheduled = expect_object(problems, path, value)
    if scheduled is None:
        return
    check_keys(problems, path, scheduled, required=(), allowed=SCHEDULED_KEYS)
    check_members(problems, path, scheduled, {
        "scheduleExpression": lambda p, at, v: expect_string(
            p, at, v, max_length=SCHEDULE_EXPRESSION_MAX, non_empty=True),
        "dataPullMode": lambda p, at, v: expect_enum(p, at, v, DATA_PULL_MODES),
        "scheduleStartTime": expect_time,
        "scheduleEndTime": expect_time,
        "firstExecutionFrom": expect_time,
        "timezone": lambda p, at, v: expect_string(p, at, v, max_length=TIMEZONE_MAX, non_empty=True),
        "scheduleOffset": lambda p, at, v: expect_integer_in(p, at, v, *SCHEDULE_OFFSET_RANGE),
        "flowErrorDeactivationThreshold": lambda p, at, v: expect_integer_in(
            p, at, v, *FLOW_ERROR_DEACTIVATION_THRESHOLD_RANGE),
    })
    # Types and ranges above; what the values mean (expression, zone, start before end, the source's
    # fastest schedule) in flows.schedules, shared with the dispatcher and the flow page.
    fastest = source.fastest_schedule_minutes if source is not None else None
    name = (source.display_name or source.key()) if source is not None else "source"
    typed = {key: value for key, value in scheduled.items()
             if not (key == "scheduleExpression" and len(str(value)) > SCHEDULE_EXPRESSION_MAX)}
    for key, message in schedule_problems(typed, fastest_minutes=fastest, connector=name):
        problems.add((*path, key), message)


def _check_destinations(problems: Problems, path: Path, value: Any, source: type[Connector] | None,
                        doc: dict) -> None:
    destinations = expect_list(problems, path, value)
    if destinations is None:
        return
    if not destinations:
        problems.add(path, "must have at least one destination")
        return
    if len(destinations) > MAX_DESTINATIONS:
        problems.add(path, f"Sluice runs one destination per flow, as AppFlow does (this list has "
                           f"{len(destinations)}); make one flow per destination")
    for index, destination in enumerate(destinations):
        check_flow_config(problems, (*path, index), destination, DESTINATION)
    if source is None or not source.hands_over_files(source_block(doc)):
        return
    for index, destination in enumerate(destinations):
        target = connector_for(destination)
        if target is not None and not target.accepts_files:
            problems.add((*path, index, "connectorType"),
                         f"{source.display_name} hands over files beside the records here (source files "
                         f"or renditions), and {target.display_name} cannot store files: choose S3 or "
                         "Local files, or ask for the records only")


def _check_tags(problems: Problems, path: Path, value: Any) -> None:
    if isinstance(value, list):
        problems.add(path, "must be an object of key: value pairs (a list of {Key, Value} is "
                           "CloudFormation's form: import the CloudFormation block instead)")
        return
    tags = expect_object(problems, path, value)
    if tags is None:
        return
    if len(tags) > TAGS_MAX:
        problems.add(path, f"must have at most {TAGS_MAX} tags (it has {len(tags)})")
    for key, tag_value in tags.items():
        problem = _tag_key_problem(str(key))
        if problem:
            problems.add((*path, key), problem)
        problem = _tag_value_problem(tag_value)
        if problem:
            problems.add((*path, key), problem)


def _tag_key_problem(key: str) -> str | None:
    if not key:
        return "tag key must not be empty"
    if len(key) > TAG_KEY_MAX:
        return f"tag key must be at most {TAG_KEY_MAX} characters (it has {len(key)})"
    if key.lower().startswith("aws:"):
        return 'tag keys starting with "aws:" are reserved by AWS'
    if key.lower().startswith(RESERVED_TAG_PREFIX):
        return f'tag keys starting with "{RESERVED_TAG_PREFIX}" are reserved for Sluice'
    if not TAG_KEY_PATTERN.fullmatch(key):
        return "tag key may contain only letters, digits and + - = . _ : /"
    return None


def _tag_value_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"tag value must be a string, not {json_type(value)}"
    if len(value) > TAG_VALUE_MAX:
        return f"tag value must be at most {TAG_VALUE_MAX} characters (it has {len(value)})"
    if not TAG_VALUE_PATTERN.fullmatch(value):
        return "tag value may contain only letters, digits, spaces and _ . : / = + - @"
    return None
