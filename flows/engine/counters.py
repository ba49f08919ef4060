"""What a run counts, as AppFlow's execution record does, and what it returns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from connections.connectors.base import RecordFailure


@dataclass
class Counters:
    """Running totals of one execution.

    records_processed: records the source gave, including those it could not parse;
    records_written: records the destination committed (during the run: handed to it so far);
    record_failures: records that could not be read, transformed or written, of which the first
    `MAX_KEPT_FAILURES` are kept in `failures` for the log; records_filtered: left out by Filter
    tasks; records_dropped: left out by Validate tasks (DropRecord); bytes_processed /
    bytes_written: source bytes consumed, output bytes.

    At the end of a run, processed = written + filtered + dropped + failures."""

    MAX_KEPT_FAILURES: ClassVar[int] = 100
    # failures stored with the execution and shown on its page; a reason longer than this is cut
    SAMPLE_SIZE: ClassVar[int] = 20
    SAMPLE_REASON_CHARS: ClassVar[int] = 1_000

    records_processed: int = 0
    records_written: int = 0
    record_failures: int = 0
    bytes_processed: int = 0
    bytes_written: int = 0
    records_filtered: int = 0
    records_dropped: int = 0
    failures: list[RecordFailure] = field(default_factory=list)

    def add_failures(self, failures: Iterable[RecordFailure]) -> list[RecordFailure]:
        """Count `failures`; keep them while there is room. Returns the ones kept."""
        kept = []
        for failure in failures:
            self.record_failures += 1
            if len(self.failures) < self.MAX_KEPT_FAILURES:
                self.failures.append(failure)
                kept.append(failure)
        return kept

    def failure_sample(self) -> list[dict[str, str]]:
        """The first SAMPLE_SIZE failures as {"where", "reason"}, without the records themselves
        (they may hold personal data; errorHandlingConfig writes them where the user chose)."""
        return [
            {"where": f.where, "reason": _cut(f.reason, self.SAMPLE_REASON_CHARS)}
            for f in self.failures[: self.SAMPLE_SIZE]
        ]

    def as_dict(self) -> dict[str, Any]:
        """Plain values, e.g. to store on the execution row."""
        return asdict(self)


@dataclass(frozen=True)
class RunResult:
    """How a run ended: status "Successful" or "Canceled" (failures raise RunError), its counters,
    where the output landed (from the destination's WriteResult) and where rejected records went."""

    status: str
    counters: Counters
    location: str = ""
    # where the records the destination refused were written (errorHandlingConfig), if anywhere
    rejects_location: str = ""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
