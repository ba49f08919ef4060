"""Entity sets and their properties from an OData service's `$metadata` (EDMX), V2 and V4.

Parsed with the standard library's XML parser, by local names, so every EDM namespace revision
(2006/04 ... 2009/11 for V2, docs.oasis-open.org for V4) reads the same. A document type
declaration is refused before parsing: $metadata never has one, and entity expansion is how an
XML answer turns into a memory bomb."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from connections.connectors.base import ConnectorError

MAX_METADATA_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Property:
    name: str
    edm_type: str  # Edm.String, Edm.Decimal, ...
    nullable: bool
    precision: int | None = None
    scale: int | None = None
    key: bool = False


@dataclass(frozen=True)
class EntitySet:
    name: str
    entity_type: str
    properties: tuple[Property, ...]
    navigation: tuple[str, ...]  # navigation properties: links, not read as columns

    def property(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)


@dataclass(frozen=True)
class Metadata:
    version: str  # "2" or "4"
    entity_sets: dict[str, EntitySet]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None  # Scale="variable" (V4) or "floating"


def parse(raw: bytes, where: str) -> Metadata:
    """The entity sets of a $metadata document; `where` names it in errors."""
    if len(raw) > MAX_METADATA_BYTES:
        raise ConnectorError(f"SAP OData: {where} is larger than {MAX_METADATA_BYTES // 2**20} MB.")
    if b"<!DOCTYPE" in raw[:4096].upper() or b"<!ENTITY" in raw.upper():
        raise ConnectorError(f"SAP OData: {where} declares a document type; an OData $metadata document "
                             "never does, so Sluice does not read it.")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise ConnectorError(f"SAP OData: {where} is not an EDMX document ({exc}).") from None
    if _local(root.tag) != "Edmx":
        raise ConnectorError(f"SAP OData: {where} is not an EDMX document (its root is {_local(root.tag)}).")
    version = "4" if (root.get("Version") or "").startswith("4") else "2"
    types: dict[str, tuple[tuple[Property, ...], tuple[str, ...]]] = {}
    sets: dict[str, EntitySet] = {}
    schemas = [e for e in root.iter() if _local(e.tag) == "Schema"]
    for schema in schemas:
        namespace, alias = schema.get("Namespace") or "", schema.get("Alias")
        for etype in (e for e in schema if _local(e.tag) == "EntityType"):
            keys = {r.get("Name") for k in etype if _local(k.tag) == "Key" for r in k}
            props = tuple(
                Property(p.get("Name") or "", p.get("Type") or "Edm.String",
                         (p.get("Nullable") or "true").lower() != "false",
                         _int(p.get("Precision")), _int(p.get("Scale")), p.get("Name") in keys)
                for p in etype if _local(p.tag) == "Property" and p.get("Name"))
            nav = tuple(p.get("Name") or "" for p in etype if _local(p.tag) == "NavigationProperty")
            for prefix in {namespace, alias} - {None, ""}:
                types[f"{prefix}.{etype.get('Name')}"] = (props, nav)
    for schema in schemas:
        for container in (e for e in schema if _local(e.tag) == "EntityContainer"):
            for es in (e for e in container if _local(e.tag) == "EntitySet"):
                name, type_name = es.get("Name") or "", es.get("EntityType") or ""
                if name and type_name in types:
                    props, nav = types[type_name]
                    sets[name] = EntitySet(name, type_name, props, nav)
    return Metadata(version, sets)
