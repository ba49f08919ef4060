"""What a connection offers: its entities (objects, tables, folders) and their fields.

The wizard asks for these; a SaaS connector answers with API calls the user's quota pays for.
This is the one place the console asks, so the cache lives here: each answer is kept per
connection (ConnectionMetadata) for SLUICE_METADATA_MAX_AGE_SECONDS, as AppFlow keeps its own for
an hour. `refresh=True` (the wizard's "Refresh fields") asks the service again and replaces the
entry; `clear()` (editing or re-authorizing the connection, "Refresh metadata" on its page,
`sluice reset-connector-metadata-cache`) forgets entries. Deleting the connection deletes its
entries with it. Connectors that say `caches_metadata = False` (files, buckets, databases: cheap to
ask, and expected to be current) are asked every time. Errors are never cached.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from connections.connectors.base import ConnectorError, Entity, EntityField
from connections.connectors.registry import get_connector
from connections.models import Connection, ConnectionMetadata
from connections.oauth.tokens import runtime_info

logger = logging.getLogger(__name__)
Kind = ConnectionMetadata.Kind
Item = TypeVar("Item", Entity, EntityField)
_KEY_CHARS = 1024  # ConnectionMetadata.key; a longer parent or entity name is simply not cached


def entities(connection: Connection, parent: str | None = None, *, refresh: bool = False) -> list[Entity]:
    """The entities under `parent` (None: the top level). Raises ConnectorError with a message a
    person can act on."""
    connector = get_connector(connection.connector_key)
    return _cached(connection, connector.caches_metadata, Kind.ENTITIES, parent or "", refresh, Entity,
                   lambda: connector.list_entities(runtime_info(connection), parent))


def fields(connection: Connection, entity: str, *, refresh: bool = False) -> list[EntityField]:
    """The fields of one entity, with types and what the source can filter on."""
    return _fields(connection, entity, refresh)[0]


def refreshed_fields(connection: Connection, entity: str) -> tuple[list[EntityField], str]:
    """The wizard's "Refresh fields": the fields asked anew (and cached), with what the connector
    says it saw (Connector.fields_note; "" when it has nothing to add)."""
    return _fields(connection, entity, True)


def _fields(connection: Connection, entity: str, refresh: bool) -> tuple[list[EntityField], str]:
    if not entity:
        raise ConnectorError("Choose an object first.")
    connector = get_connector(connection.connector_key)
    found = _cached(connection, connector.caches_metadata, Kind.FIELDS, entity, refresh, EntityField,
                    lambda: connector.describe_entity(runtime_info(connection), entity))
    return found, connector.fields_note


def clear(connection: Connection, *, entity: str | None = None, parent: str | None = None) -> int:
    """Forget what is cached for `connection`: everything, or only the fields of `entity`, or only
    the entities under `parent` ("" for the top level) — AppFlow's connectorEntityName and
    entitiesPath. Returns how many entries were dropped."""
    entries = ConnectionMetadata.objects.filter(connection=connection)
    if entity is not None or parent is not None:
        picked = ConnectionMetadata.objects.none()
        if entity is not None:
            picked |= entries.filter(kind=Kind.FIELDS, key=entity)
        if parent is not None:
            picked |= entries.filter(kind=Kind.ENTITIES, key=parent)
        entries = picked
    deleted, _ = entries.delete()
    return deleted


def cached_entries(connection: Connection) -> list[dict[str, Any]]:
    """What is cached for the connection page: kind, key, how many items, when, and whether it is
    still used (fresh) — without loading the JSON itself."""
    oldest = _oldest_fresh()
    rows = (ConnectionMetadata.objects.filter(connection=connection)
            .values("kind", "key", "item_count", "fetched_at").order_by("kind", "key"))
    return [{**row, "fresh": row["fetched_at"] >= oldest,
             "label": Kind(row["kind"]).label} for row in rows]


def _oldest_fresh():
    return timezone.now() - timedelta(seconds=settings.SLUICE_METADATA_MAX_AGE_SECONDS)


def _cached(connection: Connection, caches: bool, kind: str, key: str, refresh: bool, cls: type[Item],
            fetch: Callable[[], Iterable[Item]]) -> list[Item]:
    caches = caches and len(key) <= _KEY_CHARS and settings.SLUICE_METADATA_MAX_AGE_SECONDS > 0
    if caches and not refresh:
        hit = _read(connection, kind, key, cls)
        if hit is not None:
            return hit
    items = list(fetch())
    if caches:
        _store(connection, kind, key, items)
    return items


def _read(connection: Connection, kind: str, key: str, cls: type[Item]) -> list[Item] | None:
    row = (ConnectionMetadata.objects.filter(connection=connection, kind=kind, key=key,
                                             fetched_at__gte=_oldest_fresh())
           .values_list("data", flat=True).first())
    if row is None:
        return None
    try:
        return [_item(cls, value) for value in row]
    except (TypeError, ValueError, AttributeError):
        return None  # written by another version of Sluice: ask the service again


def _item(cls: type[Item], value: dict[str, Any]) -> Item:
    known = {f.name for f in dataclasses.fields(cls)}
    # JSON has lists where the dataclasses hold tuples (filter_operators)
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items() if k in known})


def _store(connection: Connection, kind: str, key: str, items: list[Item]) -> None:
    data = [dataclasses.asdict(item) for item in items]
    try:
        with transaction.atomic():
            ConnectionMetadata.objects.update_or_create(
                connection=connection, kind=kind, key=key,
                defaults={"data": data, "item_count": len(data), "fetched_at": timezone.now()},
            )
    except IntegrityError:
        # Another request stored the same answer a moment ago (or the connection was deleted
        # meanwhile); the answer in hand is still right for this one.
        logger.info("metadata of connection %s not cached (concurrent write)", connection.pk)
