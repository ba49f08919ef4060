"""Errors of a run, written for the person reading the execution log."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .counters import Counters


class RunError(Exception):
    """The run failed. `message` says what went wrong, on which task, field or record, and what to
    do; `counters` holds what was done before the failure; `retryable` is True when trying again
    later may work (a transient connector failure)."""

    def __init__(self, message: str, counters: Counters | None = None, *, retryable: bool = False,
                 retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.counters = counters
        self.retryable = retryable
        self.retry_after = retry_after  # from the connector: how long the service asked us to wait


class MissingFields(RunError):
    """Fields the tasks use are not in the batch the source gave. The engine's loop, which knows
    the object and the source, says so in full (run.py)."""

    def __init__(self, message: str, fields: list[str]):
        super().__init__(message)
        self.fields = fields


class PlanError(RunError):
    """The flow's tasks cannot be run: found before any record is read."""


class DiscardOnCancel(Exception):
    """Raised into a destination that does not publish cancelled runs (publishes_on_cancel False):
    it discards its staging area as for a failure, and run_flow reports the run as Canceled."""
