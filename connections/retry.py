"""Backoff for retrying transient failures: exponential with jitter, capped, and a server's
`Retry-After` honoured when it says more. Beside the guarded HTTP client (connections/net.py)
because the header is HTTP's; Django-free and free of `flows`: connectors know nothing of flows,
while the runner and the notifier import it from here."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def backoff_delay(attempt: int, *, base: float = 1.0, cap: float = 300.0, retry_after: float | None = None,
                  rng: random.Random | None = None) -> float:
    """How long to wait before retry number `attempt` (1 = the first retry). Jitter spreads
    retries of many clients (random in the upper half, so a retry never comes too soon); a
    Retry-After from the server is a floor, never shortened."""
    ceiling = min(cap, base * (2 ** (attempt - 1)))
    delay = (rng or random).uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay
