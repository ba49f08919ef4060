"""Salesforce Pardot (Account Engagement) as a source: the API v5 objects of one business unit over
Salesforce OAuth 2.0 (production or sandbox login), read with an explicit `fields=` list and
`nextPageToken` paging. Incremental runs push the window down as updatedAtAfterOrEqualTo /
updatedAtBeforeOrEqualTo (the end is exclusive in Sluice, inclusive in Pardot: records stamped
exactly at the end are dropped here); emails, which have no updatedAt, are windowed on sentAt here."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC
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
from connections.connectors.saas import TEXT_TIME_ARROW_TYPES, VALUE_OPERATORS, SaasConnector
from connections.connectors.windowing import in_window, unreadable_warning

from .catalog import OBJECTS, PardotObject
from .client import PardotApi, api_url, business_unit, login_url

PAGE_SIZE = 1000  # v5's largest `limit`


def _iso(moment) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _cell(value: Any, data_type: str) -> Any:
    if value is None:
        return None
    try:
        if data_type == "integer":
            return int(value)
        if data_type == "double":
            return float(value)
    except (TypeError, ValueError):
        return None
    if data_type == "boolean":
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1")
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class PardotConnector(SaasConnector):
    """One Pardot business unit as a source."""

    connector_type: ClassVar[str] = "Pardot"
    properties_key: ClassVar[str] = "Pardot"
    display_name: ClassVar[str] = "Salesforce Pardot"
    description: ClassVar[str] = (
        "Salesforce Pardot (Account Engagement) API v5: prospects, campaigns, lists, list memberships, "
        "opportunities, visitor activities, emails, forms and users of one business unit. Incremental "
        "runs read what changed since the last run (updatedAt)."
    )
    can_be_source: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "oauth2"
    # pardot_api: Pardot's own scope; refresh_token for runs after the access token expires
    oauth_scopes: ClassVar[tuple[str, ...]] = ("pardot_api", "refresh_token")
    oauth_client_auth: ClassVar[str] = "client_secret_post"  # as the Salesforce connector
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("businessUnitId", "string", "Pardot Business Unit ID",
                    help="In Salesforce: Setup, Pardot Account Setup. It starts with 0Uv and is 18 "
                         "characters long.", sends_credentials_to=False),
        ConfigField("isSandboxEnvironment", "boolean", "Sandbox", required=False, default=False,
                    help="On: log in at test.salesforce.com and read pi.demo.pardot.com. Off: "
                         "login.salesforce.com and pi.pardot.com.", sends_credentials_to=True),
        ConfigField("clientId", "string", "Client ID",
                    help="The Consumer Key of your Salesforce connected app. It needs Enable OAuth "
                         "Settings, the redirect URI Sluice shows beside this form as Callback URL, and "
                         "the scopes pardot_api and refresh_token, offline_access; set its refresh token "
                         "policy to Refresh token is valid until revoked."),
        ConfigField("clientSecret", "secret", "Client secret", secret=True,
                    help="The Consumer Secret of the same connected app. Stored encrypted; Sluice never "
                         "shows it again."),
        ConfigField("instanceUrl", "url", "Pardot API address", required=False,
                    help="Leave empty for pi.pardot.com (or pi.demo.pardot.com for a sandbox). Only to "
                         "reach Pardot through another address; the SSRF guard applies.",
                    sends_credentials_to=True),
        ConfigField("loginUrl", "url", "Login address", required=False,
                    help="Leave empty to log in at the environment's address. Give your My Domain "
                         "login address if your org requires it.", sends_credentials_to=True),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    fastest_schedule_minutes: ClassVar[int] = 1  # AppFlow: one run per minute at most
    filter_operators: ClassVar[tuple[str, ...]] = ("PROJECTION", "EQUAL_TO", *VALUE_OPERATORS)

    oauth_address = staticmethod(login_url)
    oauth_paths: ClassVar[tuple[str, str]] = ("/services/oauth2/authorize", "/services/oauth2/token")
    consent_page: ClassVar[str] = "Salesforce's login page"

    @classmethod
    def check_source_values(cls, props: Mapping[str, Any]) -> list[tuple[str, str]]:
        name = props.get("object")
        if not name:
            return [("object", f"is required ({', '.join(OBJECTS)})")]
        if name not in OBJECTS:
            return [("object", f'"{str(name)[:80]}" is not a Pardot object Sluice reads '
                               f'({", ".join(OBJECTS)})')]
        return []

    @classmethod
    def check_connection_properties(cls, properties: Mapping[str, Any]) -> list[str]:
        try:
            business_unit(properties)
            api_url(properties)
            login_url(properties)
        except ConnectorError as exc:
            return [exc.message]
        return []

    def test(self, conn: ConnectionInfo) -> None:
        business_unit(conn.properties)
        self.require_authorized(conn)
        # the cheapest authenticated call: one user, one field
        PardotApi(conn).get("objects/users", {"fields": "id", "limit": 1}, "the users of the business unit")

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        if parent:
            raise ConnectorError("Pardot objects have no children.")
        return [Entity(name, obj.label) for name, obj in OBJECTS.items()]

    @staticmethod
    def _object(entity: str) -> PardotObject:
        if entity not in OBJECTS:
            raise MissingAtSource(f'Pardot has no object "{entity}" that Sluice reads. It reads '
                                  f"{', '.join(OBJECTS)}.", entity=entity)
        return OBJECTS[entity]

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        obj = self._object(entity)
        return [EntityField(name, data_type, nullable=name != "id", primary_key=name == "id",
                            filter_operators=self.filter_operators,
                            timestamp_for_incremental=data_type == "datetime")
                for name, data_type in obj.fields]

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        obj = self._object(entity)
        types = dict(obj.fields)
        names = list(fields or types)
        unknown = [n for n in names if n not in types]
        if unknown:
            raise MissingAtSource(f"The Pardot object {entity} has no field {', '.join(unknown)}.",
                                  entity=entity, fields=unknown)
        stamp = window.field or obj.incremental
        if not window.is_open and types.get(stamp) != "datetime":
            raise ConnectorError(f'The incremental timestamp field "{stamp}" is not a date-time field of '
                                 f"the Pardot object {entity} (use {obj.incremental}).")
        # v5 returns only the fields asked for: the window's field comes too, then is dropped
        asked = list(dict.fromkeys([*names, *([stamp] if not window.is_open else [])]))
        params: dict[str, Any] = {"fields": ",".join(asked), "limit": PAGE_SIZE}
        if stamp == obj.incremental and obj.pushed_window:
            if window.start is not None:
                params[f"{stamp}AfterOrEqualTo"] = _iso(window.start)
            if window.end is not None:
                params[f"{stamp}BeforeOrEqualTo"] = _iso(window.end)
        schema = pa.schema([(n, TEXT_TIME_ARROW_TYPES[types[n]]) for n in asked])
        api = PardotApi(conn)
        page = 1
        while True:
            what = f"{entity} page {page}"
            body = api.get(f"objects/{obj.path}", params, what)
            records = body.get("values")
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise ConnectorError(f"Pardot answered {what} without a list of records (values); the "
                                     "run stops and nothing is published.")
            table = pa.Table.from_pylist([{n: _cell(r.get(n), types[n]) for n in asked} for r in records],
                                         schema=schema)
            warnings = []
            if not window.is_open:
                table, unreadable = in_window(table, Window(window.start, window.end, stamp))
                if unreadable:
                    warnings.append(unreadable_warning(unreadable, Window(window.start, window.end, stamp),
                                                       f"Pardot {what}"))
            yield SourceBatch(table=table.select(names), bytes_read=len(json.dumps(records)),
                              warnings=warnings)
            token = body.get("nextPageToken")
            if not token:
                return
            params, page = {"nextPageToken": token}, page + 1
