"""Login lockout with back-off, on the database (docs/sso.md, "Login hardening").

Why not django-axes: it is not in the environment, and it brings its own middleware, backend and
admin for what is one form here. Why the database and not the cache: the default cache is per
process (LocMemCache), so a lockout counted there would be per gunicorn worker.

After SLUICE_LOGIN_MAX_FAILURES failures for one username (or four times as many from one
address: password spraying across names), the next attempts are refused for
SLUICE_LOGIN_LOCKOUT_SECONDS, doubling with each further failure up to ..._MAX_SECONDS. Refused
attempts do not check the password at all, so a locked account cannot be probed."""

from __future__ import annotations

import math
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from signin.models import LoginThrottle

ADDRESS_FACTOR = 4
FORGET_AFTER = timedelta(hours=24)  # failures this old no longer count


def keys(username: str, address: str | None) -> list[tuple[str, int]]:
    limit = settings.SLUICE_LOGIN_MAX_FAILURES
    found = [(f"user:{username.strip().lower()[:150]}", limit)]
    if address:
        found.append((f"addr:{address}", limit * ADDRESS_FACTOR))
    return found


def locked_for(username: str, address: str | None) -> int:
    """Seconds until a login may be tried again; 0 when it may be tried now."""
    now = timezone.now()
    rows = LoginThrottle.objects.filter(key__in=[k for k, _ in keys(username, address)], locked_until__gt=now)
    longest = max((row.locked_until for row in rows), default=None)
    return math.ceil((longest - now).total_seconds()) if longest else 0


def backoff(failures: int, limit: int) -> timedelta:
    base, cap = settings.SLUICE_LOGIN_LOCKOUT_SECONDS, settings.SLUICE_LOGIN_LOCKOUT_MAX_SECONDS
    return timedelta(seconds=min(base * 2 ** max(failures - limit, 0), cap))


@transaction.atomic
def failed(username: str, address: str | None) -> None:
    now = timezone.now()
    for key, limit in keys(username, address):
        row, created = LoginThrottle.objects.select_for_update().get_or_create(
            key=key, defaults={"failures": 1, "last_failure_at": now}
        )
        if not created:
            if now - row.last_failure_at > FORGET_AFTER:
                row.failures = 0
            LoginThrottle.objects.filter(pk=row.pk).update(failures=F("failures") + 1, last_failure_at=now)
            row.refresh_from_db()
        if row.failures >= limit:
            row.locked_until = now + backoff(row.failures, limit)
            row.save(update_fields=["locked_until"])


def succeeded(username: str) -> None:
    LoginThrottle.objects.filter(key=keys(username, None)[0][0]).delete()
