"""The state changes of an OAuth 2.0 authorization: begin (remember state + PKCE server-side,
send the person to the provider), claim the pending authorization on the way back (once, same
user and session), complete (exchange the code, then create the connection or store the new
tokens of an existing one)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

import audit
from audit.changes import secrets_named
from connections import metadata, services
from connections.audit import record_change
from connections.connectors.base import Connector
from connections.models import Connection, ConnectionChange, PendingAuthorization
from connections.oauth import client
from console.errors import Conflict, UserError

PENDING_FOR = timedelta(minutes=15)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@transaction.atomic
def begin(
    connector_cls: type[Connector],
    *,
    user,
    session_key: str,
    redirect_uri: str,
    name: str = "",
    connection_mode: str = "Public",
    properties: Mapping[str, Any] | None = None,
    client_secret: str = "",
    connection: Connection | None = None,
    return_to: str = "",
) -> str:
    """Remember one pending authorization and return the provider's consent URL. With
    `connection` alone: Re-authorize it as stored. With `connection` and `properties`: an edit that
    switches it to OAuth 2.0 (SAP OData, a Generic REST spec), saved only once authorized."""
    if connection is not None:
        client_secret = client_secret or str(connection.credentials.get("clientSecret") or "")
        if properties is None:
            properties = dict(connection.properties)
        else:
            services.check_fields(connector_cls, properties, {"clientSecret": client_secret})
    else:
        if Connection.objects.filter(name=name).exists():
            raise Conflict(f'A connection named "{name}" already exists.')
        services.check_quota()
        services.check_fields(connector_cls, properties or {}, {"clientSecret": client_secret})
    properties = dict(properties or {})
    # Expired attempts of anyone go now: the table only holds live ones.
    PendingAuthorization.objects.filter(created_at__lt=timezone.now() - PENDING_FOR).delete()
    state, pkce = client.new_state(), client.Pkce.new()
    pending = PendingAuthorization(
        state_hash=_hash(state), session_hash=_hash(session_key), user=user,
        connector_key=connector_cls.key(), name=name, connection_mode=connection_mode,
        properties=properties, connection=connection, redirect_uri=redirect_uri, return_to=return_to,
    )
    pending.secrets = {"verifier": pkce.verifier, "clientSecret": client_secret}
    pending.save()
    authorize_url, _ = connector_cls.oauth_endpoints(properties)
    return client.authorization_url(
        authorize_url, client_id=str(properties.get("clientId") or ""), redirect_uri=redirect_uri,
        scopes=connector_cls.oauth_scopes_for(properties), state=state, pkce=pkce,
        scope_param=connector_cls.oauth_scope_param,
    )


@transaction.atomic
def claim(state: str, *, key: str, user, session_key: str) -> PendingAuthorization | None:
    """The pending authorization `state` names, taken once: None when the state is missing,
    unknown, used already, expired, or started by another user or session."""
    if not state or not session_key or not getattr(user, "is_authenticated", False):
        return None
    pending = (
        PendingAuthorization.objects.select_for_update()
        .filter(state_hash=_hash(state), connector_key=key, user=user, session_hash=_hash(session_key),
                created_at__gte=timezone.now() - PENDING_FOR)
        .first()
    )
    if pending is None:
        return None
    taken = PendingAuthorization.objects.filter(pk=pending.pk).delete()[0]
    return pending if taken else None


def complete(pending: PendingAuthorization, connector_cls: type[Connector], *, code: str,
             user, address: str | None) -> Connection:
    """Exchange the code for tokens (PKCE verifier from the pending row) and save them."""
    secrets = pending.secrets
    _, token_url = connector_cls.oauth_endpoints(pending.properties)
    try:
        tokens = client.exchange_code(
            token_url, code=code, verifier=secrets.get("verifier", ""), redirect_uri=pending.redirect_uri,
            client_id=str(pending.properties.get("clientId") or ""),
            client_secret=secrets.get("clientSecret", ""),
            unwrap=connector_cls.oauth_token_payload,
            client_auth=connector_cls.oauth_client_auth_for(pending.properties),
        )
    except client.OAuthError as exc:
        raise UserError(f"{connector_cls.display_name} did not issue tokens. {exc.message}. "
                        "Check the client ID and secret, then try again.") from None
    except client.ConnectorError as exc:
        raise UserError(f"{connector_cls.display_name} could not be reached: {exc.message}") from None
    if pending.connection_id is None:
        return services.create_connection(
            name=pending.name, connector_type=connector_cls.connector_type,
            connector_label=connector_cls.connector_label, connection_mode=pending.connection_mode,
            properties=pending.properties,
            credentials={"clientSecret": secrets.get("clientSecret", ""), **tokens},
            user=user, address=address,
        )
    if pending.properties != pending.connection.properties:
        # An edit that switched the connection to OAuth 2.0: its settings and these tokens, together.
        return services.update_connection(
            pending.connection, properties=pending.properties, connection_mode=pending.connection_mode,
            fresh_credentials={"clientSecret": secrets.get("clientSecret", ""), **tokens},
            user=user, address=address,
        )
    return _store_new_tokens(pending.connection_id, connector_cls, tokens, user=user, address=address)


@audit.audited("connection.reauthorize")
@transaction.atomic
def _store_new_tokens(pk: int, connector_cls: type[Connector], tokens: dict, *, user, address) -> Connection:
    """Re-authorize: same connection (flows keep using it), new tokens, tested, Available again."""
    connection = Connection.objects.select_for_update().get(pk=pk)
    connection.credentials = {**connection.credentials, **tokens}
    connection.updated_by = user
    services._test_or_refuse(connector_cls, connection)
    connection.save()
    metadata.clear(connection)  # another user may see other objects
    record_change(connection, ConnectionChange.Action.AUTHORIZED, user=user, address=address,
                  detail="re-authorized: new tokens stored", changes=secrets_named(tokens, "replaced"))
    return connection
