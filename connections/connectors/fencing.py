"""The run's lease, as a destination sees it: one check to call right before making data visible.

A run is done by one *attempt* at a time. The worker holding the attempt's lease may publish; a
worker that was frozen or cut off long enough for the reconciler to give the execution to a new
attempt has lost it, and must publish nothing. The engine installs the check for the duration of
`write()` (`held()`); a destination calls `before_publish()` immediately before its commit point:
the database COMMIT, the rename of a staged folder, the copy of staged objects to final keys, each
API call of a SaaS write. When the lease is gone it raises `LeaseLost`, which the destination treats
like any failure of its batches: roll back or delete what it staged, and re-raise.

`attempt()` numbers the attempt, so a destination can keep each attempt's staged output apart:
a frozen worker that wakes up must not write into the staging area of the attempt that replaced it.

Outside a run (connector tests, previews, rejects written after the commit) no check is installed
and `before_publish()` does nothing. This module knows nothing of Django or of flows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


class LeaseLost(Exception):
    """This attempt no longer holds the execution's lease: another attempt owns it now."""

    def __init__(self, attempt: int):
        super().__init__(f"attempt {attempt} lost its lease")
        self.attempt = attempt


@dataclass(frozen=True)
class _Lease:
    attempt: int
    holds: Callable[[], bool]


_current: ContextVar[_Lease | None] = ContextVar("sluice_lease", default=None)


@contextmanager
def held(attempt: int, holds: Callable[[], bool]) -> Iterator[None]:
    """Within the block, `before_publish()` asks `holds()` (True while the lease is this attempt's)."""
    token = _current.set(_Lease(attempt, holds))
    try:
        yield
    finally:
        _current.reset(token)


def before_publish() -> None:
    """Raise LeaseLost unless this attempt still holds the lease. Call it right before the data
    becomes visible, inside the block that discards the staged output on an exception."""
    lease = _current.get()
    if lease is not None and not lease.holds():
        raise LeaseLost(lease.attempt)


def attempt() -> int:
    """The attempt number of the run being written (1 outside a run)."""
    lease = _current.get()
    return lease.attempt if lease is not None else 1
