"""Zendesk Support (source): tickets, users, organizations and ticket fields over OAuth 2.0.

Full reads page with Zendesk's cursor pagination (`page[size]`, `meta.has_more`, `links.next`);
incremental reads (a window start, or a GREATER_THAN on updated_at) use the incremental export
API from that start (`start_time`, then `cursor` until `end_of_stream`). Custom ticket fields
(`/api/v2/ticket_fields`, the removable ones) become columns `custom_field_<id>`, custom user
fields (`/api/v2/user_fields`) columns `user_field_<key>`, typed from their Zendesk type.
Writes (insert / update / upsert through the bulk endpoints and job statuses): writing.py."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import pyarrow as pa

from connections.connectors.base import (
    ConfigField,
    ConnectionInfo,
    Entity,
    EntityField,
    MissingAtSource,
    SourceBatch,
    Window,
    WriteResult,
)
from connections.connectors.saas import TEXT_TIME_ARROW_TYPES, VALUE_OPERATORS, SaasConnector

from . import writing
from .client import ZendeskApi, base_url

PAGE_SIZE = 100  # the cursor pagination maximum
INCREMENTAL_PAGE_SIZE = 1000  # the incremental export maximum
S, N, B, T = "string", "integer", "boolean", "datetime"

# Standard fields of each object, from Zendesk's JSON formats (lists and objects read as JSON text).
STANDARD: dict[str, tuple[tuple[str, str], ...]] = {
    "tickets": (
        ("id", N), ("url", S), ("external_id", S), ("type", S), ("subject", S), ("raw_subject", S),
        ("description", S), ("priority", S), ("status", S), ("recipient", S), ("requester_id", N),
        ("submitter_id", N), ("assignee_id", N), ("organization_id", N), ("group_id", N),
        ("collaborator_ids", S), ("follower_ids", S), ("problem_id", N), ("has_incidents", B),
        ("is_public", B), ("due_at", T), ("tags", S), ("via", S), ("satisfaction_rating", S),
        ("brand_id", N), ("ticket_form_id", N), ("created_at", T), ("updated_at", T),
    ),
    "users": (
        ("id", N), ("url", S), ("name", S), ("email", S), ("phone", S), ("role", S), ("time_zone", S),
        ("locale", S), ("organization_id", N), ("external_id", S), ("alias", S), ("active", B),
        ("verified", B), ("suspended", B), ("shared", B), ("tags", S), ("notes", S), ("details", S),
        ("last_login_at", T), ("created_at", T), ("updated_at", T),
    ),
    "organizations": (
        ("id", N), ("url", S), ("name", S), ("external_id", S), ("domain_names", S), ("details", S),
        ("notes", S), ("group_id", N), ("shared_tickets", B), ("shared_comments", B), ("tags", S),
        ("created_at", T), ("updated_at", T),
    ),
    "ticket_fields": (
        ("id", N), ("url", S), ("type", S), ("title", S), ("description", S), ("position", N),
        ("active", B), ("required", B), ("removable", B), ("visible_in_portal", B),
        ("editable_in_portal", B), ("custom_field_options", S), ("created_at", T), ("updated_at", T),
    ),
    "satisfaction_ratings": (
        ("id", N), ("url", S), ("assignee_id", N), ("group_id", N), ("requester_id", N), ("ticket_id", N),
        ("score", S), ("comment", S), ("reason", S), ("reason_id", N), ("reason_code", N),
        ("created_at", T), ("updated_at", T),
    ),
}
LABELS = {"tickets": "Tickets", "users": "Users", "organizations": "Organizations",
          "ticket_fields": "Ticket fields", "satisfaction_ratings": "Satisfaction ratings"}
# Zendesk field type -> Sluice data type (everything else is text)
CUSTOM_TYPES = {"integer": N, "decimal": "double", "checkbox": B, "date": "date", "lookup": N}
# The incremental export of each object: (path, cursor based?)
INCREMENTAL = {"tickets": ("api/v2/incremental/tickets/cursor.json", True),
               "users": ("api/v2/incremental/users/cursor.json", True),
               "organizations": ("api/v2/incremental/organizations.json", False)}


def _epoch(text: str) -> int | None:
    try:
        when = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def _cell(value: Any, data_type: str) -> Any:
    if value is None:
        return None
    if data_type == "string":
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if data_type == N:
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    if data_type == "double":
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    if data_type == B:
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes")
    return str(value)


class ZendeskConnector(SaasConnector):
    """Zendesk Support as a source and a destination (tickets, users, organizations)."""

    connector_type: ClassVar[str] = "Zendesk"
    properties_key: ClassVar[str] = "Zendesk"
    display_name: ClassVar[str] = "Zendesk"
    description: ClassVar[str] = (
        "Zendesk Support: tickets, users, organizations and ticket fields, with your custom fields. "
        "Incremental runs use Zendesk's incremental export. As a destination: insert, update or upsert "
        "tickets, users and organizations."
    )
    can_be_source: ClassVar[bool] = True
    can_be_destination: ClassVar[bool] = True
    write_operations: ClassVar[tuple[str, ...]] = writing.OPERATIONS
    auth_kind: ClassVar[str] = "oauth2"
    oauth_scopes: ClassVar[tuple[str, ...]] = ("read", "write")
    # Zendesk's /oauth/tokens takes client_id and client_secret in the request body
    oauth_client_auth: ClassVar[str] = "client_secret_post"
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("subdomain", "string", "Account",
                    help='The name of your Zendesk instance: the "acme" of acme.zendesk.com.',
                    sends_credentials_to=True),
        ConfigField("clientId", "string", "Client ID",
                    help="In Zendesk: Admin Center, Apps and integrations, APIs, Zendesk API, OAuth "
                         "Clients; the Unique identifier of the client you created for Sluice."),
        ConfigField("clientSecret", "secret", "Client secret", secret=True,
                    help="The secret of the same OAuth client. Stored encrypted; Sluice never shows it "
                         "again."),
        ConfigField("baseUrl", "url", "API address (optional)", required=False,
                    help="Leave empty. Only to reach Zendesk through another address (a proxy, a test "
                         "server); the SSRF guard applies.", sends_credentials_to=True),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    filter_operators: ClassVar[tuple[str, ...]] = ("PROJECTION", "GREATER_THAN", *VALUE_OPERATORS)
    pushdown_operators: ClassVar[tuple[str, ...]] = ("GREATER_THAN",)

    oauth_address = staticmethod(base_url)
    oauth_paths: ClassVar[tuple[str, str]] = ("oauth/authorizations/new", "oauth/tokens")
    consent_page: ClassVar[str] = "Zendesk's consent page"

    @classmethod
    def check_source_values(cls, props: Mapping[str, Any]) -> list[tuple[str, str]]:
        if not props.get("object"):
            return [("object", f"is required ({', '.join(STANDARD)})")]
        if props["object"] not in STANDARD:
            return [("object", f'"{props["object"]}" is not a Zendesk object Sluice reads '
                               f"({', '.join(STANDARD)})")]
        return []

    @classmethod
    def check_destination_properties(cls, props: Any) -> list[tuple[str, str]]:
        return writing.check_properties(props)

    def write(self, conn: ConnectionInfo, entity: str, batches: Iterable[pa.Table],
              options: Mapping[str, Any]) -> WriteResult:
        return writing.write(ZendeskApi(conn), entity, batches, options)

    def test(self, conn: ConnectionInfo) -> None:
        self.require_authorized(conn)
        ZendeskApi(conn).get("api/v2/users/me.json")

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        return [Entity(name, LABELS[name]) for name in STANDARD]

    def _custom_fields(self, api: ZendeskApi, entity: str) -> list[tuple[str, str, Any]]:
        """(column, data type, how to find the value) of the entity's custom fields."""
        if entity == "tickets":
            found = []
            for f in self._all(api, "api/v2/ticket_fields.json", "ticket_fields"):
                if f.get("removable") and f.get("id") is not None:
                    data_type = CUSTOM_TYPES.get(str(f.get("type")), S)
                    found.append((f"custom_field_{f['id']}", data_type, f["id"]))
            return found
        if entity == "users":
            return [(f"user_field_{f['key']}", CUSTOM_TYPES.get(str(f.get("type")), S), f["key"])
                    for f in self._all(api, "api/v2/user_fields.json", "user_fields") if f.get("key")]
        return []

    def _schema(self, api: ZendeskApi, entity: str,
                ) -> tuple[list[tuple[str, str]], list[tuple[str, str, Any]]]:
        if entity not in STANDARD:
            raise MissingAtSource(f'Zendesk has no object "{entity}" that Sluice reads. It reads '
                                  f"{', '.join(STANDARD)}.", entity=entity)
        return list(STANDARD[entity]), self._custom_fields(api, entity)

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        standard, custom = self._schema(ZendeskApi(conn), entity)
        return [
            EntityField(name, data_type, nullable=name != "id", primary_key=name == "id",
                        filter_operators=self.filter_operators if name == "updated_at" else
                        tuple(o for o in self.filter_operators if o != "GREATER_THAN"),
                        timestamp_for_incremental=name in ("created_at", "updated_at"))
            for name, data_type in [*standard, *[(c, t) for c, t, _ in custom]]
        ]

    def _all(self, api: ZendeskApi, path: str, key: str) -> Iterator[dict]:
        for page in self._pages(api, path, key):
            yield from page

    def _pages(self, api: ZendeskApi, path: str, key: str) -> Iterator[list[dict]]:
        """Cursor pagination: page[size], then links.next while meta.has_more."""
        body = api.get(path, {"page[size]": PAGE_SIZE})
        while True:
            yield list(body.get(key) or [])
            meta, links = body.get("meta") or {}, body.get("links") or {}
            if not meta.get("has_more") or not links.get("next"):
                return
            body = api.get_url(links["next"], path)

    def _incremental_pages(self, api: ZendeskApi, entity: str, start: int) -> Iterator[list[dict]]:
        path, cursor_based = INCREMENTAL[entity]
        # Zendesk refuses a start_time less than a minute old
        start = max(0, min(start, int(datetime.now(UTC).timestamp()) - 60))
        body = api.get(path, {"start_time": start, "per_page": INCREMENTAL_PAGE_SIZE})
        while True:
            yield list(body.get(entity) or [])
            if body.get("end_of_stream"):
                return
            if cursor_based:
                if not body.get("after_cursor"):
                    return
                body = api.get(path, {"cursor": body["after_cursor"], "per_page": INCREMENTAL_PAGE_SIZE})
            else:
                if not body.get("next_page"):
                    return
                body = api.get_url(body["next_page"], path)

    @staticmethod
    def _start(window: Window, filters: list[Mapping[str, Any]]) -> int | None:
        """Where the incremental export starts: the window's start, or a pushed-down
        GREATER_THAN on updated_at (the later of the two); None: a full read. A window on
        created_at starts there too: a record created after a time was updated after it."""
        starts = []
        if window.start is not None and window.field in (None, "updated_at", "created_at"):
            start = window.start if window.start.tzinfo else window.start.replace(tzinfo=UTC)
            starts.append(int(start.timestamp()))
        for f in filters:
            if f.get("field") == "updated_at" and f.get("operator") == "GREATER_THAN" and f.get("values"):
                when = _epoch(str(f["values"][0]))
                if when is not None:
                    starts.append(when)
        return max(starts) if starts else None

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        api = ZendeskApi(conn)
        standard, custom = self._schema(api, entity)
        types = {name: t for name, t in standard} | {c: t for c, t, _ in custom}
        names = fields or list(types)
        unknown = [n for n in names if n not in types]
        if unknown:
            raise MissingAtSource(f"The Zendesk object {entity} has no field {', '.join(unknown)} "
                                  "(any more).", entity=entity, fields=unknown)
        schema = pa.schema([(n, TEXT_TIME_ARROW_TYPES[types[n]]) for n in names])
        ticket_custom = {c: key for c, _, key in custom if entity == "tickets"}
        user_custom = {c: key for c, _, key in custom if entity == "users"}

        def row(record: Mapping[str, Any]) -> dict[str, Any]:
            values = {}
            if ticket_custom:
                values = {f.get("id"): f.get("value") for f in record.get("custom_fields") or []}
            user_values = record.get("user_fields") or {}
            out = {}
            for n in names:
                if n in ticket_custom:
                    raw = values.get(ticket_custom[n])
                elif n in user_custom:
                    raw = user_values.get(user_custom[n])
                else:
                    raw = record.get(n)
                out[n] = _cell(raw, types[n])
            return out

        start = self._start(window, filters) if entity in INCREMENTAL else None
        pages = (self._pages(api, f"api/v2/{entity}.json", entity) if start is None
                 else self._incremental_pages(api, entity, start))
        for records in pages:
            raw = json.dumps(records).encode()
            table = pa.Table.from_pylist([row(r) for r in records], schema=schema)
            yield SourceBatch(table=table, bytes_read=len(raw))
