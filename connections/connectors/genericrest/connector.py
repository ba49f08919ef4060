"""Generic REST: a source described by a spec instead of code. The connection holds the spec (JSON
or YAML, checked against schema.json) and the secrets its auth section needs; each stream of the
spec is an object of the connection, read page by page into batches.

Decisions a person meets:
- A records expression that selects nothing (the key is absent: JMESPath answers null) fails the
  run naming the stream, the page and the keys the answer has; an empty list is an empty page.
- Fields are the stream's declared ones, or inferred from the first page ("Refresh metadata" on
  the connection asks again; the wizard's field list shows what was inferred).
- Incremental: the window goes out as the stream's window says, and records outside it are
  dropped here too (a `since` is often only a lower bound)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import jmespath
import pyarrow as pa

from connections.connectors.base import (
    ConfigField,
    ConnectionInfo,
    Connector,
    ConnectorError,
    Entity,
    EntityField,
    MissingAtSource,
    SourceBatch,
    Window,
)
from connections.connectors.saas import TEXT_TIME_ARROW_TYPES, VALUE_OPERATORS

from . import spec as specs
from .api import RestApi
from .paging import pages

RECORD_OPERATORS = (
    "PROJECTION",
    "LESS_THAN",
    "GREATER_THAN",
    "CONTAINS",
    "BETWEEN",
    "LESS_THAN_OR_EQUAL_TO",
    "GREATER_THAN_OR_EQUAL_TO",
    "EQUAL_TO",
    "NOT_EQUAL_TO",
)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# which secrets each auth type needs, as (credential, label)
NEEDED = {
    "api_key": [("apiKey", "API key or token")],
    "bearer": [("apiKey", "API key or token")],
    "basic": [("password", "Password")],
    "oauth2_client_credentials": [("clientSecret", "Client secret")],
    "oauth2": [("clientSecret", "Client secret")],
}


def infer_type(values: list[Any]) -> str:
    """The Sluice data type of a field from the values a sample had (None values say nothing)."""
    kinds = set()
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool):
            kinds.add("boolean")
        elif isinstance(value, int):
            kinds.add("integer")
        elif isinstance(value, float):
            kinds.add("double")
        elif isinstance(value, str) and _ISO.match(value):
            kinds.add("datetime")
        elif isinstance(value, str) and _DATE.match(value):
            kinds.add("date")
        else:
            kinds.add("string")
    if kinds == {"integer", "double"}:
        return "double"
    return kinds.pop() if len(kinds) == 1 else "string"


def _getter(field: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], Any]:
    path = field.get("path") or field["name"]
    if _PLAIN_KEY.match(path):
        return lambda record: record.get(path)
    compiled = jmespath.compile(path)
    return compiled.search


def _text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)


def _coerce(value: Any, data_type: str) -> Any:
    if value is None:
        return None
    if data_type in ("string", "date", "datetime"):
        return _text(value)
    if data_type == "boolean":
        return value if isinstance(value, bool) else None
    try:
        number = float(value) if data_type == "double" else int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return None if isinstance(value, bool) else number


def _column(values: list[Any], data_type: str) -> pa.Array:
    arrow_type = TEXT_TIME_ARROW_TYPES[data_type]
    if arrow_type == pa.string():
        # objects and lists become JSON text in one pass (a failed pa.array costs more than this)
        return pa.array([v if v is None or v.__class__ is str else _text(v) for v in values], arrow_type)
    try:
        return pa.array(values, arrow_type)  # the common case: the service sent the declared types
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([_coerce(v, data_type) for v in values], arrow_type)


def moment(value: Any, fmt: str) -> datetime | None:
    """A cursor field's value as a time: ISO 8601 text, or an epoch number (seconds, or ms for
    unix_ms); None when it cannot be read."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / (1000 if fmt == "unix_ms" else 1), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        if value.isdigit():
            return moment(int(value), fmt)
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


class GenericRestConnector(Connector):
    """A JSON API described by a spec (source only)."""

    connector_type: ClassVar[str] = "CustomConnector"
    connector_label: ClassVar[str] = "GenericREST"
    properties_key: ClassVar[str] = "CustomConnector"
    display_name: ClassVar[str] = "Generic REST"
    description: ClassVar[str] = (
        "Any JSON API, described by a spec instead of code: base URL, authentication, streams with their "
        "paths, record selectors (JMESPath), paging, incremental windows and rate limits."
    )
    can_be_source: ClassVar[bool] = True
    # every change of the spec is kept (connections.models.SpecVersion) and can be exported
    versioned_field: ClassVar[str] = "spec"
    # decided by each connection's spec (auth_kind_for); the catalog says so
    auth_kind: ClassVar[str] = "per_connection"
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    filter_operators: ClassVar[tuple[str, ...]] = (*RECORD_OPERATORS, *VALUE_OPERATORS)
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField(
            "spec",
            "text",
            "Spec (JSON or YAML)",
            help="Describes the API: base_url, auth, streams, paging, rate limits. See Generic REST in "
            "the docs for the format and worked examples. Never put a key, token or password in the spec "
            "(Sluice refuses one that holds them; specs are versioned and exported): type them in the "
            "secret fields below, stored encrypted.",
            # where credentials go is the spec's base_url and token / authorize URLs:
            # credential_address() compares those, not the whole text
            sends_credentials_to=True,
        ),
        ConfigField(
            "username",
            "string",
            "User name",
            required=False,
            help="For auth type basic.",
            sends_credentials_to=False,
        ),
        ConfigField(
            "clientId",
            "string",
            "OAuth client ID",
            required=False,
            help="For auth types oauth2 and oauth2_client_credentials.",
        ),
        ConfigField(
            "apiKey",
            "secret",
            "API key or token",
            required=False,
            secret=True,
            help="For auth types api_key and bearer.",
        ),
        ConfigField(
            "password", "secret", "Password", required=False, secret=True, help="For auth type basic."
        ),
        ConfigField(
            "clientSecret",
            "secret",
            "OAuth client secret",
            required=False,
            secret=True,
            help="For auth types oauth2 and oauth2_client_credentials.",
        ),
    )

    # --- what the connection's spec decides -------------------------------------------------------

    @classmethod
    def auth_kind_for(cls, properties: Mapping[str, Any]) -> str:
        return specs.auth_kind(properties.get("spec"))

    @classmethod
    def oauth_endpoints(cls, properties: Mapping[str, Any]) -> tuple[str, str]:
        auth = specs.load(properties.get("spec")).auth
        return str(auth.get("authorize_url") or ""), str(auth.get("token_url") or "")

    @classmethod
    def oauth_scopes_for(cls, properties: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(specs.load(properties.get("spec")).auth.get("scopes") or ())

    @classmethod
    def oauth_client_auth_for(cls, properties: Mapping[str, Any]) -> str:
        return str(specs.load(properties.get("spec")).auth.get("client_auth") or cls.oauth_client_auth)

    @classmethod
    def credential_address(cls, field: ConfigField, properties: Mapping[str, Any]) -> str:
        """Where the spec sends credentials: base_url's host and the auth section's placement and
        URLs. Editing a stream keeps the secrets; moving the host clears them."""
        if field.name != "spec":
            return super().credential_address(field, properties)
        try:
            spec = specs.load(properties.get("spec"))
        except specs.SpecError:
            return str(properties.get("spec") or "")
        from .api import origin

        auth = spec.auth
        return json.dumps(
            [
                origin(spec.base_url),
                auth.get("type"),
                auth.get("name"),
                auth.get("in"),
                auth.get("token_url"),
                auth.get("authorize_url"),
            ]
        )

    @classmethod
    def check_connection_properties(cls, properties: Mapping[str, Any]) -> list[str]:
        try:
            specs.load(properties.get("spec"))
        except specs.SpecError as exc:
            return [f"spec: {p}" for p in exc.problems]
        return []

    @classmethod
    def entity_name(cls, props: Mapping[str, Any]) -> str:
        return str(props.get("entityName") or "") if isinstance(props, Mapping) else ""

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        if not isinstance(props, Mapping):
            return [("", "must be a JSON object")]
        problems = [
            (k, "is not a property of a Generic REST source (only entityName, the stream)")
            for k in props
            if k not in ("entityName", "customProperties")
        ]
        if not props.get("entityName"):
            problems.append(("entityName", "is required: the name of one of the spec's streams"))
        return problems

    # --- the connector interface ------------------------------------------------------------------

    def _spec(self, conn: ConnectionInfo) -> specs.Spec:
        spec = specs.load(conn.properties.get("spec"))
        kind = spec.auth["type"]
        missing = [label for name, label in NEEDED.get(kind, []) if not conn.credentials.get(name)]
        if kind == "oauth2" and not conn.credentials.get("accessToken"):
            raise ConnectorError(
                "The connection is not authorized yet: choose Re-authorize (or save the form) to "
                "go through the service's consent page."
            )
        if missing:
            raise ConnectorError(
                f"The spec's auth type {kind} needs {', '.join(missing)}: enter it on the connection."
            )
        if kind == "basic" and not conn.properties.get("username"):
            raise ConnectorError(
                "The spec's auth type basic needs the User name: enter it on the connection."
            )
        return spec

    def test(self, conn: ConnectionInfo) -> None:
        """The first page of the first stream: the credentials, the host and the records expression."""
        spec = self._spec(conn)
        stream = next(iter(spec.streams.values()))
        api = RestApi(conn, spec)
        for answer, _ in pages(api, stream, Window()):
            _records(answer, stream, 1)
            return

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        spec = specs.load(conn.properties.get("spec"))
        return [Entity(name, str(s.get("label") or name)) for name, s in spec.streams.items()]

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        spec = self._spec(conn)
        stream = spec.stream(entity)
        return [self._field(stream, f) for f in self._fields(conn, spec, stream)]

    @staticmethod
    def _field(stream: Mapping[str, Any], field: Mapping[str, Any]) -> EntityField:
        name = field["name"]
        return EntityField(
            name,
            field.get("type", "string"),
            primary_key=name in (stream.get("primary_key") or []),
            filter_operators=RECORD_OPERATORS,
            timestamp_for_incremental=name == stream.get("cursor_field"),
        )

    def _fields(self, conn: ConnectionInfo, spec: specs.Spec, stream: Mapping[str, Any]) -> list[dict]:
        if stream.get("fields"):
            found = [{"type": "string", **f} for f in stream["fields"]]
            self.fields_note = f"{_count(len(found), 'field')} declared in the spec's stream " \
                               f"{stream['name']}."
            return found
        api = RestApi(conn, spec)
        for answer, _ in pages(api, stream, Window()):
            records = _records(answer, stream, 1)
            found = infer_fields(records)
            listed = ", ".join(f"{f['name']} {f['type']}" for f in found[:NOTE_FIELDS])
            more = f" and {len(found) - NOTE_FIELDS} more" if len(found) > NOTE_FIELDS else ""
            self.fields_note = (f"Inferred {_count(len(found), 'field')} from "
                                f"{_count(len(records), 'record')} of page 1: {listed}{more}." if found else
                                f"Page 1 of {stream['name']} had no records, so no fields could be inferred: "
                                "declare them in the spec (streams[].fields).")
            return found
        return []

    def read(
        self,
        conn: ConnectionInfo,
        entity: str,
        fields: list[str] | None,
        filters: list[Mapping[str, Any]],
        window: Window,
        options: Mapping[str, Any],
    ) -> Iterator[SourceBatch]:
        spec = self._spec(conn)
        stream = spec.stream(entity)
        api = RestApi(conn, spec)
        declared = {f["name"]: {"type": "string", **f} for f in stream.get("fields") or []}
        time_field = window.field or stream.get("cursor_field")
        fmt = (stream.get("window") or {}).get("format", "iso8601")
        columns: list[dict] | None = None
        for number, (answer, size) in enumerate(pages(api, stream, window), start=1):
            records = _records(answer, stream, number)
            if columns is None:
                known = declared or {f["name"]: f for f in infer_fields(records)}
                if number == 1 and not records and not declared and fields is None:
                    return
                wanted = list(fields) if fields is not None else list(known)
                unknown = [n for n in wanted if n not in known and declared]
                if unknown:
                    raise MissingAtSource(
                        f"The stream {entity} has no field {', '.join(unknown)}. Fields: {', '.join(known)}.",
                        entity=entity,
                        fields=unknown,
                    )
                columns = [known.get(n) or {"name": n, "type": "string"} for n in wanted]
                getters = [_getter(c) for c in columns]
                cursor_get = _getter(known.get(time_field) or {"name": time_field}) if time_field else None
            warnings = []
            if not window.is_open and cursor_get is not None:
                records, unreadable = _in_window(records, cursor_get, window, fmt)
                if unreadable:
                    warnings.append(
                        f"{unreadable} record(s) of {entity} have no readable time in {time_field} and "
                        "were left out of the incremental window."
                    )
            table = pa.Table.from_arrays(
                [
                    _column([get(r) for r in records], c.get("type", "string"))
                    for c, get in zip(columns, getters, strict=True)
                ],
                names=[c["name"] for c in columns],
            )
            notes = (
                [f"Generic REST: {api.calls} API call(s), {api.waited:g} s waited for the rate limit."]
                if number == 1 or api.waited
                else []
            )
            yield SourceBatch(table=table, bytes_read=size, warnings=warnings, notes=notes)


NOTE_FIELDS = 12  # fields named in the Refresh fields note; the rest are counted


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def infer_fields(records: list[Mapping[str, Any]]) -> list[dict]:
    """Top-level keys of the sampled records, in the order first seen, with a type each (nested
    objects and lists are kept as JSON text)."""
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    return [{"name": n, "type": infer_type([r.get(n) for r in records])} for n in names]


def _records(answer: Any, stream: Mapping[str, Any], page: int) -> list[Mapping[str, Any]]:
    expression = stream.get("records") or "@"
    found = jmespath.search(expression, answer)
    if found is None:
        keys = ", ".join(list(answer)[:10]) if isinstance(answer, dict) else type(answer).__name__
        raise ConnectorError(
            f'stream {stream["name"]}, page {page}: the records expression "{expression}" selects '
            f"nothing in the answer (it has: {keys or 'nothing'}). Fix streams.records in the spec; "
            "the run stops and nothing is published."
        )
    if isinstance(found, dict):
        found = [found]
    if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
        raise ConnectorError(
            f'stream {stream["name"]}, page {page}: the records expression "{expression}" selects '
            "something that is not a list of objects; point it at the list of records."
        )
    return found


def _in_window(records: list[Mapping[str, Any]], get: Callable, window: Window, fmt: str) -> tuple[list, int]:
    kept, unreadable = [], 0
    for record in records:
        when = moment(get(record), fmt)
        if when is None:
            unreadable += 1
        elif (window.start is None or when >= window.start) and (window.end is None or when < window.end):
            kept.append(record)
    return kept, unreadable
