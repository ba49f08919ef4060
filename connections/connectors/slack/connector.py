"""The Slack connector: entities, their fields, and reads with cursor paging and the incremental
window pushed down to conversations.history as oldest/latest."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
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
from connections.connectors.records import as_json, at
from connections.connectors.saas import VALUE_OPERATORS, SaasConnector
from connections.connectors.windowing import in_window, unreadable_warning

from .api import DEFAULT_INSTANCE_URL, SlackApi, instance_url

PAGE_SIZE = 200  # Slack recommends no more than 200 per page (its maximum is 1000)
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
ARROW_TYPES = {"string": pa.string(), "integer": pa.int64(), "double": pa.float64(), "boolean": pa.bool_(),
               "datetime": pa.timestamp("us", tz="UTC")}


def _epoch(value: Any) -> datetime | None:
    """Slack's times (epoch seconds as a number, or a ts text like "1512085950.000216") as UTC."""
    if value in (None, "", 0, "0"):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


# entity kind -> (field, type, getter, primary key, usable for incremental)
Spec = tuple[str, str, Callable[[Mapping[str, Any]], Any], bool, bool]
CONVERSATION_FIELDS: tuple[Spec, ...] = (
    ("id", "string", at("id"), True, False),
    ("name", "string", at("name"), False, False),
    ("is_channel", "boolean", at("is_channel"), False, False),
    ("is_group", "boolean", at("is_group"), False, False),
    ("is_private", "boolean", at("is_private"), False, False),
    ("is_archived", "boolean", at("is_archived"), False, False),
    ("is_general", "boolean", at("is_general"), False, False),
    ("is_member", "boolean", at("is_member"), False, False),
    ("created", "datetime", lambda r: _epoch(r.get("created")), False, True),
    ("creator", "string", at("creator"), False, False),
    ("topic", "string", at("topic", "value"), False, False),
    ("purpose", "string", at("purpose", "value"), False, False),
    ("num_members", "integer", at("num_members"), False, False),
)
MESSAGE_FIELDS: tuple[Spec, ...] = (
    ("ts", "datetime", lambda r: _epoch(r.get("ts")), True, True),
    ("message_ts", "string", at("ts"), False, False),  # the exact ts text, Slack's message id
    ("channel", "string", at("channel"), False, False),
    ("type", "string", at("type"), False, False),
    ("subtype", "string", at("subtype"), False, False),
    ("user", "string", at("user"), False, False),
    ("bot_id", "string", at("bot_id"), False, False),
    ("text", "string", at("text"), False, False),
    ("thread_ts", "string", at("thread_ts"), False, False),
    ("reply_count", "integer", at("reply_count"), False, False),
    ("latest_reply", "datetime", lambda r: _epoch(r.get("latest_reply")), False, False),
    ("edited_at", "datetime", lambda r: _epoch(at("edited", "ts")(r)), False, False),
    ("reactions", "string", as_json("reactions"), False, False),
    ("files", "string", as_json("files"), False, False),
)
USER_FIELDS: tuple[Spec, ...] = (
    ("id", "string", at("id"), True, False),
    ("team_id", "string", at("team_id"), False, False),
    ("name", "string", at("name"), False, False),
    ("real_name", "string", at("real_name"), False, False),
    ("display_name", "string", at("profile", "display_name"), False, False),
    ("email", "string", at("profile", "email"), False, False),
    ("title", "string", at("profile", "title"), False, False),
    ("deleted", "boolean", at("deleted"), False, False),
    ("is_admin", "boolean", at("is_admin"), False, False),
    ("is_owner", "boolean", at("is_owner"), False, False),
    ("is_bot", "boolean", at("is_bot"), False, False),
    ("is_restricted", "boolean", at("is_restricted"), False, False),
    ("tz", "string", at("tz"), False, False),
    ("updated", "datetime", lambda r: _epoch(r.get("updated")), False, True),
)


def _coerce(value: Any, data_type: str) -> Any:
    """Slack sometimes sends a number where a text is expected and the other way round."""
    if value is None:
        return None
    if data_type == "string" and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
    if data_type == "integer" and not isinstance(value, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    if data_type == "boolean" and not isinstance(value, bool):
        return None
    return value


class SlackConnector(SaasConnector):
    """Reads a Slack workspace as the user who authorized the connection (source only)."""

    connector_type: ClassVar[str] = "Slack"
    properties_key: ClassVar[str] = "Slack"
    display_name: ClassVar[str] = "Slack"
    description: ClassVar[str] = (
        "Channels, their messages and the users of a Slack workspace, read with the permissions of the "
        "Slack user who authorizes the connection (OAuth v2 user token)."
    )
    can_be_source: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "oauth2"
    oauth_scopes: ClassVar[tuple[str, ...]] = (
        "channels:history", "channels:read", "groups:history", "groups:read",
        "im:history", "im:read", "mpim:history", "mpim:read",
    )
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("clientId", "string", "Client ID",
                    help="In Slack: Administration, Manage Apps, Build, Your Apps, your app, "
                         "Basic Information, App Credentials."),
        ConfigField("clientSecret", "secret", "Client secret", secret=True,
                    help="From the same App Credentials section. Stored encrypted; Sluice never "
                         "shows it again."),
        ConfigField("instanceUrl", "url", "Workspace", required=False, default=DEFAULT_INSTANCE_URL,
                    help="Your Slack workspace, e.g. https://example.slack.com. The Web API and the "
                         "consent page are reached through it.", sends_credentials_to=True),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    fastest_schedule_minutes: ClassVar[int] = 1
    filter_operators: ClassVar[tuple[str, ...]] = ("PROJECTION", "BETWEEN", "EQUAL_TO", *VALUE_OPERATORS)

    oauth_scope_param: ClassVar[str] = "user_scope"  # user token scopes, not a bot's

    @classmethod
    def oauth_token_payload(cls, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """oauth.v2.access puts a user token in authed_user (access_token, and with token rotation
        refresh_token and expires_in); a refresh answers with them at the top."""
        user = payload.get("authed_user")
        if isinstance(user, Mapping) and user.get("access_token"):
            return user
        return payload

    oauth_address = staticmethod(instance_url)
    oauth_paths: ClassVar[tuple[str, str]] = ("/oauth/v2/authorize", "/api/oauth.v2.access")
    consent_page: ClassVar[str] = "Slack's consent page"

    @classmethod
    def check_source_values(cls, props: Mapping[str, Any]) -> list[tuple[str, str]]:
        name = props.get("object")
        if not name:
            return [("object", "is required (conversations, users or conversations/<channel id>)")]
        try:
            _kind(str(name))
        except ConnectorError as exc:
            return [("object", exc.message)]
        return []

    def test(self, conn: ConnectionInfo) -> None:
        self.require_authorized(conn)
        SlackApi(conn).call("auth.test")

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        if parent in (None, ""):
            return [Entity("conversations", "Conversations (channels)", has_children=True),
                    Entity("users", "Users")]
        if parent != "conversations":
            raise ConnectorError(f'Slack has nothing under "{parent}"; only conversations has children.')
        return [Entity(f"conversations/{c['id']}", f"#{c.get('name') or c['id']}")
                for c in self._conversations(SlackApi(conn))]

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        return [EntityField(name, data_type, nullable=not pk, primary_key=pk, timestamp_for_incremental=incr)
                for name, data_type, _, pk, incr in _specs(_kind(entity)[0])]

    def read(self, conn: ConnectionInfo, entity: str, fields: list[str] | None,
             filters: list[Mapping[str, Any]], window: Window, options: Mapping[str, Any],
             ) -> Iterator[SourceBatch]:
        """One batch per page. For messages the window goes to Slack as oldest/latest; every entity's
        rows are also kept to the window here (start inclusive, end exclusive)."""
        kind, channel = _kind(entity)
        specs = {s[0]: s for s in _specs(kind)}
        names = fields or list(specs)
        unknown = [n for n in names if n not in specs]
        if unknown:
            raise MissingAtSource(f"Slack {kind} have no field {', '.join(unknown)}. "
                                  f"Fields: {', '.join(specs)}.", entity=entity, fields=unknown)
        incremental = [s[0] for s in specs.values() if s[4]]
        window_field = window.field or incremental[0]
        if not window.is_open:
            if window_field not in specs or specs[window_field][1] != "datetime":
                raise ConnectorError(f'The incremental timestamp field "{window_field}" is not a time '
                                     f"field of Slack {kind}. Use {', '.join(incremental)}.")
            window = Window(window.start, window.end, window_field)
        columns = list(dict.fromkeys(names + ([window_field] if not window.is_open else [])))
        schema = pa.schema([(n, ARROW_TYPES[specs[n][1]]) for n in columns])
        api = SlackApi(conn)
        for page, raw in self._pages(api, kind, channel, window if window_field == "ts" else Window()):
            rows = [{n: _coerce(specs[n][2](r), specs[n][1]) for n in columns} for r in page]
            table = pa.Table.from_pylist(rows, schema=schema)
            warnings = []
            if not window.is_open:
                table, unreadable = in_window(table, window)
                if unreadable:
                    warnings.append(unreadable_warning(unreadable, window, entity))
            yield SourceBatch(table=table.select(names), bytes_read=raw, warnings=warnings)

    def _pages(self, api: SlackApi, kind: str, channel: str, window: Window,
               ) -> Iterator[tuple[list[dict], int]]:
        if kind == "conversations":
            for page in api.pages("conversations.list", _list_params()):
                yield page.get("channels") or [], len(json.dumps(page))
        elif kind == "users":
            for page in api.pages("users.list", {"limit": PAGE_SIZE}):
                yield page.get("members") or [], len(json.dumps(page))
        else:
            params: dict[str, Any] = {"channel": channel, "limit": PAGE_SIZE}
            if window.start is not None:
                params["oldest"] = f"{window.start.timestamp():.6f}"
            if window.end is not None:
                params["latest"] = f"{window.end.timestamp():.6f}"
            if window.start is not None or window.end is not None:
                params["inclusive"] = "true"  # the exclusive end is kept here, by in_window
            for page in api.pages("conversations.history", params, subject=channel):
                yield [{**m, "channel": channel} for m in page.get("messages") or []], len(json.dumps(page))

    def _conversations(self, api: SlackApi) -> list[dict]:
        pages = api.pages("conversations.list", _list_params())
        return [c for page in pages for c in page.get("channels") or []]


def _list_params() -> dict[str, Any]:
    return {"types": "public_channel,private_channel", "exclude_archived": "false", "limit": PAGE_SIZE}


def _kind(entity: str) -> tuple[str, str]:
    """("conversations" | "users" | "messages", channel id for messages)."""
    if entity in ("conversations", "users"):
        return entity, ""
    prefix, _, channel = entity.partition("/")
    if prefix == "conversations" and CHANNEL_ID.match(channel):
        return "messages", channel
    raise ConnectorError(f'Slack has no object "{entity}". Use conversations, users, or '
                         "conversations/<channel id> (e.g. conversations/C012AB3CD) for a channel's "
                         "messages.")


def _specs(kind: str) -> tuple[Spec, ...]:
    return {"conversations": CONVERSATION_FIELDS, "users": USER_FIELDS, "messages": MESSAGE_FIELDS}[kind]
