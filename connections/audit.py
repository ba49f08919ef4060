"""The connection audit trail: who changed which connection, what, when and from where.

Only names of changed settings are recorded, never values of secrets: the trail is shown on the
connection page and in the admin."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.http import HttpRequest

logger = logging.getLogger("sluice.audit")


def client_address(request: HttpRequest) -> str | None:
    """The address the request came from. REMOTE_ADDR only: X-Forwarded-For can be forged unless
    a trusted proxy sets it, and the proxy's own setting (gunicorn forwarded_allow_ips) covers that."""
    return request.META.get("REMOTE_ADDR") or None


def record_change(connection, action: str, *, user=None, address: str | None = None,
                  fields: Sequence[str] = (), detail: str = "") -> None:
    from connections.models import ConnectionChange

    ConnectionChange.objects.create(
        connection=connection if connection.pk else None,
        connection_name=connection.name,
        action=action,
        fields=list(fields),
        detail=detail,
        user=user,
        address=address,
    )
    logger.info(
        "connection %s %s by %s from %s%s", connection.name, action,
        user.get_username() if user else "system", address or "-",
        f" ({', '.join(fields)})" if fields else "",
    )
