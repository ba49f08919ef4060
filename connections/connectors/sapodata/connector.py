"""SAP OData (source): the entity sets of the OData V2 and V4 services an SAP Gateway publishes,
with basic authentication or OAuth 2.0 authorization code (V2 only, as AppFlow's guide says), the
connection's `authentication` choosing. OAuth goes through Sluice's OAuth views (consent, callback,
refresh); the endpoints default to the Gateway's own (SAP's AS ABAP authorization server,
/sap/bc/sec/oauth2/authorize and /sap/bc/sec/oauth2/token).

Services come from the Gateway's catalog service (applicationServicePath: the V2
CATALOGSERVICE;v=2 ServiceCollection, or the V4 catalog's ServiceGroups); entity sets and their
properties from each service's $metadata (edmx.py). An object is `<service path>/<EntitySet>`
(AppFlow's objectPath). A read is `$select` of the chosen properties, `$filter` of the
pushed-down filters and the incremental window (query.py), ordered by the key, paged by
$top/$skip or by the service's own next links, with the total ($inlinecount / $count) as
progress; values converted exactly (values.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

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
from connections.connectors.saas import VALUE_OPERATORS, SaasConnector

from . import values
from .client import (
    BASIC,
    OAUTH2,
    SapApi,
    check_client,
    check_oauth,
    host_address,
    oauth_endpoints,
    service_path,
    uses_oauth,
)
from .edmx import EntitySet, Metadata
from .query import PUSHDOWN_OPERATORS, default_timestamp, filter_expression

ALL_OPERATORS = (
    "PROJECTION", "LESS_THAN", "CONTAINS", "GREATER_THAN", "BETWEEN", "LESS_THAN_OR_EQUAL_TO",
    "GREATER_THAN_OR_EQUAL_TO", "EQUAL_TO", "NOT_EQUAL_TO", *VALUE_OPERATORS,
)
SOURCE_KEYS = {"objectPath", "parallelismConfig", "paginationConfig"}  # botocore's SAPODataSourceProperties
MAX_PAGE_SIZE = 3000  # AppFlow's maximum for OData records (SAPODataPaginationConfig)
DEFAULT_PAGE_SIZE = 1000


def split_object_path(path: str) -> tuple[str, str]:
    """("/sap/opu/odata/sap/ZSALES_SRV", "SalesOrders") from the objectPath."""
    service, _, entity_set = str(path or "").rstrip("/").rpartition("/")
    if not service.startswith("/") or not entity_set or any(c in path for c in "?#'()") or ".." in path:
        raise ConnectorError(f'objectPath: "{str(path)[:120]}" is not <service path>/<entity set>, e.g. '
                             "/sap/opu/odata/sap/ZSALES_SRV/SalesOrders.")
    return service, entity_set


class SAPODataConnector(SaasConnector):
    """SAP OData as a source (AppFlow: source only)."""

    connector_type: ClassVar[str] = "SAPOData"
    properties_key: ClassVar[str] = "SAPOData"
    entity_key: ClassVar[str] = "objectPath"
    display_name: ClassVar[str] = "SAP OData"
    description: ClassVar[str] = (
        "SAP OData: the entity sets of the OData V2 and V4 services of your SAP Gateway (S/4HANA, "
        "NetWeaver 7.40 SP02 or later), found through its catalog service. Basic authentication or OAuth 2.0."
    )
    can_be_source: ClassVar[bool] = True
    # each connection's `authentication` chooses (auth_kind_for)
    auth_kind: ClassVar[str] = "per_connection"
    auth_kinds_offered: ClassVar[tuple[str, ...]] = ("basic", "oauth2")
    consent_page: ClassVar[str] = "the SAP logon page (Re-authorize on the connection's page)"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("applicationHostUrl", "string", "Application host URL",
                    help="Your SAP Gateway's address, e.g. https://sap.example.com.",
                    sends_credentials_to=True),
        ConfigField("applicationServicePath", "string", "Application service path",
                    help="The catalog service path, e.g. /sap/opu/odata/iwfnd/catalogservice;v=2 (V2) or "
                         "/sap/opu/odata4/iwfnd/config/default/iwfnd/catalog/0002 (V4).",
                    sends_credentials_to=True),
        ConfigField("portNumber", "integer", "Port number", help="e.g. 443.", sends_credentials_to=True),
        ConfigField("clientNumber", "string", "Client number", help="The three-digit SAP client, e.g. 100."),
        ConfigField("logonLanguage", "string", "Logon language", required=False,
                    help="Two letters, e.g. EN (optional)."),
        ConfigField("authentication", "choice", "Authentication", required=False,
                    choices=(BASIC, OAUTH2), default=BASIC,
                    help="Basic: a user name and password. OAuth2: authorization code through the SAP "
                         "logon page (OData V2 services only, as in AppFlow)."),
        # OAuth 2.0 (botocore's oAuthProperties and oAuthCredentials.clientId)
        ConfigField("authCodeUrl", "string", "Authorization code URL", required=False,
                    help="OAuth2 only. Leave blank for the Gateway's own, "
                         "<host>/sap/bc/sec/oauth2/authorize.",
                    # the browser goes there with the client ID; no secret is sent to it
                    sends_credentials_to=False),
        ConfigField("tokenUrl", "string", "Authorization tokens URL", required=False,
                    help="OAuth2 only. Leave blank for the Gateway's own, <host>/sap/bc/sec/oauth2/token.",
                    # the client secret and the refresh token go there
                    sends_credentials_to=True),
        ConfigField("oAuthScopes", "string", "OAuth scopes", required=False,
                    help="OAuth2 only. Separated by spaces, e.g. /IWFND/SG_MED_CATALOG_0002 "
                         "ZGWSAMPLE_BASIC_0001 (the scopes of the catalog and of each service)."),
        ConfigField("clientId", "string", "Client ID", required=False,
                    help="OAuth2 only. The OAuth 2.0 client registered in the Gateway (SOAUTH2)."),
        ConfigField("username", "string", "User name", required=False, secret=True,
                    help="Basic only. The SAP user Sluice signs in as. Stored encrypted."),
        ConfigField("password", "secret", "Password", required=False, secret=True,
                    help="Basic only. That user's password. Stored encrypted; Sluice never shows it again."),
        ConfigField("clientSecret", "secret", "Client secret", required=False, secret=True,
                    help="OAuth2 only. The OAuth 2.0 client's secret. Stored encrypted."),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    fastest_schedule_minutes: ClassVar[int] = 1
    filter_operators: ClassVar[tuple[str, ...]] = ALL_OPERATORS
    pushdown_operators: ClassVar[tuple[str, ...]] = PUSHDOWN_OPERATORS

    @classmethod
    def auth_kind_for(cls, properties: Mapping[str, Any]) -> str:
        return "oauth2" if uses_oauth(properties) else "basic"

    @classmethod
    def oauth_endpoints(cls, properties: Mapping[str, Any]) -> tuple[str, str]:
        return oauth_endpoints(properties)

    @classmethod
    def oauth_scopes_for(cls, properties: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(str(properties.get("oAuthScopes") or "").replace(",", " ").split())

    @classmethod
    def credential_address(cls, field: ConfigField, properties: Mapping[str, Any]) -> str:
        """A blank token URL is the Gateway's own: compared as the address it stands for."""
        if field.name == "tokenUrl" and uses_oauth(properties):
            try:
                return oauth_endpoints(properties)[1]
            except ConnectorError:
                pass
        return super().credential_address(field, properties)

    @classmethod
    def check_connection_properties(cls, properties: Mapping[str, Any]) -> list[str]:
        problems = []
        for check in (host_address, service_path, check_client, check_oauth):
            try:
                check(properties)
            except ConnectorError as exc:
                problems.append(exc.message)
        return problems

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        if not isinstance(props, Mapping):
            return [("", "must be a JSON object with objectPath (<service path>/<entity set>)")]
        problems = [(k, "is not a property of an SAP OData source") for k in props if k not in SOURCE_KEYS]
        try:
            split_object_path(props.get("objectPath") or "")
        except ConnectorError as exc:
            problems.append(("objectPath", exc.message.removeprefix("objectPath: ")))
        size = (props.get("paginationConfig") or {}).get("maxPageSize") if isinstance(
            props.get("paginationConfig"), Mapping) else None
        if size is not None and not (isinstance(size, int) and 1 <= size <= MAX_PAGE_SIZE):
            problems.append(("paginationConfig.maxPageSize",
                             f"must be a whole number from 1 to {MAX_PAGE_SIZE}"))
        return problems

    def test(self, conn: ConnectionInfo) -> None:
        if uses_oauth(conn.properties):
            self.require_authorized(conn)
        SapApi(conn).services()

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        api = SapApi(conn)
        if not parent:
            return [Entity(path, f"{title} [{path}]", has_children=True) for path, title in api.services()]
        service = parent.rstrip("/")
        return [Entity(f"{service}/{name}", name) for name in sorted(api.metadata(service).entity_sets)]

    def _entity_set(self, api: SapApi, entity: str) -> tuple[Metadata, EntitySet]:
        service, name = split_object_path(entity)
        metadata = api.metadata(service)
        if name not in metadata.entity_sets:
            raise MissingAtSource(f"The SAP OData service {service} has no entity set {name} (any more).",
                                  entity=entity)
        return metadata, metadata.entity_sets[name]

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        _, entity_set = self._entity_set(SapApi(conn), entity)
        stamp = default_timestamp(entity_set)
        return [EntityField(p.name, values.sluice_type(p), nullable=p.nullable and not p.key,
                            primary_key=p.key,
                            filter_operators=self.filter_operators,
                            timestamp_for_incremental=values.sluice_type(p) == "datetime" and (
                                stamp is None or p.name == stamp))
                for p in entity_set.properties]

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        api = SapApi(conn)
        metadata, entity_set = self._entity_set(api, entity)
        names = list(fields) if fields else [p.name for p in entity_set.properties]
        unknown = [n for n in names if entity_set.property(n) is None]
        if unknown:
            raise MissingAtSource(f"The SAP OData entity set {entity_set.name} has no property "
                                  f"{', '.join(unknown)} (any more).", entity=entity, fields=unknown)
        props = [entity_set.property(n) for n in names]
        schema = pa.schema([(p.name, values.arrow_type(p)) for p in props])
        version = metadata.version
        params: dict[str, Any] = {"$select": ",".join(names)}
        if version == "2":
            params.update({"$format": "json", "$inlinecount": "allpages"})
        else:
            params["$count"] = "true"
        expression = filter_expression(filters, window, entity_set, version)
        if expression:
            params["$filter"] = expression
        keys = [p.name for p in entity_set.properties if p.key]
        if keys:
            params["$orderby"] = ",".join(keys)  # a stable order for $skip paging
        size = ((options.get("paginationConfig") or {}).get("maxPageSize")
                if isinstance(options.get("paginationConfig"), Mapping) else None) or DEFAULT_PAGE_SIZE
        service, _ = split_object_path(entity)
        total_said = False
        for page in api.pages(f"{service}/{entity_set.name}", params, version, int(size),
                              f"{entity_set.name} of {service}"):
            columns = {p.name: [values.cell(r.get(p.name), p) for r in page.rows] for p in props}
            batch = SourceBatch(table=pa.Table.from_pydict(columns, schema=schema), bytes_read=page.size)
            if page.count is not None and not total_said:
                batch.notes.append(f"SAP OData: {page.count} records match in {entity_set.name}.")
                total_said = True
            yield batch
