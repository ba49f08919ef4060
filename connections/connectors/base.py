"""The connector interface.

A connector is a class that declares what it is once, as class attributes, and implements
test / list_entities / describe_entity / read / write over a plain `ConnectionInfo`
(decrypted, never an ORM object). This module imports nothing from Django so that the engine,
benchmarks and connector tests can use connectors without a database.

Batches are `pyarrow.Table`s. A source yields `SourceBatch`es; a destination consumes an
iterator of tables and commits what it received when the iterator ends normally (including
when the engine stops early because the run was cancelled, unless the connector sets
`publishes_on_cancel = False`: then a cancel raises like a failure). If the iterator raises, the
destination discards everything it wrote for this execution and re-raises: a failed run never
leaves a half-written destination.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import pyarrow as pa


class ConnectorError(Exception):
    """A failure a person can act on. `permanent` means the connection itself is broken
    (wrong credentials, missing folder); otherwise retrying later may work."""

    def __init__(self, message: str, *, permanent: bool = True, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        # Seconds the service asked us to wait (its Retry-After), for transient errors.
        self.retry_after = retry_after


class MissingAtSource(ConnectorError):
    """The object the flow reads, or fields of it, are not (or no longer) at the source: renamed
    or deleted since the flow was built. Raise it from read() naming them; the engine adds what to
    do (Refresh fields in the flow and remap), so the person is not left with an opaque error."""

    def __init__(self, message: str, *, entity: str = "", fields: tuple[str, ...] | list[str] = ()):
        super().__init__(message, permanent=True)
        self.entity = entity
        self.fields = tuple(fields)


@dataclass(frozen=True)
class ConfigField:
    """One field of a connection. The single source for the connection form, input
    validation, the split between plain properties and secrets, and log redaction."""

    name: str
    kind: str = "string"  # string | secret | url | path | choice | boolean | integer
    label: str = ""
    required: bool = True
    secret: bool = False
    help: str = ""
    choices: tuple[str, ...] = ()
    default: Any = None
    # Does this field decide where the connection's credentials are sent (a host, port, instance
    # URL, endpoint, token URL, or a region that moves the host)? True: changing it clears the
    # stored credentials, which must be entered again (OAuth: re-authorized), so a stored secret
    # never follows an edited address (connections/services.update_connection enforces it).
    # False: declared not to. None: undeclared, which the contract test refuses for host-like names.
    sends_credentials_to: bool | None = None


# Where an OAuth 2.0 connection keeps its tokens, in its encrypted credentials (next to the
# connector's declared secret fields, e.g. clientSecret). expiresAt is an integer epoch.
OAUTH_TOKEN_KEYS = frozenset({"accessToken", "refreshToken", "expiresAt"})
# Where Connector.oauth_token_payload hands the generic OAuth client other values to store.
OAUTH_KEPT = "sluice_kept_credentials"


@dataclass(frozen=True)
class ConnectionInfo:
    """A connection as the engine and connectors see it: plain values, secrets decrypted.

    `refresh`, set for stored OAuth 2.0 connections, takes the access token the provider just
    refused (HTTP 401) and returns fresh credentials; it refreshes at most once however many
    workers ask at the same time. Secrets are kept out of repr() so a logged value shows none."""

    name: str
    connector_type: str
    label: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict)
    # repr=False: a ConnectionInfo in a test report, a debugger or a log line shows no secrets
    credentials: Mapping[str, Any] = field(default_factory=dict, repr=False)
    refresh: Callable[[str], Mapping[str, Any]] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Entity:
    name: str
    label: str = ""
    has_children: bool = False


@dataclass(frozen=True)
class EntityField:
    name: str
    data_type: str = "string"  # string | integer | double | boolean | date | datetime | ...
    nullable: bool = True
    primary_key: bool = False
    filter_operators: tuple[str, ...] = ()
    timestamp_for_incremental: bool = False
    # A destination can match records on it for UPSERT (idFieldNames): an external id, or the id.
    upsert_key: bool = False


@dataclass(frozen=True)
class Window:
    """The incremental data pull window, start inclusive, end exclusive; None ends are open.
    `field` is the source's timestamp field that decides whether a record is in the window
    (sourceFlowConfig.incrementalPullConfig.datetimeTypeFieldName); None: the connector's default."""

    start: datetime | None = None
    end: datetime | None = None
    field: str | None = None

    @property
    def is_open(self) -> bool:
        """True when it restricts nothing."""
        return self.start is None and self.end is None


@dataclass(frozen=True)
class RecordFailure:
    """One record that could not be read or written: where it was and why."""

    where: str  # e.g. "accounts.csv line 42" or "record 17"
    reason: str
    # the rejected record itself, when a destination refused it (written to the rejects file)
    record: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class SourceFile:
    """A file a source hands over beside its records (Veeva Vault: a document's source file or a
    rendition). `name` is where it goes under the run's `documents/` folder at the destination
    ("<document id>/<version>/source/<file name>"); `path` is a local file that belongs to the
    engine from then on: it deletes it when the run ends, published or not."""

    name: str
    path: str
    size: int


@dataclass
class SourceBatch:
    table: pa.Table
    bytes_read: int = 0  # bytes of source data consumed to produce this batch
    failures: list[RecordFailure] = field(default_factory=list)
    # things a person should know that are not record failures (e.g. "b.csv has extra columns
    # x, y; they were dropped"); the engine writes them to the execution log as warnings
    warnings: list[str] = field(default_factory=list)
    # things worth a line in the execution log that are not warnings (e.g. the API quota left)
    notes: list[str] = field(default_factory=list)
    # files handed over with these records (a destination with accepts_files stores them)
    files: list[SourceFile] = field(default_factory=list)


@dataclass
class WriteResult:
    records_written: int = 0
    bytes_written: int = 0
    failures: list[RecordFailure] = field(default_factory=list)
    location: str = ""  # where the output landed, for the execution log


class Connector:
    """Base class. Subclasses set the class attributes and override what they support."""

    connector_type: ClassVar[str] = ""  # AppFlow connectorType, e.g. "Salesforce", "CustomConnector"
    connector_label: ClassVar[str] = ""  # for CustomConnector: the connectorLabel, e.g. "LocalFiles"
    display_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    can_be_source: ClassVar[bool] = False
    can_be_destination: ClassVar[bool] = False
    auth_kind: ClassVar[str] = "none"  # oauth2 | basic | api_key | client_credentials | none | per_connection
    # A text setting whose every change is kept as a numbered version, listed on the connection
    # page and exportable (Generic REST: "spec"); "" for none. It must hold no secrets.
    versioned_field: ClassVar[str] = ""
    # auth_kind "per_connection": the kinds its connections choose from (the catalog and
    # DescribeConnectors offer these); empty means any kind (Generic REST: each spec says).
    auth_kinds_offered: ClassVar[tuple[str, ...]] = ()
    config_fields: ClassVar[tuple[ConfigField, ...]] = ()
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand",)
    fastest_schedule_minutes: ClassVar[int] = 1
    filter_operators: ClassVar[tuple[str, ...]] = ()
    # The Filter operators read() applies at the source when it is given them (e.g. in a SQL
    # WHERE clause). The engine applies every filter again, so pushing down saves reading records,
    # never changes the result; a connector may push down less than it declares.
    pushdown_operators: ClassVar[tuple[str, ...]] = ()
    # True when write() partitions its output by options["partitionKeys"] (a Partition task).
    partitions_output: ClassVar[bool] = False
    # True: a cancelled run's batches end normally and the destination commits what it received
    # (AppFlow's "what was written stays"). False: the engine raises into the batches instead, so
    # the destination discards everything, as for a failure (S3: nothing under the final prefix).
    publishes_on_cancel: ClassVar[bool] = True
    # True when write() also stores the files a source hands over (SourceBatch.files), listed in
    # options["sourceFiles"] once the batches are consumed, in the same publish as the records.
    accepts_files: ClassVar[bool] = False
    write_operations: ClassVar[tuple[str, ...]] = ()
    # True: the console keeps list_entities / describe_entity answers for a while
    # (SLUICE_METADATA_MAX_AGE_SECONDS, connections/metadata.py), as AppFlow does: asking a SaaS
    # costs API quota and seconds. Files, buckets and databases say False: asking them is cheap,
    # and a file dropped in a folder a minute ago must show up in the wizard.
    caches_metadata: ClassVar[bool] = True
    # The key of this connector in sourceConnectorProperties / destinationConnectorProperties.
    properties_key: ClassVar[str] = ""
    # OAuth 2.0 (auth_kind "oauth2"): the scopes to ask for; the endpoints come from the
    # connection's properties (instance URL, environment), see oauth_endpoints().
    oauth_scopes: ClassVar[tuple[str, ...]] = ()
    # The authorization URL's parameter for those scopes ("user_scope" for Slack's user tokens).
    oauth_scope_param: ClassVar[str] = "scope"
    # How the token endpoint receives the client id and secret (RFC 6749 2.3.1 / OpenID's names):
    # "client_secret_basic" (HTTP Basic, the default) or "client_secret_post" (client_id and
    # client_secret in the request body, as Zendesk documents its /oauth/tokens).
    oauth_client_auth: ClassVar[str] = "client_secret_basic"

    @classmethod
    def oauth_token_payload(cls, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """The token endpoint's answer as the generic OAuth client reads it: access_token,
        refresh_token and expires_in at the top. Override for a provider that nests them. The
        values oauth_token_extras names go under OAUTH_KEPT, which the client stores with the tokens."""
        kept = {name: payload[key] for key, name in cls.oauth_token_extras.items() if payload.get(key)}
        return {**payload, OAUTH_KEPT: kept} if kept else payload

    # Other values of the token response a connection keeps with its tokens, in its credentials:
    # token response key -> credential name (Salesforce: {"instance_url": "instanceUrl"}, the
    # address of the org's API, known only from the token response; a refresh that names it again
    # updates it).
    oauth_token_extras: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def oauth_endpoints(cls, properties: Mapping[str, Any]) -> tuple[str, str]:
        """(authorization URL, token URL) for a connection with these properties."""
        raise NotImplementedError

    @classmethod
    def auth_kind_for(cls, properties: Mapping[str, Any]) -> str:
        """The authentication kind of a connection with these properties. Every place that acts on
        it (the form, the OAuth views, token refresh, services) asks here, not `auth_kind`: a
        connector whose connections differ (Generic REST: its spec says) overrides this."""
        return cls.auth_kind

    @classmethod
    def offered_auth_kinds(cls) -> tuple[str, ...]:
        """The authentication kinds a connection of this connector may use: its auth_kind, or for
        "per_connection" the ones it offers (empty: any)."""
        if cls.auth_kind != "per_connection":
            return (cls.auth_kind,)
        return cls.auth_kinds_offered

    @classmethod
    def oauth_scopes_for(cls, properties: Mapping[str, Any]) -> tuple[str, ...]:
        """The scopes to ask for, for a connection with these properties (oauth_scopes)."""
        return cls.oauth_scopes

    @classmethod
    def oauth_client_auth_for(cls, properties: Mapping[str, Any]) -> str:
        """How the token endpoint receives the client credentials, for these properties."""
        return cls.oauth_client_auth

    @classmethod
    def credential_address(cls, field: ConfigField, properties: Mapping[str, Any]) -> str:
        """The part of a sends_credentials_to field's value that decides where credentials go: the
        value itself (a missing one is the default). Services compare it before and after an edit;
        a field that holds more than an address (Generic REST's spec) narrows it to that."""
        raw = properties.get(field.name)
        raw = field.default if raw in (None, "") else raw
        return "" if raw is None else str(raw)

    @classmethod
    def key(cls) -> str:
        """Registry key: the connectorType, or the connectorLabel for custom connectors."""
        return cls.connector_label or cls.connector_type

    @classmethod
    def secret_field_names(cls) -> frozenset[str]:
        return frozenset(f.name for f in cls.config_fields if f.secret)

    @classmethod
    def credential_destination_fields(cls) -> tuple[ConfigField, ...]:
        """The fields that decide where credentials are sent (ConfigField.sends_credentials_to)."""
        return tuple(f for f in cls.config_fields if f.sends_credentials_to)

    @classmethod
    def entity_name(cls, props: Mapping[str, Any]) -> str:
        """The entity named by this connector's block of source/destinationConnectorProperties."""
        return str(props.get("object") or props.get("entityName") or "")

    @classmethod
    def source_option_fields(cls, entity: str) -> tuple[ConfigField, ...]:
        """The options of its source block this connector offers for `entity` in step 2 of the
        flow wizard, each a key of sourceConnectorProperties (boolean: true when ticked, left
        out otherwise; string: left out when empty). E.g. Veeva's includeSourceFiles."""
        return ()

    @classmethod
    def hands_over_files(cls, props: Mapping[str, Any]) -> bool:
        """Whether read() with this source block hands over files beside its records
        (SourceBatch.files): then the flow needs a destination that accepts_files."""
        return False

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        """Problems with this connector's sourceConnectorProperties block, as
        (sub-path, message) pairs, e.g. ("entityName", "is required")."""
        return []

    @classmethod
    def check_destination_properties(cls, props: Any) -> list[tuple[str, str]]:
        """As check_source_properties, for destinationConnectorProperties."""
        return []

    @classmethod
    def check_trigger(cls, trigger_type: str, source_props: Mapping[str, Any]) -> list[str]:
        """Problems with running this source's object on `trigger_type` that depend on the
        object (a source whose objects differ in how they can be triggered), as messages."""
        return []

    @classmethod
    def runs_only_on_events(cls, source_props: Mapping[str, Any]) -> bool:
        """Whether this source block's records exist only as events delivered to a subscriber
        (a Salesforce event channel): such a flow cannot be run by hand or backfilled, since a
        run started any other way has nothing to read."""
        return False

    @classmethod
    def check_connection_properties(cls, properties: Mapping[str, Any]) -> list[str]:
        """Problems with a connection's plain properties beyond required / choices, as
        "field: what is wrong" messages, found before anything is sent (an OAuth consent page
        included) so a person fixes the form first."""
        return []

    @classmethod
    def check_flow_tasks(cls, tasks: list[Any]) -> list[tuple[tuple, str]]:
        """Problems with a flow's tasks that only this source knows (e.g. how many fields of a kind
        one report takes), as (path below `tasks`, message) pairs; the document validator reports
        them when the flow is saved."""
        return []

    def test(self, conn: ConnectionInfo) -> None:
        raise NotImplementedError

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        raise NotImplementedError

    # What the last describe_entity of this instance saw, in one sentence for the wizard's "Refresh
    # fields" (Generic REST: "Inferred 7 fields from 100 records of page 1: id integer, ..."); ""
    # when there is nothing to say beyond the fields themselves.
    fields_note: str = ""

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        raise NotImplementedError

    def read(
        self,
        conn: ConnectionInfo,
        entity: str,
        fields: list[str] | None,
        filters: list[Mapping[str, Any]],
        window: Window,
        options: Mapping[str, Any],
    ) -> Iterator[SourceBatch]:
        """Yield batches of `entity`. `fields` None means every field. `filters` are the
        document's Filter tasks whose operator is in `pushdown_operators`, as plain dicts:
        {"task", "field", "operator", "values" (texts; two bounds for BETWEEN), "dataType"
        (string | integer | double | boolean | date | datetime, or None: the field's own type),
        "description"}. Applying them is optional: the engine re-applies every filter."""
        raise NotImplementedError

    def write(
        self,
        conn: ConnectionInfo,
        entity: str,
        batches: Iterable[pa.Table],
        options: Mapping[str, Any],
    ) -> WriteResult:
        """Consume `batches` and commit atomically when they end; discard and re-raise if
        iterating them raises. `options` holds the destination properties plus
        `executionId`."""
        raise NotImplementedError
