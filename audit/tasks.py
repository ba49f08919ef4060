from __future__ import annotations

from celery import shared_task


@shared_task
def prune_audit_log() -> int:
    """Daily (CELERY_BEAT_SCHEDULE "prune-audit-log"): rows older than SLUICE_AUDIT_RETENTION_DAYS go."""
    from audit.retention import prune

    return prune()
