"""The most one run may read. Past a limit the run stops with RunError, as soon as the batch
that crossed it has been counted: no record beyond it reaches the destination."""

from __future__ import annotations

from dataclasses import dataclass

from .counters import Counters
from .errors import RunError


@dataclass(frozen=True)
class RunLimits:
    """`max_records` / `max_bytes` read from the source (0: no limit). `records_setting` and
    `bytes_setting` name where the limit is set, so the error says what to change."""

    max_records: int = 0
    max_bytes: int = 0
    records_setting: str = ""
    bytes_setting: str = ""

    def check(self, counters: Counters) -> None:
        if self.max_records and counters.records_processed > self.max_records:
            raise RunError(
                f"Quota reached: records per run. The run read more than {self.max_records:,} records, the "
                f"most one run may read{_set_by(self.records_setting)}, and was stopped. Read less per run "
                "(a filter, an incremental pull) or raise the limit.",
                counters,
            )
        if self.max_bytes and counters.bytes_processed > self.max_bytes:
            raise RunError(
                f"Quota reached: data per run. The run read more than {self.max_bytes:,} bytes, the most one "
                f"run may read{_set_by(self.bytes_setting)}, and was stopped. Read less per run "
                "(a filter, an incremental pull) or raise the limit.",
                counters,
            )


NO_LIMITS = RunLimits()


def _set_by(setting: str) -> str:
    return f" (setting {setting})" if setting else ""
