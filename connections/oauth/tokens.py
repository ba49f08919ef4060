"""Stored OAuth 2.0 tokens at run time: refreshed before they expire and after a 401, under a lock
so two workers never spend the same refresh token, a rotated refresh token saved under the same
lock, and invalid_grant turning the connection to "Needs re-authorization"."""

from __future__ import annotations

import dataclasses
import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection as database
from django.db import transaction

from connections.connectors import apicalls
from connections.connectors.base import ConnectionInfo, ConnectorError
from connections.connectors.registry import get_connector_class
from connections.models import Connection
from connections.oauth import client

logger = logging.getLogger(__name__)
LEEWAY_SECONDS = 120


def is_oauth(connection: Connection) -> bool:
    try:
        return get_connector_class(connection.connector_key).auth_kind_for(connection.properties) == "oauth2"
    except ConnectorError:
        return False


def runtime_info(connection: Connection) -> ConnectionInfo:
    """The value a run gets: for OAuth connections, with an access token valid for a while yet and
    a `refresh` hook for a 401 in the middle of the run."""
    info = connection.info()
    if not is_oauth(connection):
        return info
    if connection.status == Connection.Status.NEEDS_REAUTHORIZATION:
        raise ConnectorError(reauthorize_message(connection))
    credentials = info.credentials
    if client.needs_refresh(credentials, LEEWAY_SECONDS):
        credentials = refresh_tokens(connection.pk, str(credentials.get("accessToken") or ""))
    pk = connection.pk
    return dataclasses.replace(info, credentials=credentials, refresh=lambda stale: refresh_tokens(pk, stale))


def reauthorize_message(connection: Connection) -> str:
    # Why, as recorded when it was marked: a refused refresh token, or an edited address.
    why = connection.status_message or "the provider no longer accepts its refresh token."
    return (f'The connection "{connection.name}" needs re-authorization: {why} '
            "Open the connection and choose Re-authorize.")


def refresh_tokens(connection_pk: int, stale_access_token: str) -> dict:
    """Fresh credentials for the connection. `stale_access_token` is the token the caller found
    expired or refused: if the stored one differs, another worker refreshed meanwhile and its
    result is returned without spending the refresh token again."""
    failure: ConnectorError | None = None
    with _refresh_lock(connection_pk) as connection:
        credentials = connection.credentials
        if credentials.get("accessToken") != stale_access_token and not client.needs_refresh(
            credentials, LEEWAY_SECONDS
        ):
            return credentials
        connector_cls = get_connector_class(connection.connector_key)
        _, token_url = connector_cls.oauth_endpoints(connection.properties)
        try:
            with apicalls.on_behalf_of(apicalls.TOKEN_REFRESH):  # not the source's or destination's quota
                fresh = client.refresh(
                    token_url,
                    refresh_token=str(credentials.get("refreshToken") or ""),
                    client_id=str(connection.properties.get("clientId") or ""),
                    client_secret=str(credentials.get("clientSecret") or ""),
                    unwrap=connector_cls.oauth_token_payload,
                    client_auth=connector_cls.oauth_client_auth_for(connection.properties),
                )
        except client.OAuthError as exc:
            if exc.error != "invalid_grant":
                raise ConnectorError(f"Refreshing the access token failed: {exc.message}",
                                     permanent=exc.permanent) from None
            # Saved (not rolled back): the connection stays marked until someone re-authorizes.
            connection.status = Connection.Status.NEEDS_REAUTHORIZATION
            connection.status_message = "The provider refused the refresh token (invalid_grant)."
            connection.save(update_fields=["status", "status_message", "updated_at"])
            failure = ConnectorError(reauthorize_message(connection))
        else:
            credentials.update(fresh)
            connection.credentials = credentials
            connection.save(update_fields=["credentials_encrypted", "updated_at"])
            logger.info("refreshed the access token of connection %s", connection.name)
    if failure is not None:
        raise failure
    return credentials


@contextmanager
def _refresh_lock(connection_pk: int) -> Iterator[Connection]:
    """The connection, held by this process until the block ends. PostgreSQL: a row lock in a
    transaction. SQLite locks the whole database file for a writing transaction (IMMEDIATE), and
    the token endpoint may write to that same file (the bundled Demo CRM does), so holding it
    across the HTTP call would stall both until the call timed out: there a file lock per
    connection serialises the refreshers (the embedded setup is one machine), and the few writes
    are short transactions of their own."""
    if database.vendor != "sqlite":
        with transaction.atomic():
            yield Connection.objects.select_for_update().get(pk=connection_pk)
        return
    folder = settings.VAR_DIR / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"oauth-refresh-{connection_pk}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield Connection.objects.get(pk=connection_pk)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
