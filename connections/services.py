"""State changes of connections. The only place that turns requests into Connection rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import audit
from accounts import access, people
from audit.changes import secrets_named
from connections import metadata
from connections.audit import record_change
from connections.connectors.base import OAUTH_TOKEN_KEYS, ConnectorError
from connections.connectors.registry import get_connector_class, resolve_key
from connections.models import Connection, ConnectionChange, ConnectionTest, SpecVersion
from connections.oauth import client as oauth_client
from connections.oauth import tokens
from connections.oauth.tokens import runtime_info
from console.errors import Conflict, ConnectorAuthenticationFailed, NotFound, QuotaExceeded, UserError


def split_profile_config(connector_type: str, config: Mapping[str, Any]) -> tuple[dict, dict]:
    """AppFlow's connectorProfileConfig -> (properties, credentials).

    Properties and credentials sit under a key named after the connector; custom connectors nest
    them once more (profileProperties, and credentialsMap or an auth-kind block)."""
    if not isinstance(config, Mapping):
        raise UserError("connectorProfileConfig: must be a JSON object")

    def block(name: str) -> dict:
        value = config.get(name) or {}
        if not isinstance(value, Mapping):
            raise UserError(f"connectorProfileConfig.{name}: must be a JSON object")
        if len(value) > 1:
            raise UserError(f"connectorProfileConfig.{name}: must have one key, the connector type")
        inner = next(iter(value.values()), {}) or {}
        if not isinstance(inner, Mapping):
            raise UserError(f"connectorProfileConfig.{name}.{next(iter(value))}: must be a JSON object")
        return dict(inner)

    properties = block("connectorProfileProperties")
    credentials = block("connectorProfileCredentials")
    _take_oauth_request(credentials)
    # SAP OData nests its user and password, or its OAuth settings and tokens, one level down, as
    # botocore models them; which of them came decides the connection's authentication.
    if isinstance(credentials.get("basicAuthCredentials"), Mapping):
        credentials.update(credentials.pop("basicAuthCredentials"))
    if isinstance(properties.get("oAuthProperties"), Mapping):
        oauth = dict(properties.pop("oAuthProperties"))
        scopes = oauth.pop("oAuthScopes", None)
        if isinstance(scopes, list):
            oauth["oAuthScopes"] = " ".join(str(s) for s in scopes)
        properties.update(oauth)
        properties.setdefault("authentication", "OAuth2")
    if isinstance(credentials.get("oAuthCredentials"), Mapping):
        credentials.update(credentials.pop("oAuthCredentials"))
        _take_oauth_request(credentials)
        if "clientId" in credentials:  # a setting Sluice shows, not a secret
            properties["clientId"] = credentials.pop("clientId")
    if connector_type == "CustomConnector":
        properties = dict(properties.get("profileProperties") or {})
        custom = credentials.get("custom") or {}
        credentials = dict(custom.get("credentialsMap") or {}) or {
            k: v for k, v in credentials.items() if k != "authenticationType"
        }
        # Flatten oauth2 / basic / apiKey blocks: connectors name their secret fields directly.
        for kind in ("oauth2", "basic", "apiKey"):
            if isinstance(credentials.get(kind), Mapping):
                credentials.update(credentials.pop(kind))
                _take_oauth_request(credentials)
        # AppFlow passes an OAuth client id with the credentials; Sluice keeps it as a property.
        if "clientId" in credentials and "clientId" not in properties:
            properties["clientId"] = credentials.pop("clientId")
    return properties, credentials


def _take_oauth_request(credentials: dict) -> None:
    """AppFlow's oAuthRequest (authCode, redirectUri) accompanies tokens an application obtained
    itself (the embed case): the tokens are what Sluice keeps and refreshes. A code alone would
    have to be exchanged here, which Sluice does not do: it says how to connect instead."""
    request = credentials.pop("oAuthRequest", None)
    if request and not credentials.get("accessToken"):
        raise UserError(
            "connectorProfileCredentials: oAuthRequest.authCode alone is not exchanged by Sluice. Pass the "
            "accessToken and refreshToken your application obtained, or authorize the connection in the "
            "console."
        )


def check_fields(connector_cls, properties: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
    errors = []
    for field in connector_cls.config_fields:
        source = credentials if field.secret else properties
        if field.required and source.get(field.name) in (None, ""):
            errors.append(f"{field.name}: is required ({field.label or field.name})")
        if field.choices and source.get(field.name) not in (None, "", *field.choices):
            errors.append(f"{field.name}: must be one of {', '.join(field.choices)}")
    errors += connector_cls.check_connection_properties(properties)
    known = {f.name for f in connector_cls.config_fields}
    if connector_cls.auth_kind_for(properties) == "oauth2":
        known |= OAUTH_TOKEN_KEYS  # stored by the OAuth callback, not typed in a form
        known |= set(connector_cls.oauth_token_extras.values())
    for name in [*properties, *credentials]:
        if name not in known:
            errors.append(f"{name}: is not a setting of the {connector_cls.display_name} connector")
    if errors:
        raise UserError(*errors)


def connector_class_for(connector_type: str, connector_label: str = ""):
    try:
        return get_connector_class(resolve_key(connector_type, connector_label))
    except ConnectorError as exc:
        raise UserError(f"connectorType: {exc.message}") from None


def _test_or_refuse(connector_cls, connection: Connection) -> None:
    """AppFlow validates a connection on create and update: a failing test saves nothing."""
    try:
        connector_cls().test(connection.info())
    except ConnectorError as exc:
        # Only a connection with credentials can fail to authenticate; a wrong folder or address
        # of one without is a plain validation error.
        kind = connector_cls.auth_kind_for(connection.properties)
        failed = UserError if kind == "none" else ConnectorAuthenticationFailed
        raise failed(f"The connection test failed: {exc.message}") from None
    now = timezone.now()
    connection.status = Connection.Status.AVAILABLE
    connection.status_message = ""
    connection.last_tested_at = now
    connection.last_test_ok_at = now


@audit.audited("connection.create")
@transaction.atomic
def create_connection(
    *,
    name: str,
    connector_type: str,
    connector_label: str = "",
    connection_mode: str = "Public",
    properties: Mapping[str, Any],
    credentials: Mapping[str, Any] | None = None,
    user=None,
    address: str | None = None,
) -> Connection:
    """Validate, test (as AppFlow does on create) and save a connection."""
    connector_cls = connector_class_for(connector_type, connector_label)
    if not name or len(name) > 256:
        raise UserError("connectorProfileName: is required, at most 256 characters")
    if connection_mode not in Connection.Mode.values:
        raise UserError(f"connectionMode: must be Public or Private, not {connection_mode!r}")
    if Connection.objects.filter(name=name).exists():
        raise Conflict(f'A connection named "{name}" already exists.')
    check_quota()
    credentials = dict(credentials or {})
    check_fields(connector_cls, properties, credentials)
    connection = Connection(
        name=name,
        connector_type=connector_type,
        connector_label=connector_label if connector_type == "CustomConnector" else "",
        connection_mode=connection_mode,
        properties=dict(properties),
        created_by=user,
        updated_by=user,
        team=access.team_for_new(user),
    )
    connection.credentials = credentials
    _test_or_refuse(connector_cls, connection)
    connection.save()
    keep_version(connector_cls, connection, user)
    changed = [*sorted(properties), *(f"{k} (secret)" for k in sorted(credentials))]
    changes = {**audit.diff({}, properties, connector_cls.secret_field_names()), **secrets_named(credentials)}
    record_change(connection, ConnectionChange.Action.CREATED, user=user, address=address, fields=changed,
                  changes=changes)
    if user is not None and not user.is_superuser:
        # Its creator manages it (sees and changes its settings) whatever their role.
        people.grant_manage(connection, user, note="its creator", by=user)
    return connection


SPEC_VERSIONS_KEPT = 50  # per connection; older ones go when a newer one is saved


def keep_version(connector_cls, connection: Connection, user=None) -> SpecVersion | None:
    """Keep the connection's versioned text (Connector.versioned_field) as a new numbered version
    when it differs from the last one kept; the oldest beyond SPEC_VERSIONS_KEPT go."""
    name = connector_cls.versioned_field
    text = str(connection.properties.get(name) or "") if name else ""
    if not text:
        return None
    versions = SpecVersion.objects.filter(connection=connection)
    last = versions.order_by("-number").first()
    if last is not None and last.text == text:
        return None
    version = SpecVersion.objects.create(connection=connection, number=(last.number + 1) if last else 1,
                                         text=text, saved_by=user if getattr(user, "pk", None) else None)
    stale = list(versions.order_by("-number").values_list("pk", flat=True)[SPEC_VERSIONS_KEPT:])
    if stale:
        SpecVersion.objects.filter(pk__in=stale).delete()
    return version


def check_quota() -> None:
    limit = settings.SLUICE_MAX_CONNECTIONS
    if Connection.objects.count() >= limit:
        raise QuotaExceeded(
            f"You have reached the limit of {limit} connections. "
            "Delete one you no longer use, or raise SLUICE_MAX_CONNECTIONS."
        )


def _refresh_expired_tokens(connection: Connection) -> bool:
    """The re-test after an edit uses the stored tokens, so refresh them first as a run would;
    True when they were refreshed (and saved, rotated refresh token included)."""
    if not tokens.is_oauth(connection) or connection.status == Connection.Status.NEEDS_REAUTHORIZATION:
        return False
    stored = connection.credentials
    if not stored.get("refreshToken") or not oauth_client.needs_refresh(stored, tokens.LEEWAY_SECONDS):
        return False
    try:
        tokens.refresh_tokens(connection.pk, str(stored.get("accessToken") or ""))
    except ConnectorError as exc:
        raise UserError(f"The connection test failed: {exc.message}") from None
    return True


def moved_destination_fields(connector_cls, before: Mapping[str, Any], after: Mapping[str, Any]) -> list:
    """The fields that decide where credentials are sent (ConfigField.sends_credentials_to) whose
    address (Connector.credential_address) differs between two sets of properties."""
    return [f for f in connector_cls.credential_destination_fields()
            if connector_cls.credential_address(f, before) != connector_cls.credential_address(f, after)]


def _labels(fields) -> str:
    names = [f"{f.label or f.name} ({f.name})" for f in fields]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _credentials_for_new_address(connector_cls, stored: Mapping[str, Any], moved: list,
                                 typed: Mapping[str, Any], auth_kind: str) -> dict:
    """The one rule of where credentials may go: when an edit changes a field that decides where
    they are sent, nothing stored goes along (a logged-in user could otherwise point a connection
    at their own server and collect its password or tokens). Every secret that was stored must be
    typed again; OAuth tokens are dropped and the connection is re-authorized."""
    missing = [f for f in connector_cls.config_fields
               if f.secret and stored.get(f.name) not in (None, "") and f.name not in typed]
    if missing:
        then = ", then re-authorize" if auth_kind == "oauth2" else ""
        raise UserError(
            f"{_labels(moved)} changed, so the stored credentials are cleared: Sluice never sends them "
            f"to a new address. Enter {_labels(missing)} again{then}, or undo the change."
        )
    return dict(typed)


@audit.audited("connection.update")
@transaction.atomic
def update_connection(
    connection: Connection,
    *,
    properties: Mapping[str, Any],
    new_secrets: Mapping[str, Any] | None = None,
    connection_mode: str | None = None,
    user=None,
    address: str | None = None,
    fresh_credentials: Mapping[str, Any] | None = None,
) -> Connection:
    """Change properties and replace the secrets typed anew (a blank secret keeps the stored one),
    re-test, save. The row is locked so a token refresh in a worker cannot interleave.

    When a field that decides where credentials are sent changes, the stored credentials are
    cleared instead (see _credentials_for_new_address): an OAuth connection is saved as "Needs
    re-authorization", untested, since it has no token left to test with.

    `fresh_credentials`: the whole credentials, just issued for these very properties (an edit that
    switched to OAuth 2.0 and went through the consent page): they replace every stored secret
    (the old way's password goes), and are tested."""
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    connector_cls = connector_class_for(connection.connector_type, connection.connector_label)
    moved = [] if fresh_credentials is not None else moved_destination_fields(
        connector_cls, connection.properties, properties)
    if not moved and fresh_credentials is None and _refresh_expired_tokens(connection):
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
    typed = {k: v for k, v in (fresh_credentials or new_secrets or {}).items() if v not in (None, "")}
    replaced = sorted(typed)
    stored = connection.credentials
    if fresh_credentials is not None:
        credentials = dict(typed)
    elif moved:
        credentials = _credentials_for_new_address(connector_cls, stored, moved, typed,
                                                   connector_cls.auth_kind_for(properties))
    else:
        credentials = {**stored, **typed}
    if connection_mode is not None:
        if connection_mode not in Connection.Mode.values:
            raise UserError(f"connectionMode: must be Public or Private, not {connection_mode!r}")
        mode_before, connection.connection_mode = connection.connection_mode, connection_mode
    declared = {f.name for f in connector_cls.config_fields}
    # Stored values the form does not declare (OAuth tokens) are kept; check only declared ones.
    check_fields(connector_cls, properties, {k: v for k, v in credentials.items() if k in declared})
    changed = sorted(k for k in {*properties, *connection.properties}
                     if properties.get(k) != connection.properties.get(k))
    changes = {**audit.diff(connection.properties, properties, connector_cls.secret_field_names()),
               **secrets_named(replaced, "replaced")}
    if connection_mode is not None:
        changes |= audit.diff({"connection_mode": mode_before}, {"connection_mode": connection_mode})
    connection.properties = dict(properties)
    connection.credentials = credentials
    connection.updated_by = user
    if moved and connector_cls.auth_kind_for(properties) == "oauth2":
        connection.status = Connection.Status.NEEDS_REAUTHORIZATION
        connection.status_message = f"{_labels(moved)} changed, so the stored tokens were cleared."[:2048]
    else:
        _test_or_refuse(connector_cls, connection)
    connection.save()
    keep_version(connector_cls, connection, user)
    # Other settings may reach another account or instance: what it has is asked again.
    metadata.clear(connection)
    fields = [*changed, *(f"{k} (secret, replaced)" for k in replaced)]
    if moved and stored:
        fields.append("stored credentials cleared (address changed)")
        changes["stored credentials"] = "cleared (address changed)"
    if fresh_credentials is not None and set(stored) - set(credentials):
        fields.append("the other stored credentials removed (now OAuth 2.0)")
        changes["stored credentials"] = "replaced by the OAuth 2.0 authorization"
    record_change(connection, ConnectionChange.Action.UPDATED, user=user, address=address, fields=fields,
                  changes=changes)
    return connection


def copy_settings(connection: Connection) -> dict[str, Any]:
    """The initial values of "Copy to new connection": plain properties only. As in AppFlow, no
    secret is copied (OAuth tokens, client secrets), nor the OAuth client id."""
    connector_cls = connector_class_for(connection.connector_type, connection.connector_label)
    secret = connector_cls.secret_field_names()
    return {
        k: v for k, v in connection.properties.items()
        if k not in secret and k not in {"clientId", "client_id"}
    }


def get_connection(name: str) -> Connection:
    try:
        return Connection.objects.get(name=name)
    except Connection.DoesNotExist:
        raise NotFound(f'No connection named "{name}".') from None


@audit.audited("connection.delete")
@transaction.atomic
def delete_connection(
    connection: Connection, *, force: bool = False, user=None, address: str | None = None
) -> list[str]:
    """Delete a connection no flow uses; with `force`, suspend the flows that use it first.
    Returns the names of the suspended flows."""
    users = list(connection.flows.order_by("name").values_list("name", flat=True))
    if users and not force:
        raise Conflict(
            f'The connection "{connection.name}" is used by the flows {", ".join(users)}. '
            "Delete those flows first, or force the delete (those flows are then suspended)."
        )
    for flow in connection.flows.all():
        flow.status = flow.Status.SUSPENDED
        flow.status_message = f'Its connection "{connection.name}" was deleted.'
        flow.save(update_fields=["status", "status_message", "updated_at"])
    detail = f"suspended flows: {', '.join(users)}" if users else ""
    record_change(connection, ConnectionChange.Action.DELETED, user=user, address=address, detail=detail)
    connection.delete()
    return users


@transaction.atomic
def start_connection_test(connection: Connection, *, user=None) -> ConnectionTest:
    """Queue a test of the stored connection for a worker; the page polls the returned row."""
    from connections import tasks

    test = ConnectionTest.objects.create(connection=connection, requested_by=user)
    transaction.on_commit(lambda: tasks.test_connection.delay(str(test.pk)))
    return test


def run_connection_test(test_id: str) -> ConnectionTest | None:
    """What the worker does: claim the queued test once, run the connector's test, record it."""
    S = ConnectionTest.Status
    if not ConnectionTest.objects.filter(pk=test_id, status=S.QUEUED).update(status=S.RUNNING):
        return None  # already claimed by another delivery
    test = ConnectionTest.objects.select_related("connection", "requested_by").get(pk=test_id)
    connection = test.connection
    try:
        connector_cls = connector_class_for(connection.connector_type, connection.connector_label)
        # As a run would: OAuth tokens refreshed first (and invalid_grant reported as such).
        connector_cls().test(runtime_info(connection))
    except (ConnectorError, UserError) as exc:
        message = exc.message if isinstance(exc, ConnectorError) else "; ".join(exc.errors)
        passed = False
    else:
        message = "The connection works."
        passed = True
    now = timezone.now()
    with transaction.atomic():
        test.status = S.PASSED if passed else S.FAILED
        test.message = message[:2048]
        test.finished_at = now
        test.save(update_fields=["status", "message", "finished_at"])
        fields = {"last_tested_at": now}
        if passed:
            fields |= {"last_test_ok_at": now, "status": Connection.Status.AVAILABLE, "status_message": ""}
        elif connection.status != Connection.Status.NEEDS_REAUTHORIZATION:
            fields |= {"status": Connection.Status.ERROR, "status_message": message[:2048]}
        Connection.objects.filter(pk=connection.pk).update(**fields)
        record_change(connection, ConnectionChange.Action.TESTED, user=test.requested_by,
                      detail=("passed" if passed else f"failed: {message}")[:2048],
                      outcome="ok" if passed else "failed")
    return test
