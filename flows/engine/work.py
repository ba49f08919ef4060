"""One batch on its way through the plan: the table, which source record each row is, and what
happened to the rows that left it (failed, filtered out, dropped by validation)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connections.connectors.base import RecordFailure

from .values import show

# reasons built per batch; the rest of a batch's failures are only counted (building a message
# for each of a million bad rows would cost more than the run)
MAX_FAILURE_REASONS = 100


@dataclass
class Tally:
    """What happened to each record, kept only when asked (a preview): it costs a little per
    batch, so runs leave `Work.tally` None.

    `filters`: per Filter task, in the order the filters apply, [reached, kept]: the records that
    passed the filters before it, and those of them that pass it too (filters are ANDed in
    order). `validations`: per Validate task, the records that fail its check.
    `outcome`: record position -> (what, task index or -1, reason) for every record that left:
    what is "filtered", "dropped", "stopped" (a DropDataset check: the run would stop) or "failed"."""

    filters: dict[int, list[int]] = field(default_factory=dict)
    validations: dict[int, int] = field(default_factory=dict)
    outcome: dict[int, tuple[str, int, str]] = field(default_factory=dict)

    def note(self, work: Work, mask: pa.Array, what: str, task: int, reason: str) -> None:
        """Record `what` for the rows of `work` marked in `mask` that have no outcome yet."""
        for i in pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist():
            self.outcome.setdefault(work.record(i), (what, task, reason))


@dataclass
class Work:
    """`rows` holds the 1-based position of each row among the records the source gave, so that a
    failure can say "record 1,234" whatever was filtered before it."""

    table: pa.Table
    rows: pa.Array
    failures: list[RecordFailure] = field(default_factory=list)
    failed: int = 0
    filtered: int = 0
    dropped: int = 0
    tally: Tally | None = None
    id_fields: tuple[str, ...] = ()  # the fields that identify a record (the destination's id fields)

    @classmethod
    def start(cls, table: pa.Table, first_record: int = 1) -> Work:
        rows = pa.array(np.arange(first_record, first_record + table.num_rows, dtype=np.int64))
        return cls(table, rows)

    def record(self, index: int) -> int:
        return self.rows[index].as_py()

    def describe_record(self, index: int) -> str:
        """'Record 5 of the source (Id "0042")': its position among the records the source gave,
        and its id when the records have one (the id fields, else a field named Id)."""
        names = [n for n in self.id_fields if n in self.table.column_names] or [
            n for n in self.table.column_names if n.lower() == "id"][:1]
        ids = ", ".join(f"{n} {show(self.table.column(n)[index])}" for n in names)
        return f"Record {self.record(index):,} of the source" + (f" ({ids})" if ids else "")

    def fail(self, bad: pa.Array, reason: Callable[[int], str]) -> None:
        """Remove the rows marked in `bad` as record failures; `reason(i)` explains row i."""
        indexes = pc.indices_nonzero(bad)
        if not len(indexes):
            return
        if self.tally is not None:
            for i in indexes.to_pylist():
                self.tally.outcome.setdefault(self.record(i), ("failed", -1, reason(i)))
        for i in indexes[: max(0, MAX_FAILURE_REASONS - len(self.failures))].to_pylist():
            self.failures.append(RecordFailure(f"record {self.record(i):,}", reason(i)))
        self.failed += len(indexes)
        self._keep(pc.invert(bad))

    def keep(self, mask: pa.Array, *, dropped: bool = False) -> None:
        """Keep the rows marked in `mask`; the others were filtered out (or dropped by validation)."""
        kept = self._keep(pc.fill_null(mask, False))
        if dropped:
            self.dropped += kept
        else:
            self.filtered += kept

    def _keep(self, mask: pa.Array) -> int:
        before = self.table.num_rows
        if bool(pc.all(mask).as_py()) or before == 0:
            return 0
        self.table = self.table.filter(mask)
        self.rows = self.rows.filter(mask)
        return before - self.table.num_rows
