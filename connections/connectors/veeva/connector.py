"""Veeva Vault (source): its documents' metadata (with their files: documents.py) and its objects'
records, read with VQL.

Sign-in: user name and password for a session id (client.py). Entities come from the metadata API
(catalog.py). A read is one VQL query (vql.py) POSTed to `/api/{version}/query` with the
incremental window on modified_date__v in its WHERE, then paged by following
`responseDetails.next_page` until there is none. Date-times stay the ISO text Vault sends (`Z`)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pyarrow as pa

from connections.connectors.base import (
    ConfigField,
    ConnectionInfo,
    ConnectorError,
    Entity,
    EntityField,
    MissingAtSource,
    SourceBatch,
    Window,
)
from connections.connectors.saas import TEXT_TIME_ARROW_TYPES, VALUE_OPERATORS, SaasConnector

from . import catalog, documents, vql
from .client import API_VERSION, VaultApi, vault_url

ALL_OPERATORS = (
    "PROJECTION", "LESS_THAN", "GREATER_THAN", "CONTAINS", "BETWEEN", "LESS_THAN_OR_EQUAL_TO",
    "GREATER_THAN_OR_EQUAL_TO", "EQUAL_TO", "NOT_EQUAL_TO", *VALUE_OPERATORS,
)
SOURCE_KEYS = {"object", "documentType", "includeSourceFiles", "includeRenditions", "includeAllVersions",
               "incrementalPullConfig"}
MAX_PAGES = 100_000  # a next_page that never ends is a broken Vault, not a big one


def _cell(value: Any, data_type: str) -> Any:
    """A VQL value as the field's type; lists (picklists, multi-value references) as JSON text."""
    if value is None or value == "":
        return None
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if data_type == "string":
        return str(value)
    try:
        if data_type == "integer":
            return int(value)
        if data_type == "double":
            return float(value)
    except (TypeError, ValueError):
        return None
    if data_type == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return str(value)


class VeevaConnector(SaasConnector):
    """Veeva Vault as a source (AppFlow: source only)."""

    connector_type: ClassVar[str] = "Veeva"
    properties_key: ClassVar[str] = "Veeva"
    display_name: ClassVar[str] = "Veeva Vault"
    description: ClassVar[str] = (
        "Veeva Vault: documents' metadata, with their source files and renditions when asked, and the "
        "records of every Vault object your user can query, read with VQL. Incremental runs use "
        "modified_date__v."
    )
    can_be_source: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "basic"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("username", "string", "User name", secret=True,
                    help="A Vault user with API access (e.g. integration@acme.com). Stored encrypted."),
        ConfigField("password", "secret", "Password", secret=True,
                    help="The password of that user. Stored encrypted; Sluice never shows it again."),
        ConfigField("instanceUrl", "string", "Vault DNS name",
                    help="Your Vault's DNS name, e.g. myvault.veevavault.com.", sends_credentials_to=True),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    fastest_schedule_minutes: ClassVar[int] = 1  # the seed: one scheduled run per minute
    filter_operators: ClassVar[tuple[str, ...]] = ALL_OPERATORS

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        if not isinstance(props, Mapping):
            return [("", "must be a JSON object with object (documents, or a Vault object such as "
                         "product__v)")]
        problems = [(k, "is not a property of a Veeva source (object, documentType, includeAllVersions, "
                        "includeSourceFiles, includeRenditions)") for k in props if k not in SOURCE_KEYS]
        entity = props.get("object")
        if not isinstance(entity, str) or not entity.strip():
            problems.append(("object", "is required: documents, or a Vault object such as product__v"))
        else:
            try:
                catalog.check_entity_name(entity)
            except ConnectorError as exc:
                problems.append(("object", exc.message))
        for key in ("includeSourceFiles", "includeRenditions", "includeAllVersions"):
            if key in props and not isinstance(props[key], bool):
                problems.append((key, "must be true or false"))
        doc_type = props.get("documentType")
        if doc_type is not None and (not isinstance(doc_type, str) or "\n" in doc_type):
            problems.append(("documentType", "must be a document type name on one line, e.g. "
                                             "Promotional Piece"))
        for key in ("documentType", "includeAllVersions", "includeSourceFiles", "includeRenditions"):
            if props.get(key) and entity != catalog.DOCUMENTS:
                problems.append((key, "applies to documents only: set object to documents"))
                break
        return problems

    @classmethod
    def source_option_fields(cls, entity: str) -> tuple[ConfigField, ...]:
        if entity != catalog.DOCUMENTS:
            return ()
        return (
            ConfigField("documentType", "string", "Document type", required=False,
                        help="Only documents of this type, e.g. Promotional Piece. Empty: every type."),
            ConfigField("includeAllVersions", "boolean", "All versions", required=False,
                        help="Every version of each document, not only the latest."),
            ConfigField("includeSourceFiles", "boolean", "Document metadata and source files", required=False,
                        help="Download each document's file with its metadata (to S3 or Local files, under "
                             "documents/). Unticked: metadata only."),
            ConfigField("includeRenditions", "boolean", "Include renditions", required=False,
                        help="Also download each version's renditions (e.g. the viewable PDF)."),
        )

    @classmethod
    def hands_over_files(cls, props: Mapping[str, Any]) -> bool:
        return props.get("object") == catalog.DOCUMENTS and any(documents.wanted(props))

    def test(self, conn: ConnectionInfo) -> None:
        vault_url(conn.properties)
        VaultApi(conn).call("GET", f"api/{API_VERSION}/metadata/vobjects", "the list of objects")

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        return catalog.entities(VaultApi(conn))

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        return [
            EntityField(c.name, c.data_type, nullable=c.name != "id", primary_key=c.name == "id",
                        filter_operators=self.filter_operators,
                        timestamp_for_incremental=c.name == catalog.INCREMENTAL_FIELD)
            for c in catalog.columns(VaultApi(conn), entity)
        ]

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        api = VaultApi(conn)
        source = options if isinstance(options, Mapping) else {}  # the source block
        columns = {c.name: c for c in catalog.columns(api, entity)}
        names = list(fields) if fields else list(columns)
        unknown = [n for n in names if n not in columns]
        if unknown:
            raise MissingAtSource(f"The Vault entity {entity} has no queryable field {', '.join(unknown)} "
                                  "(any more).", entity=entity, fields=unknown)
        source_files, renditions = documents.wanted(source) if entity == catalog.DOCUMENTS else (False, False)
        # the files are found by document id and version: asked for even when not mapped
        selected = names + [n for n in documents.VERSION_FIELDS if n not in names] \
            if source_files or renditions else names
        query = vql.query(entity, selected, window, columns, str(source.get("documentType") or ""),
                          bool(source.get("includeAllVersions")))
        schema = pa.schema([(n, TEXT_TIME_ARROW_TYPES[columns[n].data_type]) for n in names])
        target, form, method = f"api/{API_VERSION}/query", {"q": query}, "POST"
        for page in range(1, MAX_PAGES + 1):
            body = api.call(method, target, f"page {page} of the VQL query on {entity}", form)
            rows = body.get("data")
            details = body.get("responseDetails")
            if not isinstance(rows, list) or not isinstance(details, dict) or \
                    not all(isinstance(r, dict) for r in rows):
                raise ConnectorError(f"Veeva Vault {api.host} answered page {page} of the VQL query on "
                                     f"{entity} without a data list: the page is malformed, nothing was "
                                     "published.")
            table = pa.Table.from_pylist(
                [{n: _cell(r.get(n), columns[n].data_type) for n in names} for r in rows], schema=schema)
            next_page = details.get("next_page")
            last = not next_page
            files, warnings = documents.fetch(api, rows, source_files, renditions) \
                if source_files or renditions else ([], [])
            yield SourceBatch(table=table, files=files, warnings=warnings,
                              bytes_read=len(json.dumps(rows, ensure_ascii=False).encode())
                              + sum(f.size for f in files),
                              notes=[api.limits_note()] if last and api.limits else [])
            if last:
                return
            # next_page is a path on the same Vault; only its path and query are followed, so the
            # session id never goes to another host
            parts = urlsplit(str(next_page))
            target = parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
            form, method = None, "GET"
        raise ConnectorError(f"Veeva Vault {api.host} kept offering a next page after {MAX_PAGES} pages.")
