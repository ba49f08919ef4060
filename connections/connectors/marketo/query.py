"""Reading companies and opportunities: Marketo has no call that lists them all and no bulk export
for them, only a query (`GET /rest/v1/companies.json?filterType=<field>&filterValues=a,b`) on one
of the fields describe lists as searchable. So a read needs the flow to say which records: a
Filter task with EQUAL_TO on a searchable field, its values sent as filterValues (at most 300 a
call, as Marketo documents), each answer paged by nextPageToken."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from connections.connectors.base import ConnectorError

from .client import MarketoApi

MAX_VALUES = 300  # filterValues per call (Marketo)
MAX_VALUES_CHARS = 6000  # and few enough characters that the URL stays under Marketo's 8 KB


def query_filter(
    entity: str, searchable: list[str], filters: list[Mapping[str, Any]]
) -> tuple[str, list[str]]:
    """(filterType, filterValues) from the first EQUAL_TO Filter task on a searchable field, or a
    ConnectorError naming the searchable fields."""
    for flt in filters:
        if flt.get("operator") == "EQUAL_TO" and flt.get("field") in searchable:
            values = [str(v) for v in flt.get("values") or [] if str(v) != ""]
            if values:
                commas = [v for v in values if "," in v]
                if commas:
                    raise ConnectorError(
                        f'Marketo cannot look up {entity} by "{commas[0][:80]}": its query takes values '
                        f"separated by commas, so a value may not contain one. Filter on another of "
                        f"{', '.join(searchable)}."
                    )
                return str(flt["field"]), values
    raise ConnectorError(
        f"Marketo reads {entity} only by looking them up: add a Filter task with EQUAL_TO on one of "
        f"its searchable fields ({', '.join(searchable) or 'none listed by describe'}) and the values "
        "to read (VALUES takes several, separated by commas)."
    )


def batches(values: list[str]) -> Iterator[list[str]]:
    """The values in groups Marketo takes in one call."""
    group: list[str] = []
    size = 0
    for value in dict.fromkeys(values):  # once each, in order
        if group and (len(group) == MAX_VALUES or size + len(value) + 1 > MAX_VALUES_CHARS):
            yield group
            group, size = [], 0
        group.append(value)
        size += len(value) + 1
    if group:
        yield group


def pages(
    api: MarketoApi, entity: str, path: str, field: str, values: list[str], names: list[str]
) -> Iterator[list[dict]]:
    """Every page of every query; a field Marketo leaves out of a record is null."""
    for group in batches(values):
        params = {
            "filterType": field,
            "filterValues": ",".join(group),
            "fields": ",".join(names),
            "batchSize": 300,
        }
        yield from api.pages(path, f"the {entity} (query on {field})", params)
