"""The Salesforce connector (source and destination) over OAuth 2.0 (web-server flow with PKCE).

Reads build one SOQL query from the projection, the pushed-down filters and the incremental window,
and run it through the REST API (query / queryAll, nextRecordsUrl paging) or a Bulk API 2.0 query
job, as sourceConnectorProperties.dataTransferApi says (AUTOMATIC: Bulk API 2.0 from
BULK_READ_THRESHOLD records on, counted first with SELECT COUNT()). Writes: see writing.py."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import pyarrow as pa

from connections.connectors import errorhandling
from connections.connectors.base import (
    ConfigField,
    ConnectionInfo,
    ConnectorError,
    Entity,
    EntityField,
    SourceBatch,
    Window,
    WriteResult,
)
from connections.connectors.saas import VALUE_OPERATORS, SaasConnector
from connections.connectors.windowing import in_window

from . import catalog, reading, soql, streaming, writing
from .client import DEFAULT_API_VERSION, SalesforceApi, login_url

BULK_READ_THRESHOLD = 1_000_000  # AUTOMATIC reads use Bulk API 2.0 from this many records on (AppFlow's)
TRANSFER_APIS = ("AUTOMATIC", "BULKV2", "REST_SYNC")
# sourceConnectorProperties besides object
SOURCE_OPTIONS = frozenset({"enableDynamicFieldUpdate", "includeDeletedRecords", "dataTransferApi"})
DESTINATION_KEYS = {"object", "idFieldNames", "errorHandlingConfig", "writeOperationType", "dataTransferApi"}


def _flag(props: Mapping[str, Any], key: str) -> bool:
    value = props.get(key, False)
    return value if isinstance(value, bool) else str(value).lower() == "true"


class SalesforceConnector(SaasConnector):
    """A Salesforce org: its objects as a source and as a destination."""

    connector_type: ClassVar[str] = "Salesforce"
    properties_key: ClassVar[str] = "Salesforce"
    display_name: ClassVar[str] = "Salesforce"
    description: ClassVar[str] = (
        "Standard and custom objects of a Salesforce org, read with SOQL (REST or Bulk API 2.0) and "
        "written by insert, update, upsert or delete, through your own connected app."
    )
    can_be_source: ClassVar[bool] = True
    can_be_destination: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "oauth2"
    oauth_scopes: ClassVar[tuple[str, ...]] = ("api", "refresh_token")
    oauth_token_extras: ClassVar[Mapping[str, str]] = {"instance_url": "instanceUrl"}
    # Salesforce documents client_id / client_secret in the token request's body (it takes HTTP
    # Basic too); used by the shared OAuth client where it supports oauth_client_auth.
    oauth_client_auth: ClassVar[str] = "client_secret_post"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField(
            "environment",
            "choice",
            "Salesforce environment",
            choices=("Production", "Sandbox"),
            default="Production",
            help="Production logs in at login.salesforce.com; Sandbox at test.salesforce.com.",
            sends_credentials_to=True,  # the login (and token) host
        ),
        ConfigField(
            "clientId",
            "string",
            "Client ID",
            help="The Consumer Key of your connected app: in Salesforce, Setup, Apps, App Manager, "
            "your connected app, View, Manage Consumer Details. The app needs Enable OAuth "
            "Settings, the redirect URI Sluice shows beside this form as its Callback URL, "
            "Require Secret for Web Server Flow, and "
            "the scopes api and refresh_token, offline_access; set its refresh token policy to "
            "Refresh token is valid until revoked.",
        ),
        ConfigField(
            "clientSecret",
            "secret",
            "Client secret",
            secret=True,
            help="The Consumer Secret of the same connected app. Stored encrypted; Sluice never "
            "shows it again.",
        ),
        ConfigField(
            "apiVersion",
            "string",
            "API version",
            required=False,
            default=DEFAULT_API_VERSION,
            help=f"The Salesforce REST API version Sluice calls, e.g. {DEFAULT_API_VERSION}.",
        ),
        ConfigField(
            "loginUrl",
            "url",
            "Login address",
            required=False,
            help="Leave empty to log in at the environment's address. Give your My Domain login "
            "address (https://yourcompany.my.salesforce.com) if your org requires it; the "
            "SSRF guard applies.",
            sends_credentials_to=True,
        ),
    )
    # Event: for the event channels only (check_trigger); flows/salesforce_events.py subscribes.
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled", "Event")
    fastest_schedule_minutes: ClassVar[int] = 1
    filter_operators: ClassVar[tuple[str, ...]] = (
        "PROJECTION",
        "LESS_THAN",
        "CONTAINS",
        "GREATER_THAN",
        "BETWEEN",
        "LESS_THAN_OR_EQUAL_TO",
        "GREATER_THAN_OR_EQUAL_TO",
        "EQUAL_TO",
        "NOT_EQUAL_TO",
        *VALUE_OPERATORS,
    )
    pushdown_operators: ClassVar[tuple[str, ...]] = (*catalog.COMPARISONS, "CONTAINS")
    write_operations: ClassVar[tuple[str, ...]] = writing.OPERATIONS

    oauth_address = staticmethod(login_url)
    oauth_paths: ClassVar[tuple[str, str]] = ("/services/oauth2/authorize", "/services/oauth2/token")
    consent_page: ClassVar[str] = "Salesforce's login page"
    source_options: ClassVar[frozenset[str]] = SOURCE_OPTIONS

    @classmethod
    def check_source_values(cls, props: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems = cls._check_object(props)
        for key in ("enableDynamicFieldUpdate", "includeDeletedRecords"):
            if key in props and not isinstance(props[key], bool):
                problems.append((key, "must be true or false"))
        problems += cls._check_transfer_api(props)
        return problems

    @classmethod
    def check_trigger(cls, trigger_type: str, source_props: Mapping[str, Any]) -> list[str]:
        entity = str(source_props.get("object") or "")
        if not entity:
            return []
        if streaming.is_event_object(entity) and trigger_type != "Event":
            return [f'{entity} is a Salesforce event channel: its flow runs on event ("Run flow on event", '
                    "triggerType Event)"]
        if trigger_type == "Event" and not streaming.is_event_object(entity):
            return [f"a Salesforce flow runs on event only for an event channel (/data/<Object>ChangeEvent, "
                    f"/data/ChangeEvents or /event/<Name>__e), not {entity}"]
        return []

    @classmethod
    def runs_only_on_events(cls, source_props: Mapping[str, Any]) -> bool:
        return streaming.is_event_object(str(source_props.get("object") or ""))

    @classmethod
    def check_destination_properties(cls, props: Any) -> list[tuple[str, str]]:
        if not isinstance(props, Mapping):
            return [("", "must be a JSON object")]
        problems = [
            (k, "is not a property of a Salesforce destination") for k in props if k not in DESTINATION_KEYS
        ]
        problems += cls._check_object(props)
        operation = props.get("writeOperationType", "INSERT")
        if operation not in writing.OPERATIONS:
            problems.append(("writeOperationType", f"must be one of {', '.join(writing.OPERATIONS)}"))
        ids = props.get("idFieldNames")
        if ids is not None and (
            not isinstance(ids, list) or not all(isinstance(i, str) and soql.NAME.match(i) for i in ids)
        ):
            problems.append(("idFieldNames", "must be a list of Salesforce field API names"))
        elif operation == "UPSERT" and not ids:
            problems.append(
                ("idFieldNames", "is required for UPSERT: the External ID field to match records on")
            )
        elif ids and len(ids) > 1:
            problems.append(("idFieldNames", "Salesforce matches records on one field: give one"))
        elif operation in ("UPDATE", "DELETE") and ids and ids != ["Id"]:
            problems.append(
                (
                    "idFieldNames",
                    f"{operation} matches records on Id; use UPSERT to match on an External ID field",
                )
            )
        problems += errorhandling.check(props.get("errorHandlingConfig"))
        problems += cls._check_transfer_api(props)
        return problems

    @staticmethod
    def _check_object(props: Mapping[str, Any]) -> list[tuple[str, str]]:
        name = props.get("object")
        if not name:
            return [("object", "is required (a Salesforce object API name, e.g. Account)")]
        if isinstance(name, str) and name.startswith("/"):
            try:
                streaming.channel_of(name)
            except ConnectorError as exc:
                return [("object", exc.message)]
            return []
        if not isinstance(name, str) or not soql.NAME.match(name):
            return [
                (
                    "object",
                    f'"{str(name)[:80]}" is not a Salesforce object API name (e.g. Account, Invoice__c)',
                )
            ]
        return []

    @staticmethod
    def _check_transfer_api(props: Mapping[str, Any]) -> list[tuple[str, str]]:
        value = props.get("dataTransferApi", "AUTOMATIC")
        return (
            []
            if value in TRANSFER_APIS
            else [("dataTransferApi", f"must be one of {', '.join(TRANSFER_APIS)}")]
        )

    # the connection ------------------------------------------------------------------------

    def test(self, conn: ConnectionInfo) -> None:
        self.require_authorized(conn)
        SalesforceApi(conn).json("GET", "limits/", subject="the org's API limits")

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        if parent:
            raise ConnectorError("Salesforce objects have no children.")
        return catalog.entities(SalesforceApi(conn))

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        if streaming.is_event_object(entity):
            return catalog.event_fields(SalesforceApi(conn), entity)
        return catalog.entity_fields(catalog.describe(SalesforceApi(conn), entity))

    # reading --------------------------------------------------------------------------------

    def read(
        self,
        conn: ConnectionInfo,
        entity: str,
        fields: list[str] | None,
        filters: list[Mapping[str, Any]],
        window: Window,
        options: Mapping[str, Any],
    ) -> Iterator[SourceBatch]:
        if streaming.is_event_object(entity):
            yield from self._events(entity, fields, options)
            return
        api = SalesforceApi(conn)
        described = catalog.describe(api, entity)
        names = list(fields or described)
        catalog.check_fields(described, names, entity)
        clauses = soql.where_clauses(
            filters,
            {n: f.data_type for n, f in described.items()},
            frozenset(n for n, f in described.items() if f.filterable),
        )
        columns = names
        if not window.is_open:
            window_field, kind = self._window_field(described, window, entity)
            window = Window(window.start, window.end, window_field)
            clauses += soql.window_clauses(window, window_field, kind)
            # also kept here: SOQL compares whole seconds, the window may not
            columns = list(dict.fromkeys([*names, window_field]))
        include_deleted = _flag(options, "includeDeletedRecords")
        bulk, warnings = self._use_bulk(
            api,
            entity,
            described,
            columns,
            clauses,
            include_deleted,
            str(options.get("dataTransferApi") or "AUTOMATIC"),
        )
        query = soql.select(entity, columns, clauses)
        schema = catalog.schema(described, columns)
        kinds = [(n, described[n].data_type) for n in columns]
        pages = (reading.bulk_pages if bulk else reading.rest_pages)(api, query, include_deleted, entity)
        for records, size in pages:
            rows = [{n: catalog.cell(r.get(n), kind) for n, kind in kinds} for r in records]
            table = pa.Table.from_pylist(rows, schema=schema)
            if not window.is_open:
                table, _ = in_window(table, window)
                table = table.select(names)
            yield SourceBatch(table, bytes_read=size, warnings=warnings)
            warnings = []

    @staticmethod
    def _events(entity: str, fields: list[str] | None, options: Mapping[str, Any]) -> Iterator[SourceBatch]:
        """The events the subscriber received for this run (flows/salesforce_events.py hands them
        to the engine as eventRecords): each one's payload, ChangeEventHeader flattened."""
        events = options.get("eventRecords")
        if events is None:
            raise ConnectorError(
                f"{entity} is a Salesforce event channel: its flow runs when events arrive (activate the "
                "flow); it cannot be run on demand or on a schedule."
            )
        rows = [streaming.flatten(e["payload"], int(e["replayId"])) for e in events]
        names = list(fields or dict.fromkeys(n for row in rows for n in row))
        table = pa.Table.from_pylist([{n: row.get(n) for n in names} for row in rows]) if rows else None
        table = table if table is not None else pa.table({})
        yield SourceBatch(table, bytes_read=sum(len(json.dumps(e["payload"])) for e in events))

    @staticmethod
    def _window_field(described: Mapping[str, catalog.Field], window: Window, entity: str) -> tuple[str, str]:
        name = window.field or next((n for n in catalog.INCREMENTAL_FIELDS if n in described), "")
        if name not in described or described[name].data_type not in ("date", "datetime"):
            usable = [n for n, f in described.items() if f.data_type == "datetime" and f.filterable]
            raise ConnectorError(
                f'The incremental timestamp field "{name}" is not a date/time field of the '
                f"Salesforce object {entity}. Use one of {', '.join(usable[:8]) or 'none'}."
            )
        return name, described[name].data_type

    def _use_bulk(
        self,
        api: SalesforceApi,
        entity: str,
        described: Mapping[str, catalog.Field],
        names: list[str],
        clauses: list[str],
        include_deleted: bool,
        transfer: str,
    ) -> tuple[bool, list[str]]:
        """Whether to read with Bulk API 2.0, and a warning when AUTOMATIC had to stay on REST."""
        if transfer not in TRANSFER_APIS:
            raise ConnectorError(f"dataTransferApi: must be one of {', '.join(TRANSFER_APIS)}.")
        compound = [n for n in names if described[n].compound]
        if transfer == "BULKV2":
            if compound:
                raise ConnectorError(
                    f"Bulk API 2.0 cannot read the compound fields {', '.join(compound)} of "
                    f"{entity}: leave them out of the flow (their parts, e.g. BillingCity, are "
                    "fields of their own) or choose REST_SYNC."
                )
            return True, []
        if transfer == "REST_SYNC":
            return False, []
        total = reading.count(api, soql.count(entity, clauses), include_deleted)
        if total < BULK_READ_THRESHOLD:
            return False, []
        if compound:
            return False, [
                f"{total} records of {entity} were read through the REST API, not Bulk API 2.0, "
                f"because the flow reads the compound fields {', '.join(compound)}."
            ]
        return True, []

    # writing --------------------------------------------------------------------------------

    def write(
        self, conn: ConnectionInfo, entity: str, batches: Iterable[pa.Table], options: Mapping[str, Any]
    ) -> WriteResult:
        operation = str(options.get("writeOperationType") or "INSERT")
        if operation not in writing.OPERATIONS:
            raise ConnectorError(f"writeOperationType: must be one of {', '.join(writing.OPERATIONS)}.")
        id_fields = list(options.get("idFieldNames") or [])
        if operation == "UPSERT" and not id_fields:
            raise ConnectorError(
                "idFieldNames: UPSERT into Salesforce needs the External ID field to match on."
            )
        transfer = str(options.get("dataTransferApi") or "AUTOMATIC")
        if transfer not in TRANSFER_APIS:
            raise ConnectorError(f"dataTransferApi: must be one of {', '.join(TRANSFER_APIS)}.")
        spool = writing.Spool(batches)  # the source may still fail: nothing is sent before it ends
        try:
            if not spool.rows:
                return WriteResult(location=f"Salesforce {entity}")
            api = SalesforceApi(conn)
            key = writing.key_field(operation, id_fields)
            described = catalog.describe(api, entity)
            writing.check_columns(entity, list(spool.columns), described, operation, key)
            kinds = {n: f.data_type for n, f in described.items()}
            writer = writing.Writer(api, entity, operation, key, options, kinds)
            missing = writer.local_failures(spool)
            if missing and writer.fail_first:
                writer.refuse(missing[0], " Nothing was written.")
            writer.result.failures.extend(missing)
            skip = {int(f.where.split()[-1]) for f in missing}
            bulk = transfer == "BULKV2" or (
                transfer == "AUTOMATIC" and spool.rows - len(skip) >= writing.BULK_WRITE_THRESHOLD
            )
            (writer.bulk if bulk else writer.collections)(spool, skip)
            return writer.result
        finally:
            spool.close()
