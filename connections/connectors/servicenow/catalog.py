"""What a ServiceNow instance holds: its tables (sys_db_object) and their fields (sys_dictionary,
the table's own and those inherited along its super_class chain, e.g. incident <- task), typed
from the dictionary's internal_type."""

from __future__ import annotations

import re
from dataclasses import dataclass

from connections.connectors.base import ConnectorError, Entity, MissingAtSource

from .client import ServiceNowApi

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_$]{1,80}$")
MAX_DEPTH = 12  # deeper than any real extension chain (cmdb_ci_linux_server is 5 levels)

# ServiceNow internal_type -> Sluice data type; everything else (string, reference, choice,
# journal, html, GUID, currency, glide_duration ...) is text as the Table API sends it.
TYPES = {
    "integer": "integer", "longint": "integer", "auto_increment": "integer",
    "decimal": "double", "float": "double", "percent_complete": "double",
    "boolean": "boolean",
    "glide_date": "date",
    "glide_date_time": "datetime", "due_date": "datetime", "date_time": "datetime",
}
INCREMENTAL_FIELDS = ("sys_updated_on", "sys_created_on")


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    label: str
    mandatory: bool
    max_length: int | None
    internal_type: str


def check_table_name(table: str) -> str:
    if not _TABLE_NAME.match(table or ""):
        raise ConnectorError(f'"{table[:100]}" is not a ServiceNow table name (letters, digits and _).')
    return table


def tables(api: ServiceNowApi) -> list[Entity]:
    """Every table in sys_db_object, labelled "Incident [incident]" as ServiceNow lists them, so a
    search finds a table by its label or its name."""
    found = []
    params = {"sysparm_fields": "name,label", "sysparm_query": "ORDERBYname",
              "sysparm_exclude_reference_link": "true"}
    for page in api.table("sys_db_object", params, "the list of tables (sys_db_object)"):
        for row in page:
            name = str(row.get("name") or "")
            if name:
                label = str(row.get("label") or "").strip() or name
                found.append(Entity(name, f"{label} [{name}]"))
    return sorted(found, key=lambda e: e.label.lower())


def lineage(api: ServiceNowApi, table: str) -> list[str]:
    """The table and the tables it extends, most specific first: ["incident", "task"]."""
    check_table_name(table)
    chain: list[str] = []
    query = f"name={table}"
    while len(chain) < MAX_DEPTH:
        body, _ = api.get("api/now/table/sys_db_object",
                          {"sysparm_query": query, "sysparm_fields": "name,super_class",
                           "sysparm_exclude_reference_link": "true", "sysparm_limit": 1},
                          f"the table {chain[-1] if chain else table} in sys_db_object")
        rows = body.get("result") if isinstance(body, dict) else None
        if not rows:
            if not chain:
                raise MissingAtSource(f'ServiceNow has no table "{table}" (any more) that this user can see.',
                                      entity=table)
            break
        name = str(rows[0].get("name") or "")
        if not name or name in chain:
            break
        chain.append(name)
        parent = rows[0].get("super_class")
        parent = parent.get("value") if isinstance(parent, dict) else parent
        if not parent:
            break
        query = f"sys_id={parent}"
    return chain


def columns(api: ServiceNowApi, table: str) -> list[Column]:
    """The table's fields from sys_dictionary: its own first, then inherited ones (a field the
    table redefines wins over its parent's), sys_id first."""
    chain = lineage(api, table)
    params = {"sysparm_query": f"nameIN{','.join(chain)}^elementISNOTEMPTY^ORDERBYelement",
              "sysparm_fields": "name,element,column_label,internal_type,max_length,mandatory",
              "sysparm_exclude_reference_link": "true", "sysparm_display_value": "false"}
    by_table: dict[str, dict[str, Column]] = {name: {} for name in chain}
    for page in api.table("sys_dictionary", params, f"the fields of {table} (sys_dictionary)"):
        for row in page:
            owner, element = str(row.get("name") or ""), str(row.get("element") or "")
            if owner not in by_table or not element:
                continue
            internal = row.get("internal_type")
            internal = str((internal.get("value") if isinstance(internal, dict) else internal) or "string")
            try:
                length = int(row.get("max_length") or 0) or None
            except ValueError:
                length = None
            by_table[owner][element] = Column(element, TYPES.get(internal, "string"),
                                              str(row.get("column_label") or element),
                                              str(row.get("mandatory")).lower() == "true", length, internal)
    merged: dict[str, Column] = {}
    for name in reversed(chain):  # parents first, so the table's own definition wins
        merged.update(by_table[name])
    if not merged:
        raise ConnectorError(f'The ServiceNow dictionary has no fields for "{table}" that this user can '
                             "read.")
    ordered = sorted(merged.values(), key=lambda c: (c.name != "sys_id", c.name))
    return ordered
