"""CloudFormation `AWS::AppFlow::Flow` -> the CreateFlow document, so an AppFlow user can paste either.

CloudFormation spells the same shape in PascalCase, with four differences: TriggerProperties holds
the scheduled properties directly (CreateFlow nests them under "Scheduled"), TaskProperties and Tags
are lists of {Key, Value} (CreateFlow: maps), ErrorHandlingConfig says FailOnFirstError
(CreateFlow: failOnFirstDestinationError), and TimeZone / KMSArn are cased differently. Connector
keys (S3, Salesforce, CustomConnector...) are the same in both and stay as they are. Key order is
kept. FlowStatus has no place in CreateFlow and is left out: activating a flow is a separate step.
"""

from __future__ import annotations

from typing import Any

from .errors import DocumentError, DocumentInvalid, Path, format_path

FLOW_RESOURCE_TYPE = "AWS::AppFlow::Flow"

_RENAMED = {
    "KMSArn": "kmsArn",
    "TimeZone": "timezone",
    "FailOnFirstError": "failOnFirstDestinationError",
}
# Objects whose keys name connectors: keys kept, values converted.
_CONNECTOR_KEYED = ("SourceConnectorProperties", "DestinationConnectorProperties", "ConnectorOperator")
# Values copied as they are: user-chosen keys (CustomProperties), and CustomConnector's
# DataTransferApi, which is {Name, Type} in CreateFlow too.
_VERBATIM = ("CustomProperties", "DataTransferApi")
_DROPPED = ("FlowStatus",)


def looks_like_cloudformation(doc: Any) -> bool:
    """True for a template holding an AWS::AppFlow::Flow, the resource, or its Properties block."""
    if not isinstance(doc, dict) or "flowName" in doc:
        return False
    if "FlowName" in doc or _is_flow_resource(doc):
        return True
    resources = doc.get("Resources")
    return isinstance(resources, dict) and any(_is_flow_resource(r) for r in resources.values())


def from_cloudformation(props: dict) -> dict:
    """The CreateFlow document for a CloudFormation template, resource or Properties block. Raises
    DocumentInvalid (with CloudFormation paths) for what cannot be converted: several flows in one
    template, intrinsic functions such as Ref, malformed Key/Value lists."""
    path, props = _properties_block(props)
    errors: list[DocumentError] = []
    _find_intrinsics(props, path, errors)
    if errors:
        raise DocumentInvalid(errors)
    doc = {}
    for key, value in props.items():
        if key in _DROPPED:
            continue
        if key == "TriggerConfig":
            doc["triggerConfig"] = _trigger_config(value)
        elif key == "Tags":
            doc["tags"] = _key_value_map(value, (*path, key), errors)
        elif key == "Tasks" and isinstance(value, list):
            doc["tasks"] = [_task(task, (*path, key, i), errors) for i, task in enumerate(value)]
        else:
            doc[_camel(key)] = _convert(key, value)
    if errors:
        raise DocumentInvalid(errors)
    return doc


def _is_flow_resource(value: Any) -> bool:
    return (isinstance(value, dict) and value.get("Type") == FLOW_RESOURCE_TYPE
            and isinstance(value.get("Properties"), dict))


def _properties_block(doc: Any) -> tuple[Path, dict]:
    if not isinstance(doc, dict):
        raise _invalid((), "must be a CloudFormation AWS::AppFlow::Flow resource or its Properties")
    if _is_flow_resource(doc):
        return ("Properties",), doc["Properties"]
    resources = doc.get("Resources")
    if "FlowName" not in doc and isinstance(resources, dict):
        flows = [name for name, r in resources.items() if _is_flow_resource(r)]
        if len(flows) != 1:
            raise _invalid(("Resources",), f"must hold exactly one {FLOW_RESOURCE_TYPE} to import "
                                           f"(it has {len(flows)})")
        return ("Resources", flows[0], "Properties"), resources[flows[0]]["Properties"]
    return (), doc


def _find_intrinsics(value: Any, path: Path, errors: list[DocumentError]) -> None:
    # Ref, Fn::Sub... are resolved by CloudFormation at deploy time; there is no stack here to ask.
    if isinstance(value, dict):
        if len(value) == 1 and (next(iter(value)) == "Ref" or str(next(iter(value))).startswith("Fn::")):
            errors.append(DocumentError(format_path(path), f"{next(iter(value))} cannot be resolved outside "
                                                           "CloudFormation; write the value itself"))
            return
        for key, item in value.items():
            _find_intrinsics(item, (*path, key), errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find_intrinsics(item, (*path, index), errors)


def _camel(key: str) -> str:
    if key in _RENAMED:
        return _RENAMED[key]
    return key[:1].lower() + key[1:]


def _convert(key: str, value: Any) -> Any:
    """The value of a PascalCase key, converted for its place in the document."""
    if key in _VERBATIM:
        return value
    if key in _CONNECTOR_KEYED and isinstance(value, dict):
        return {connector: _convert_tree(inner) for connector, inner in value.items()}
    return _convert_tree(value)


def _convert_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel(key): _convert(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_convert_tree(item) for item in value]
    return value


def _trigger_config(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    config = {}
    for key, item in value.items():
        if key == "TriggerProperties":
            config["triggerProperties"] = {"Scheduled": _convert_tree(item)}
        else:
            config[_camel(key)] = _convert(key, item)
    return config


def _task(value: Any, path: Path, errors: list[DocumentError]) -> Any:
    if not isinstance(value, dict):
        return value
    task = {}
    for key, item in value.items():
        if key == "TaskProperties":
            task["taskProperties"] = _key_value_map(item, (*path, key), errors)
        else:
            task[_camel(key)] = _convert(key, item)
    return task


def _key_value_map(value: Any, path: Path, errors: list[DocumentError]) -> Any:
    """[{Key, Value}, ...] -> {Key: Value}. CloudFormation turns numbers and booleans written for
    string properties (YAML `Value: 10`) into strings; so does this."""
    if not isinstance(value, list):
        return _convert_tree(value)
    result: dict[str, Any] = {}
    for index, pair in enumerate(value):
        where = format_path((*path, index))
        if not isinstance(pair, dict) or set(pair) != {"Key", "Value"} or not isinstance(pair["Key"], str):
            errors.append(DocumentError(where, "must be an object with a string Key and a Value"))
        elif pair["Key"] in result:
            errors.append(DocumentError(where, f'the key "{pair["Key"]}" appears twice'))
        else:
            result[pair["Key"]] = _as_string(pair["Value"])
    return result


def _as_string(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _invalid(path: Path, message: str) -> DocumentInvalid:
    return DocumentInvalid([DocumentError(format_path(path), message)])
