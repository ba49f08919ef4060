"""sourceFlowConfig and each destinationFlowConfigList item: AppFlow's shape, then Sluice's registry.

A connector Sluice has (registry key = connectorType, or connectorLabel for CustomConnector) checks
its own block of source/destinationConnectorProperties; its (sub-path, message) pairs are reported
under the block's path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connections.connectors.base import Connector, ConnectorError
from connections.connectors.registry import connector_keys, get_connector_class

from .appflow_model import (
    API_VERSION_MAX,
    CONNECTOR_LABEL_MAX,
    CONNECTOR_LABEL_PATTERN,
    CONNECTOR_PROFILE_NAME_MAX,
    CONNECTOR_TYPES,
    DATETIME_FIELD_NAME_MAX,
    DESTINATION_PROPERTIES_KEYS,
    PROPERTIES_KEY_SPELLINGS,
    SOURCE_PROPERTIES_KEYS,
)
from .checks import check_keys, check_members, expect_object, expect_string, unknown_value
from .errors import Path, Problems, parse_sub_path

NAME_RULE = "must be 2 to 256 characters: a letter or digit, then letters, digits or _ ! @ # . - (no spaces)"


@dataclass(frozen=True)
class Side:
    """What differs between the source and a destination."""

    name: str  # "source" | "destination"
    properties_field: str
    model_keys: tuple[str, ...]  # connectors AppFlow's model allows on this side
    check_method: str
    capability: str
    extra_keys: tuple[str, ...] = ()


SOURCE = Side(
    "source", "sourceConnectorProperties", SOURCE_PROPERTIES_KEYS, "check_source_properties",
    "can_be_source", ("incrementalPullConfig",),
)
DESTINATION = Side(
    "destination", "destinationConnectorProperties", DESTINATION_PROPERTIES_KEYS,
    "check_destination_properties", "can_be_destination",
)
# connectorLabel is Sluice's addition: AppFlow keeps it on the connector profile, Sluice also needs
# it in the flow to know which built-in connector a CustomConnector means.
_COMMON_KEYS = ("connectorType", "connectorLabel", "apiVersion", "connectorProfileName")


def canonical_connector_type(name: Any) -> str | None:
    """AppFlow's connectorType for either spelling ("GoogleAnalytics" -> "Googleanalytics"), or None."""
    if not isinstance(name, str):
        return None
    if name in CONNECTOR_TYPES:
        return name
    for enum_name, key in PROPERTIES_KEY_SPELLINGS.items():
        if name == key:
            return enum_name
    return None


def properties_key(connector_type: str) -> str:
    """The key a connectorType takes in *ConnectorProperties and connectorOperator."""
    return PROPERTIES_KEY_SPELLINGS.get(connector_type, connector_type)


def source_properties_key(doc: Any) -> str | None:
    config = doc.get("sourceFlowConfig") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        return None
    connector_type = canonical_connector_type(config.get("connectorType"))
    return properties_key(connector_type) if connector_type else None


def check_flow_config(problems: Problems, path: Path, value: Any, side: Side) -> None:
    config = expect_object(problems, path, value)
    if config is None:
        return
    check_keys(problems, path, config, required=("connectorType", side.properties_field),
               allowed=(*_COMMON_KEYS, side.properties_field, *side.extra_keys))
    check_members(problems, path, config, {
        "connectorLabel": _check_label,
        "apiVersion": lambda p, at, v: expect_string(p, at, v, max_length=API_VERSION_MAX, non_empty=True),
        "connectorProfileName": lambda p, at, v: expect_string(
            p, at, v, max_length=CONNECTOR_PROFILE_NAME_MAX, non_empty=True),
        "incrementalPullConfig": _check_incremental_pull,
    })
    connector_type = _check_connector_type(problems, (*path, "connectorType"), config)
    block = None
    if side.properties_field in config:
        block = _check_properties_block(problems, (*path, side.properties_field),
                                        config[side.properties_field], connector_type)
    if connector_type:
        _check_with_registry(problems, path, config, connector_type, side, block)


def _is_sound_label(label: Any) -> bool:
    return isinstance(label, str) and len(label) <= CONNECTOR_LABEL_MAX and bool(
        CONNECTOR_LABEL_PATTERN.fullmatch(label))


def _check_label(problems: Problems, path: Path, value: Any) -> None:
    label = expect_string(problems, path, value, max_length=CONNECTOR_LABEL_MAX)
    if label is not None and not CONNECTOR_LABEL_PATTERN.fullmatch(label):
        problems.add(path, NAME_RULE)


def _check_incremental_pull(problems: Problems, path: Path, value: Any) -> None:
    config = expect_object(problems, path, value)
    if config is None:
        return
    check_keys(problems, path, config, required=(), allowed=("datetimeTypeFieldName",))
    if "datetimeTypeFieldName" in config:
        expect_string(problems, (*path, "datetimeTypeFieldName"), config["datetimeTypeFieldName"],
                      max_length=DATETIME_FIELD_NAME_MAX, non_empty=True)


def _check_connector_type(problems: Problems, path: Path, config: dict) -> str | None:
    if "connectorType" not in config:
        return None
    value = config["connectorType"]
    if expect_string(problems, path, value) is None:
        return None
    connector_type = canonical_connector_type(value)
    if connector_type is None:
        problems.add(path, unknown_value(value, CONNECTOR_TYPES))
    return connector_type


def _check_properties_block(problems: Problems, path: Path, value: Any,
                            connector_type: str | None) -> tuple[str, dict] | None:
    """The block holds exactly one key, the connector's (compared without case, as spellings vary);
    returns that key and its object."""
    block = expect_object(problems, path, value)
    if block is None:
        return None
    expected = properties_key(connector_type) if connector_type else None
    if not block:
        named = f', "{expected}"' if expected else ""
        problems.add(path, f"must have one key naming the connector{named}")
        return None
    if expected is None:
        if len(block) > 1:
            problems.add(path, f"must have exactly one key naming the connector (it has {len(block)})")
            return None
        key = next(iter(block))
    else:
        matching = [key for key in block if str(key).lower() == expected.lower()]
        for key in block:
            if not matching or key != matching[0]:
                problems.add((*path, key), f'does not match connectorType "{connector_type}": '
                                           f'this object takes one key, "{expected}"')
        if not matching:
            return None
        key = matching[0]
    inner = expect_object(problems, (*path, key), block[key])
    return (key, inner) if inner is not None else None


def connector_for(config: Any) -> type[Connector] | None:
    """The Sluice connector class a sourceFlowConfig / destination names, or None when it names
    none that Sluice has (the validator says why)."""
    if not isinstance(config, dict):
        return None
    connector_type = canonical_connector_type(config.get("connectorType"))
    label = config.get("connectorLabel")
    if connector_type is None or (connector_type == "CustomConnector" and not _is_sound_label(label)):
        return None
    key = label if connector_type == "CustomConnector" else connector_type
    connector, _ = _load(key, connector_type, SOURCE)
    if connector is None or connector.connector_type not in ("", connector_type):
        return None
    return connector


def _available() -> str:
    return ", ".join(sorted(connector_keys())) or "none"


def _check_with_registry(problems: Problems, path: Path, config: dict, connector_type: str, side: Side,
                         block: tuple[str, dict] | None) -> None:
    if connector_type == "CustomConnector":
        label = config.get("connectorLabel")
        if label is None:
            problems.add((*path, "connectorLabel"),
                         f"is required when connectorType is CustomConnector (available: {_available()})")
            return
        if not _is_sound_label(label):
            return  # already reported by _check_label
        key, where = label, "connectorLabel"
    else:
        key, where = config["connectorType"], "connectorType"  # as written, for the messages
    connector, problem = _load(key, connector_type, side)
    if connector is None:
        problems.add((*path, where), problem)
        return
    if connector.connector_type and connector.connector_type != connector_type:
        problems.add((*path, "connectorType"),
                     f'"{key}" is a {connector.connector_type} connector: use connectorType '
                     f'"{connector.connector_type}"')
        return
    if not getattr(connector, side.capability, False):
        problems.add((*path, where), f"the {key} connector cannot be used as a {side.name}")
    if block is not None:
        _run_connector_check(problems, (*path, side.properties_field, block[0]), connector, side, block[1])


def _load(key: str, connector_type: str, side: Side) -> tuple[type[Connector] | None, str]:
    if connector_type == "CustomConnector":
        candidates = [key]
    else:  # either spelling may be the registry key
        candidates = [connector_type, properties_key(connector_type)]
    for candidate in dict.fromkeys(candidates):
        try:
            return get_connector_class(candidate), ""
        except ConnectorError:
            continue
        except Exception as exc:  # a connector module that fails to import must not crash validation
            return None, f'the "{candidate}" connector could not be loaded ({type(exc).__name__}: {exc})'
    if connector_type != "CustomConnector" and properties_key(connector_type) not in side.model_keys:
        return None, f"{key} cannot be used as a {side.name}"
    yet = "" if connector_type == "CustomConnector" else " yet"
    return None, f'Sluice has no "{key}" connector{yet} (available: {_available()})'


def _run_connector_check(problems: Problems, path: Path, connector: type[Connector], side: Side,
                         props: dict) -> None:
    try:
        found = getattr(connector, side.check_method)(props)
    except Exception as exc:  # validation answers with errors; a checker's bug must not become a 500
        problems.add(path, f"could not be checked by the {connector.key()} connector "
                           f"({type(exc).__name__}: {exc})")
        return
    for sub_path, message in found or ():
        problems.add((*path, *parse_sub_path(str(sub_path))), str(message))




def source_block(doc: dict) -> dict:
    """The source connector's own block of sourceConnectorProperties ({} when it has no sound one)."""
    config = doc.get("sourceFlowConfig")
    block = config.get("sourceConnectorProperties") if isinstance(config, dict) else None
    inner = next(iter(block.values()), None) if isinstance(block, dict) and len(block) == 1 else None
    return inner if isinstance(inner, dict) else {}


def runs_only_on_events(doc: Any) -> bool:
    """Whether a flow document's source delivers its records only as events (e.g. a Salesforce
    event channel): its runs come from the subscriber, never from a person or a backfill."""
    if not isinstance(doc, dict):
        return False
    source = connector_for(doc.get("sourceFlowConfig"))
    block = source_block(doc)
    return source is not None and source.runs_only_on_events(block)
