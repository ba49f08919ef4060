"""The connection audit trail: who changed which connection, what, when and from where.

Only names of changed settings are recorded, never values of secrets: the trail is shown on the
connection page and in the admin."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from django.http import HttpRequest

import audit
from audit import address as audit_address

logger = logging.getLogger("sluice.audit")


def client_address(request: HttpRequest) -> str | None:
    """The address the request came from (X-Forwarded-For only from SLUICE_TRUSTED_PROXIES)."""
    return audit_address.client_address(request)


# The connection trail's actions, as the site-wide audit log (audit/) names them.
AUDIT_ACTIONS = {"created": "connection.create", "updated": "connection.update",
                 "deleted": "connection.delete", "tested": "connection.test",
                 "authorized": "connection.reauthorize"}


def record_change(connection, action: str, *, user=None, address: str | None = None,
                  fields: Sequence[str] = (), detail: str = "", changes: Mapping | None = None,
                  outcome: str = "ok") -> None:
    """One row in the connection's own trail and one in the audit log. `changes` comes from
    audit.diff with the connector's secret fields named, never valued."""
    from connections.models import ConnectionChange

    audit.record(AUDIT_ACTIONS[action], connection, changes=changes, message=detail, outcome=outcome,
                 user=user, object_type="connection")
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
