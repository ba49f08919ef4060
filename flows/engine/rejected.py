"""A retry of an earlier run's rejected records: they are read from where errorHandlingConfig
wrote them (connections/connectors/rejects.py: JSON Lines of {"where", "reason", "record"})
instead of from the flow's source, and go to the same destination.

The records were rejected *by the destination*, so the flow's tasks had already been applied
to them: they are written as they are (mapping, masking or arithmetic applied twice would be
wrong, and renamed fields would be missing). The Partition task still applies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa

from connections.connectors.base import ConnectionInfo, Connector, SourceBatch, Window

from .errors import RunError
from .plan import Plan


@dataclass(frozen=True)
class RejectedRecords:
    """Where the rejected records of execution `execution_id` are: an S3 or Local files
    connector, its connection, the entity (folder or bucket/prefix) and read options. `problem`,
    when set, says why they cannot be read (the run fails with it)."""

    connector: Connector | None = None
    connection: ConnectionInfo | None = None
    entity: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    execution_id: str = ""
    location: str = ""
    problem: str = ""

    def source(self) -> RejectsReader:
        if self.problem or self.connector is None:
            raise RunError(self.problem or "The rejected records cannot be read: no place was given.")
        return RejectsReader(self.connector, self.entity)

    def plan(self, flow_plan: Plan) -> Plan:
        """Nothing but the Partition task: the records are already what the destination takes."""
        return Plan(None, None, (), partition_keys=flow_plan.partition_keys)

    def describe(self) -> str:
        return (f"Retrying the records that execution {self.execution_id} had rejected, read from "
                f"{self.location}. The flow's tasks were applied to them before they were rejected, so "
                "they are written as they are.")


class RejectsReader:
    """Reads a rejects folder through its file connector and yields the records alone, without
    the where/reason columns."""

    pushdown_operators: tuple[str, ...] = ()

    def __init__(self, files: Connector, entity: str):
        self.files, self.entity = files, entity
        self.display_name = f"Rejected records ({files.display_name or files.key()})"

    def key(self) -> str:
        return self.files.key()

    def entity_name(self, props: Mapping[str, Any]) -> str:
        return self.entity

    def read(self, conn: ConnectionInfo, entity: str, fields, filters, window: Window,
             options: Mapping[str, Any]) -> Iterator[SourceBatch]:
        for batch in self.files.read(conn, entity, None, [], Window(), options):
            batch.table = records_of(batch.table)
            yield batch


def records_of(table: pa.Table) -> pa.Table:
    """The `record` column as a table of its own. Records whose values did not share types were
    written as JSON text (rejects.table); those are parsed back."""
    if "record" not in table.column_names:
        if table.num_rows == 0:
            return pa.table({})  # a batch that carries only bytes or failures
        raise RunError(f"This is not a rejected-records file: it has no \"record\" column "
                       f"(columns: {', '.join(table.column_names)}).")
    column = table.column("record")
    column = column.filter(column.is_valid())
    if pa.types.is_struct(column.type):
        return pa.Table.from_struct_array(column.combine_chunks())
    rows = [orjson.loads(text) for text in column.to_pylist()]
    names = dict.fromkeys(name for row in rows if isinstance(row, dict) for name in row)
    return pa.table({name: _column([row.get(name) if isinstance(row, dict) else None for row in rows])
                     for name in names})


def _column(values: list[Any]) -> pa.Array:
    """A field's values, typed when they share a type, else as text (the destination converts)."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([v if v is None or isinstance(v, str) else orjson.dumps(v).decode() for v in values],
                        pa.string())
