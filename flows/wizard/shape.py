"""Reading and writing the parts of a CreateFlow document the wizard's steps work on.

AppFlow nests a connector's properties under its key: sourceConnectorProperties.{S3: {...}}. The
entity is named differently per connector (entityName, object, bucketName + bucketPrefix); these
helpers hide that, asking the connector class itself through entity_name()."""

from __future__ import annotations

from typing import Any

from connections.connectors.base import Connector, ConnectorError
from connections.connectors.registry import connector_keys, get_connector_class

SIDES = {"source": "sourceConnectorProperties", "destination": "destinationConnectorProperties"}


def connector_classes(side: str) -> list[type[Connector]]:
    """The connectors that can be a source (or a destination), in the registry's order."""
    found = []
    for key in connector_keys():
        try:
            cls = get_connector_class(key)
        except (ConnectorError, ImportError):
            continue
        if cls.can_be_source if side == "source" else cls.can_be_destination:
            found.append(cls)
    return found


def connector_class(key: str) -> type[Connector] | None:
    if not key:
        return None
    try:
        return get_connector_class(key)
    except (ConnectorError, ImportError):
        return None


def config(document: dict, side: str) -> dict:
    """sourceFlowConfig, or the first (Sluice's only) destination config; {} when not set yet."""
    if side == "source":
        value = document.get("sourceFlowConfig")
    else:
        value = (document.get("destinationFlowConfigList") or [None])[0]
    return value if isinstance(value, dict) else {}


def connector_key(cfg: dict) -> str:
    if cfg.get("connectorType") == "CustomConnector":
        return str(cfg.get("connectorLabel") or "")
    return str(cfg.get("connectorType") or "")


def properties(cfg: dict, side: str) -> dict:
    """The connector's own block, e.g. {"entityName": "accounts.csv"}."""
    outer = cfg.get(SIDES[side])
    if isinstance(outer, dict) and outer:
        inner = next(iter(outer.values()))
        return inner if isinstance(inner, dict) else {}
    return {}


def entity(cfg: dict, side: str) -> str:
    cls = connector_class(connector_key(cfg))
    props = properties(cfg, side)
    return cls.entity_name(props) if cls else str(props.get("entityName") or props.get("object") or "")


def entity_properties(cls: type[Connector], name: str) -> dict:
    """The properties that name entity `name` for this connector."""
    for key in ("entityName", "object"):
        if cls.entity_name({key: "probe"}) == "probe":
            return {key: name}
    if cls.entity_name({"bucketName": "b", "bucketPrefix": "p"}) == "b/p":
        bucket, _, prefix = name.strip("/").partition("/")
        return {"bucketName": bucket, "bucketPrefix": prefix} if prefix else {"bucketName": bucket}
    return {"entityName": name}


def entity_keys(cls: type[Connector]) -> set[str]:
    """The property names entity_properties() may set (to tell them from the options)."""
    return {"entityName", "object", "bucketName", "bucketPrefix"}


def endpoint(cls: type[Connector], connection: str, side: str, props: dict) -> dict:
    """A sourceFlowConfig / destination config for connector `cls`."""
    cfg: dict[str, Any] = {"connectorType": cls.connector_type}
    if cls.connector_type == "CustomConnector":
        cfg["connectorLabel"] = cls.connector_label
    cfg["connectorProfileName"] = connection
    cfg[SIDES[side]] = {cls.properties_key or cls.connector_type: props}
    return cfg


def source_signature(document: dict) -> tuple[str, str, str]:
    """What the mapping depends on: connector, connection, entity of the source."""
    cfg = config(document, "source")
    return connector_key(cfg), str(cfg.get("connectorProfileName") or ""), entity(cfg, "source")


def destination_signature(document: dict) -> tuple[str, str, str]:
    cfg = config(document, "destination")
    return connector_key(cfg), str(cfg.get("connectorProfileName") or ""), entity(cfg, "destination")
