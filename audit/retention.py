from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger("sluice.audit")


def prune(now: datetime | None = None) -> int:
    """Delete audit rows older than the retention; returns how many went."""
    from audit.models import AuditEvent

    cutoff = (now or timezone.now()) - timedelta(days=settings.SLUICE_AUDIT_RETENTION_DAYS)
    deleted, _ = AuditEvent.objects.filter(at__lt=cutoff).delete()
    if deleted:
        logger.info(
            "audit log: %d rows older than %d days deleted", deleted, settings.SLUICE_AUDIT_RETENTION_DAYS
        )
    return deleted
