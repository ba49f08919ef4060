"""What a Marketo instance holds, as Sluice objects and fields.

- leads: fields from the lead describe call (`/rest/v1/leads/describe.json`, REST names);
- activities, one object per activity type (`activities/<id>`, from
  `/rest/v1/activities/types.json`): the Bulk Activity Extract's columns, the type's attributes
  kept as the JSON text Marketo sends in `attributes`;
- custom objects (`<name>_c`, from `/rest/v1/customobjects.json`): fields from their describe;
- programs, campaigns and static lists: the documented fields of those list calls;
- companies and opportunities: fields, keys (idField, dedupeFields) and searchableFields from their
  describe calls; Marketo reads them only through a query on one searchable field (query.py)."""

from __future__ import annotations

from dataclasses import dataclass

from connections.connectors.base import ConnectorError, Entity, MissingAtSource

from .client import MarketoApi

# Marketo dataType -> Sluice data type (text, email, phone, url, reference, ... are strings).
TYPES = {
    "integer": "integer",
    "score": "integer",
    "float": "double",
    "currency": "double",
    "percent": "double",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}


@dataclass(frozen=True)
class Field:
    name: str
    data_type: str
    label: str = ""
    read_only: bool = False
    key: bool = False  # what a write can find a record by (lead: id, email...; dedupe fields)


@dataclass(frozen=True)
class Kind:
    """How an object is read: bulk ("leads", "activities", "customobjects/x_c") or a REST list."""

    bulk: str | None  # the Bulk Extract path, or None for a REST list
    path: str = ""  # REST list path
    offset_paging: bool = False  # the Asset API's offset/maxReturn instead of nextPageToken
    incremental: tuple[str, ...] = ()  # fields that can decide a window / be pushed down
    writable: bool = False
    query: bool = False  # read only by filterType / filterValues on a searchable field (query.py)


ACTIVITY_FIELDS = (
    Field("marketoGUID", "string", "Marketo GUID", True, True),
    Field("leadId", "integer", "Lead ID", True),
    Field("activityDate", "datetime", "Activity date", True),
    Field("activityTypeId", "integer", "Type", True),
    Field("campaignId", "integer", "Campaign ID", True),
    Field("primaryAttributeValueId", "integer", "Primary attribute value ID", True),
    Field("primaryAttributeValue", "string", "Primary attribute value", True),
    Field("attributes", "string", "Attributes (JSON)", True),
)
FIXED = {
    "programs": (
        Field("id", "integer", "ID", True, True),
        Field("name", "string", "Name"),
        Field("description", "string", "Description"),
        Field("type", "string", "Type"),
        Field("channel", "string", "Channel"),
        Field("status", "string", "Status"),
        Field("workspace", "string", "Workspace"),
        Field("url", "string", "URL"),
        Field("folder", "string", "Folder (JSON)"),
        Field("createdAt", "datetime", "Created at", True),
        Field("updatedAt", "datetime", "Updated at", True),
    ),
    "campaigns": (
        Field("id", "integer", "ID", True, True),
        Field("name", "string", "Name"),
        Field("description", "string", "Description"),
        Field("type", "string", "Type"),
        Field("programId", "integer", "Program ID"),
        Field("programName", "string", "Program"),
        Field("workspaceName", "string", "Workspace"),
        Field("active", "boolean", "Active"),
        Field("createdAt", "datetime", "Created at", True),
        Field("updatedAt", "datetime", "Updated at", True),
    ),
    "lists": (
        Field("id", "integer", "ID", True, True),
        Field("name", "string", "Name"),
        Field("description", "string", "Description"),
        Field("programName", "string", "Program"),
        Field("workspaceName", "string", "Workspace"),
        Field("createdAt", "datetime", "Created at", True),
        Field("updatedAt", "datetime", "Updated at", True),
    ),
}
KINDS = {
    "leads": Kind("leads", incremental=("createdAt", "updatedAt"), writable=True),
    "programs": Kind(None, "/rest/asset/v1/programs.json", offset_paging=True, incremental=("updatedAt",)),
    "campaigns": Kind(None, "/rest/v1/campaigns.json"),
    "lists": Kind(None, "/rest/v1/lists.json"),
    "companies": Kind(None, "/rest/v1/companies.json", incremental=("updatedAt",), query=True),
    "opportunities": Kind(None, "/rest/v1/opportunities.json", incremental=("updatedAt",), query=True),
}
LABELS = {
    "leads": "Leads (people)",
    "programs": "Programs",
    "campaigns": "Smart campaigns",
    "lists": "Static lists",
    "companies": "Companies",
    "opportunities": "Opportunities",
}


def kind_of(entity: str) -> Kind:
    if entity in KINDS:
        return KINDS[entity]
    if entity.startswith("activities/") and entity[11:].isdigit():
        return Kind("activities", incremental=("activityDate",))
    if entity.endswith("_c") and entity[:-2].replace("_", "").isalnum():
        return Kind(f"customobjects/{entity}", incremental=("updatedAt",), writable=True)
    raise ConnectorError(
        f'"{entity[:100]}" is not a Marketo object Sluice reads (leads, activities/<type id>, '
        "programs, campaigns, lists, companies, opportunities, or a custom object <name>_c)."
    )


def entities(api: MarketoApi) -> list[Entity]:
    found = [Entity(name, LABELS[name]) for name in KINDS]
    for page in api.pages("/rest/v1/activities/types.json", "the activity types", {}):
        for row in page:
            if row.get("id") is not None:
                found.append(Entity(f"activities/{row['id']}", f"Activities: {row.get('name') or row['id']}"))
    for row in _custom_objects(api):
        found.append(Entity(str(row["name"]), f"Custom object: {row.get('displayName') or row['name']}"))
    return found


def _custom_objects(api: MarketoApi) -> list[dict]:
    answer = api.call("GET", "/rest/v1/customobjects.json", "the list of custom objects")
    return [r for r in answer.get("result") or [] if isinstance(r, dict) and r.get("name")]


def fields(api: MarketoApi, entity: str) -> list[Field]:
    kind = kind_of(entity)
    if entity in FIXED:
        return list(FIXED[entity])
    if kind.bulk == "activities":
        return list(ACTIVITY_FIELDS)
    if entity == "leads":
        answer = api.call("GET", "/rest/v1/leads/describe.json", "the fields of leads (describe)")
        found = []
        for row in answer.get("result") or []:
            rest = row.get("rest") if isinstance(row.get("rest"), dict) else {}
            name = str(rest.get("name") or "")
            if name:
                found.append(
                    Field(
                        name,
                        TYPES.get(str(row.get("dataType")), "string"),
                        str(row.get("displayName") or name),
                        bool(rest.get("readOnly")),
                        name in ("id", "email"),
                    )
                )
        if not found:
            raise ConnectorError("Marketo's lead describe call returned no fields this API user can read.")
        return found
    if kind.query:
        return described_fields(describe(api, entity))
    return described_fields(describe(api, entity, f"/rest/v1/customobjects/{entity}/describe.json"))


def describe(api: MarketoApi, entity: str, path: str = "") -> dict:
    """The describe answer of a custom object, companies or opportunities: name, idField,
    dedupeFields, searchableFields, fields."""
    answer = api.call("GET", path or f"/rest/v1/{entity}/describe.json", f"the fields of {entity} (describe)")
    rows = answer.get("result") or []
    if not rows or not isinstance(rows[0], dict):
        raise MissingAtSource(f'Marketo has no object "{entity}" (any more).', entity=entity)
    return rows[0]


def described_fields(meta: dict) -> list[Field]:
    """Fields of a describe answer; key: the idField and the dedupeFields (what a record is found by)."""
    dedupe = {
        f for group in meta.get("dedupeFields") or [] for f in (group if isinstance(group, list) else [group])
    }
    keys = dedupe | {str(meta.get("idField") or "marketoGUID")}
    return [
        Field(
            str(f["name"]),
            TYPES.get(str(f.get("dataType")), "string"),
            str(f.get("displayName") or f["name"]),
            not f.get("updateable", True),
            f["name"] in keys,
        )
        for f in meta.get("fields") or []
        if isinstance(f, dict) and f.get("name")
    ]


def searchable(meta: dict) -> list[str]:
    """The searchable fields a query can take alone (a compound group needs a POST body: not used)."""
    return [
        str(group[0] if isinstance(group, list) else group)
        for group in meta.get("searchableFields") or []
        if group and (not isinstance(group, list) or len(group) == 1)
    ]
