"""What a Vault holds, from its metadata API: its objects (`/metadata/vobjects`) and documents
(`/metadata/objects/documents/properties`), each an entity; their fields typed from Vault's
field types. Only queryable document properties are fields: VQL refuses the others."""

from __future__ import annotations

import re
from dataclasses import dataclass

from connections.connectors.base import ConnectorError, Entity, MissingAtSource

from .client import API_VERSION, VaultApi

DOCUMENTS = "documents"
INCREMENTAL_FIELD = "modified_date__v"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")

# Vault field type (documents' and objects' spellings, compared in lower case) -> Sluice type;
# everything else (String, Picklist, ObjectReference, Object, LongText, RichText ...) is text.
TYPES = {
    "number": "double", "currency": "double", "percent": "double",
    "boolean": "boolean", "yesno": "boolean",
    "date": "date", "datetime": "datetime",
}


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    label: str
    required: bool
    vault_type: str


def check_entity_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise ConnectorError(f'"{str(name)[:100]}" is not a Vault object name (lower-case letters, '
                             "digits and _, e.g. product__v), nor documents.")
    return name


def entities(api: VaultApi) -> list[Entity]:
    """Documents first, then every object the user can see, labelled "Product [product__v]"."""
    body = api.call("GET", f"api/{API_VERSION}/metadata/vobjects", "the list of objects (metadata/vobjects)")
    found = []
    for obj in body.get("objects") or []:
        name = str(obj.get("name") or "") if isinstance(obj, dict) else ""
        if _NAME.match(name) and name != DOCUMENTS:
            found.append(Entity(name, f"{str(obj.get('label') or '').strip() or name} [{name}]"))
    return [Entity(DOCUMENTS, "Documents [documents]"), *sorted(found, key=lambda e: e.label.lower())]


def _type(field: dict) -> str:
    vault_type = str(field.get("type") or "String").lower()
    if vault_type in ("id",):
        return "integer" if field.get("_documents") else "string"
    if vault_type == "number" and field.get("scale") == 0:
        return "integer"
    return TYPES.get(vault_type, "string")


def columns(api: VaultApi, entity: str) -> list[Column]:
    """The entity's fields, id first."""
    check_entity_name(entity)
    if entity == DOCUMENTS:
        body = api.call("GET", f"api/{API_VERSION}/metadata/objects/documents/properties",
                        "the document fields (metadata/objects/documents/properties)")
        raw = [{**f, "_documents": True} for f in body.get("properties") or []
               if isinstance(f, dict) and f.get("queryable") is not False]
    else:
        try:
            body = api.call("GET", f"api/{API_VERSION}/metadata/vobjects/{entity}",
                            f"the fields of the object {entity} (metadata/vobjects/{entity})")
        except ConnectorError as exc:
            if "MALFORMED_URL" in exc.message or "INVALID_DATA" in exc.message:
                raise MissingAtSource(f'Veeva Vault has no object "{entity}" (any more) that this user '
                                      "can see.", entity=entity) from None
            raise
        obj = body.get("object") if isinstance(body.get("object"), dict) else {}
        raw = [f for f in obj.get("fields") or [] if isinstance(f, dict)]
    found: dict[str, Column] = {}
    for field in raw:
        name = str(field.get("name") or "")
        if _NAME.match(name) and name not in found:
            found[name] = Column(name, _type(field), str(field.get("label") or name),
                                 bool(field.get("required")), str(field.get("type") or "String"))
    if not found:
        raise ConnectorError(f'Veeva Vault has no fields for "{entity}" that this user can query.')
    return sorted(found.values(), key=lambda c: (c.name != "id", c.name))
