"""Run one flow: source batches -> plan stages -> destination, streaming, with counters,
cancellation between batches and a log a person can read."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from connections.connectors import apicalls, fencing
from connections.connectors import rejects as rejected
from connections.connectors.base import (
    ConnectionInfo,
    Connector,
    ConnectorError,
    MissingAtSource,
    RecordFailure,
    SourceFile,
    Window,
)

from .counters import Counters, RunResult
from .errors import DiscardOnCancel, MissingFields, RunError
from .limits import NO_LIMITS, RunLimits
from .plan import Plan, compile_plan
from .rejected import RejectedRecords
from .work import Work

# failures logged one by one; the rest are counted (and the first 100 kept in the counters)
_LOGGED_FAILURES = 20
# how often, at most, the lease is asked for between batches
_FENCE_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class Endpoint:
    """A connector and the plain connection it works with."""

    connector: Connector
    connection: ConnectionInfo


def run_flow(
    document: Mapping[str, Any],
    source: Endpoint,
    destination: Endpoint,
    *,
    execution_id: str,
    window: Window | None = None,
    should_cancel: Callable[[], bool] = lambda: False,
    on_progress: Callable[[Counters], None] = lambda c: None,
    log: Callable[[str, str], None] = lambda level, msg: None,
    rejects: Endpoint | None = None,
    limits: RunLimits = NO_LIMITS,
    reprocess: RejectedRecords | None = None,
    attempt: int = 1,
    holds_lease: Callable[[], bool] = lambda: True,
    event_records: list[Mapping[str, Any]] | None = None,
) -> RunResult:
    """Move the records of a flow `document` (CreateFlow shape) from `source` to `destination`.

    Reads the entity named by the single block of sourceFlowConfig.sourceConnectorProperties,
    applies the document's tasks batch by batch and writes to the entity named by the first
    destination's block, with `executionId` added to the destination options. Memory stays that
    of a few batches whatever the size of the source.

    Between batches `should_cancel()` is asked; when it answers True the run stops reading, the
    destination commits what it received and the result's status is "Canceled". `on_progress`
    gets the counters after every batch; `log(level, message)` ("INFO" | "WARNING") gets the plan
    in words, warnings and record failures, and a summary.

    Records the destination refused (with errorHandlingConfig.failOnFirstDestinationError false)
    are written through `rejects` (an S3 or Local files endpoint) when the destination's
    errorHandlingConfig names a bucket or folder.

    `limits` caps what one run may read (records, bytes): past one the run stops with RunError.
    `reprocess` reads an earlier run's rejected records instead of `source` (engine/rejected.py).
    `event_records` are the events that triggered the run (Salesforce events, received by the
    subscriber): the source reads them (as options["eventRecords"]) instead of calling its API.
    `attempt` numbers this try at the execution; `holds_lease()` answers whether it still may
    publish (the worker's lease, flows/runner.py). It is asked between batches (at most once a
    second) and, every time, by the destination right before it makes data visible (through
    connections/connectors/fencing.py);
    when it answers False the run stops with fencing.LeaseLost and the destination discards what
    it staged: an attempt the reconciler gave up on publishes nothing.

    Raises RunError (message for a person, counters so far) when the tasks cannot run, a field is
    missing, or a connector raises ConnectorError. Other exceptions from connectors propagate.
    When the run raises, the counters' records_written and bytes_written are what the destination
    committed: 0, since a destination discards everything on a failure.
    """
    started = time.monotonic()
    counters = Counters()
    try:
        plan = compile_plan(document.get("tasks"))
        source_props = _connector_block(
            document.get("sourceFlowConfig"),
            "sourceFlowConfig",
            "sourceConnectorProperties",
            source.connector,
        )
        incremental = (document.get("sourceFlowConfig") or {}).get("incrementalPullConfig")
        if incremental:
            # the source needs the timestamp field to apply the window (e.g. a database column)
            source_props = {**source_props, "incrementalPullConfig": incremental}
        destinations = document.get("destinationFlowConfigList")
        if not isinstance(destinations, list) or not destinations:
            raise RunError("destinationFlowConfigList: the flow needs one destination.")
        destination_props = _connector_block(
            destinations[0],
            "destinationFlowConfigList[0]",
            "destinationConnectorProperties",
            destination.connector,
        )
        if event_records is not None:
            source_props = {**source_props, "eventRecords": event_records}
        if reprocess is not None:
            source = Endpoint(reprocess.source(), reprocess.connection)
            source_props, plan = reprocess.options, reprocess.plan(plan)
            log("INFO", reprocess.describe())
    except RunError as exc:
        exc.counters = counters
        raise
    source_entity = source.connector.entity_name(source_props)
    destination_entity = destination.connector.entity_name(destination_props)
    log("INFO", f"Plan: {plan.describe()}.")
    pushed = pushdown_filters(plan, source.connector)
    if pushed:
        log("INFO", f"{_name(source)} filters at the source too: "
                    f"{'; '.join(f['description'] for f in pushed)} (the engine checks again).")
    # Files a source hands over beside its records (SourceBatch.files): filled while the
    # destination consumes the batches, read by it when it publishes, deleted here afterwards.
    handed: list[SourceFile] = []
    # flowName and sourceEntity: what an event destination names its events by (EventBridge)
    options = {**destination_props, "executionId": execution_id, "sourceFiles": handed,
               "flowName": str(document.get("flowName") or ""), "sourceEntity": source_entity}
    if plan.partition_keys:
        if destination.connector.partitions_output:
            options["partitionKeys"] = list(plan.partition_keys)
        else:
            log("WARNING", f"{_name(destination)} does not partition its output; the Partition task "
                           f"({', '.join(plan.partition_keys)}) is ignored.")
    log(
        "INFO",
        f"Reading {source_entity} from {_name(source)}; "
        f"writing {destination_entity} to {_name(destination)}.",
    )

    canceled = [False]
    discard = not destination.connector.publishes_on_cancel

    last_fence = [time.monotonic()]

    def fence() -> None:
        # Between batches, at most once a second (each ask renews the lease in the database); the
        # destination's check right before its commit is never skipped.
        if time.monotonic() - last_fence[0] < _FENCE_EVERY_SECONDS:
            return
        last_fence[0] = time.monotonic()
        if not holds_lease():
            raise fencing.LeaseLost(attempt)

    batches = _batches(
        plan,
        source,
        source_entity,
        source_props,
        window or Window(),
        pushed,
        counters,
        should_cancel,
        on_progress,
        log,
        canceled,
        discard,
        limits,
        fence,
        handed,
        destination,
        id_fields=_id_fields(destination_props),
    )
    try:
        # The destination pulls the batches, and with them the source's calls: _batches says
        # whose calls those are around each pull (connections/connectors/apicalls.py).
        with apicalls.on_behalf_of(apicalls.DESTINATION), fencing.held(attempt, holds_lease):
            result = destination.connector.write(
                destination.connection,
                destination_entity,
                batches,
                options=options,
            )
    except DiscardOnCancel:
        counters.records_written = counters.bytes_written = 0
        on_progress(counters)
        log("INFO", _summary("Canceled", counters, "", time.monotonic() - started))
        return RunResult("Canceled", counters)
    except BaseException as exc:
        # The destination discarded what it was handed (a SaaS API cannot take back what it
        # accepted: its error says how much that was): the counters say what was committed.
        counters.records_written = getattr(exc, "records_committed", 0)
        counters.bytes_written = getattr(exc, "bytes_committed", 0)
        if isinstance(exc, RunError):
            exc.counters = counters
            raise
        if not isinstance(exc, ConnectorError):
            raise
        raise RunError(
            f"Writing {destination_entity} to {_name(destination)} failed: {exc.message}",
            counters,
            retryable=not exc.permanent,
            retry_after=exc.retry_after,
        ) from None
    finally:
        batches.close()
        for handed_file in handed:
            with contextlib.suppress(OSError):
                os.unlink(handed_file.path)

    if handed:
        size = sum(f.size for f in handed)
        log("INFO", f"{len(handed):,} file{'s' if len(handed) != 1 else ''} from {_name(source)} "
                    f"({_size(size)}) stored beside the records.")
    counters.records_written = result.records_written
    counters.bytes_written = result.bytes_written
    for failure in counters.add_failures(result.failures)[:_LOGGED_FAILURES]:
        log("WARNING", f"{failure.where}: {failure.reason}")
    config = destination_props.get("errorHandlingConfig")
    rejects_location = ""
    if result.failures and rejects is not None and rejected.wanted(config):
        rejects_location = _write_rejects(rejects, config, result.failures, execution_id, log)
    on_progress(counters)
    status = "Canceled" if canceled[0] else "Successful"
    log("INFO", _summary(status, counters, result.location, time.monotonic() - started))
    return RunResult(status, counters, result.location, rejects_location)


def _id_fields(destination_props: Mapping[str, Any]) -> tuple[str, ...]:
    """The destination's idFieldNames: what a person knows a record by in an error."""
    names = destination_props.get("idFieldNames") if isinstance(destination_props, Mapping) else None
    return tuple(n for n in names if isinstance(n, str)) if isinstance(names, list) else ()


def _batches(
    plan: Plan,
    source: Endpoint,
    entity: str,
    props: Mapping[str, Any],
    window: Window,
    pushed: list[dict[str, Any]],
    counters: Counters,
    should_cancel: Callable[[], bool],
    on_progress: Callable[[Counters], None],
    log: Callable[[str, str], None],
    canceled: list[bool],
    discard: bool = False,
    limits: RunLimits = NO_LIMITS,
    fence: Callable[[], None] = lambda: None,
    handed: list[SourceFile] | None = None,
    destination: Endpoint | None = None,
    id_fields: tuple[str, ...] = (),
) -> Iterator[pa.Table]:
    """The transformed batches the destination consumes; ends early on a cancel request, or
    raises DiscardOnCancel then when `discard` (the destination publishes nothing of a cancelled run)."""
    fields = list(plan.source_fields) if plan.source_fields is not None else None
    if should_cancel():
        canceled[0] = True
        log("INFO", "Cancel requested before the first batch: nothing was read.")
        if discard:
            raise DiscardOnCancel
        return
    try:
        with apicalls.on_behalf_of(apicalls.SOURCE):
            reading = iter(source.connector.read(source.connection, entity, fields, pushed, window, props))
    except ConnectorError as exc:
        raise _read_error(entity, source, exc) from None
    logged = 0
    first_record = 1
    try:
        while True:
            try:
                with apicalls.on_behalf_of(apicalls.SOURCE):
                    batch = next(reading)
            except StopIteration:
                return
            except ConnectorError as exc:
                raise _read_error(entity, source, exc) from None
            if batch.files:
                if handed is None or destination is None or not destination.connector.accepts_files:
                    for orphan in batch.files:
                        with contextlib.suppress(OSError):
                            os.unlink(orphan.path)
                    where = _name(destination) if destination is not None else "This destination"
                    raise RunError(f"{_name(source)} hands over files beside the records (e.g. "
                                   f"{batch.files[0].name}), and {where} cannot store files: "
                                   "write to S3 or Local files, or ask for the records only.")
                handed.extend(batch.files)
            failed_at_source = len(batch.failures)
            counters.records_processed += batch.table.num_rows + failed_at_source
            counters.bytes_processed += batch.bytes_read
            limits.check(counters)
            for warning in batch.warnings:
                log("WARNING", warning)
            for note in batch.notes:
                log("INFO", note)
            logged = _count_failures(counters, batch.failures, logged, log)
            # a batch without columns only carries bytes and failures (e.g. a file whose every line failed)
            if batch.table.num_columns or batch.table.num_rows:
                work = Work.start(batch.table, first_record)
                work.id_fields = id_fields  # errors about a record name it by these too
                first_record += batch.table.num_rows
                try:
                    plan.run(work)
                except MissingFields as exc:
                    raise RunError(f"{exc.message} {entity} from {_name(source)} has no such field now. "
                                   + remap_advice(source, exc.fields)) from None
                counters.records_filtered += work.filtered
                counters.records_dropped += work.dropped
                logged = _count_failures(counters, work.failures, logged, log, extra=work.failed)
                yield work.table
                # handed over; the destination's count wins at the end
                counters.records_written += work.table.num_rows
            on_progress(counters)
            fence()  # a worker that lost its lease stops here, and its destination discards
            if should_cancel():
                canceled[0] = True
                stopped = f"Cancel requested: stopped after {counters.records_processed:,} records; "
                if discard:
                    log("INFO", stopped + "this destination publishes nothing of a cancelled run, "
                                          "so what was staged is deleted and nothing is written.")
                    raise DiscardOnCancel
                log("INFO", stopped + "what was written so far is kept.")
                return
    finally:
        close = getattr(reading, "close", None)
        if close is not None:
            with apicalls.on_behalf_of(apicalls.SOURCE):
                close()  # let the source release files and connections now, not at garbage collection


def pushdown_filters(plan: Plan, connector: Connector) -> list[dict[str, Any]]:
    """The Filter tasks `connector` says it can apply at the source, as plain values:
    {"task", "field", "operator", "values" (texts), "dataType" (or None), "description"}.
    The engine applies every filter again, so a source may apply them or not: the records
    written are the same either way."""
    operators = set(getattr(connector, "pushdown_operators", ()))
    return [
        {"task": c.task, "field": c.field, "operator": c.operator, "values": list(c.values),
         "dataType": c.kind, "description": c.describe()}
        for c in plan.filters
        if c.operator in operators
    ]


def _count_failures(
    counters: Counters, failures: list, logged: int, log: Callable[[str, str], None], extra: int | None = None
) -> int:
    """Count failures (`extra`: how many there were, when only some came with a reason) and log
    the first ones; returns how many have been logged so far."""
    kept = counters.add_failures(failures)
    if extra is not None and extra > len(failures):
        counters.record_failures += extra - len(failures)
    for failure in kept:
        if logged < _LOGGED_FAILURES:
            log("WARNING", f"{failure.where}: {failure.reason}")
        elif logged == _LOGGED_FAILURES:
            log("WARNING", "More records failed; they are counted and the first "
                           f"{Counters.MAX_KEPT_FAILURES} are kept with the execution.")
        logged += 1
    return logged


def _write_rejects(
    rejects: Endpoint,
    config: Mapping[str, Any],
    failures: list[RecordFailure],
    execution_id: str,
    log: Callable[[str, str], None],
) -> str:
    """Write refused records with their reasons; returns where they went ("" when they could not
    be written). The run's data is committed by now, so a failure here is a warning, not the run's
    error."""
    entity, options = rejected.entity_and_options(rejects.connector.key(), config, execution_id)
    try:
        written = rejects.connector.write(
            rejects.connection, entity, iter([rejected.table(failures)]), options
        )
    except ConnectorError as exc:
        log(
            "WARNING",
            f"The {len(failures):,} rejected records could not be written to {entity}: {exc.message}",
        )
        return ""
    log(
        "INFO",
        f"{written.records_written:,} rejected records, with their reasons, written to {written.location}.",
    )
    return written.location


def _read_error(entity: str, source: Endpoint, exc: ConnectorError) -> RunError:
    advice = ""
    if isinstance(exc, MissingAtSource):
        advice = " " + remap_advice(source, exc.fields)
    return RunError(
        f"Reading {entity} from {_name(source)} failed: {exc.message}{advice}", retryable=not exc.permanent,
        retry_after=exc.retry_after,
    )


def remap_advice(source: Endpoint, fields: tuple[str, ...] | list[str]) -> str:
    """What to do when the object or fields a flow was built on are gone from the source: the
    wizard's field list may be cached from before (connections/metadata.py), hence Refresh fields."""
    label = source.connector.display_name or source.connector.key()
    if fields:
        them = "it" if len(fields) == 1 else "them"
        return (f"If {them} {'was' if len(fields) == 1 else 'were'} renamed or deleted in {label}, edit the "
                f"flow, choose Refresh fields, and remap the tasks that use {them}; otherwise correct the "
                "field names in the flow's tasks.")
    return (f"If the object was renamed or deleted in {label}, edit the flow, choose Refresh fields, and "
            "pick its source object again.")


def _connector_block(config: Any, path: str, key: str, connector: Connector) -> Mapping[str, Any]:
    """The connector's block of source/destinationConnectorProperties: the single value, or the
    one under the connector's properties_key when there are several."""
    blocks = config.get(key) if isinstance(config, Mapping) else None
    if not isinstance(blocks, Mapping) or not blocks:
        raise RunError(f'{path}.{key}: must hold one connector block, like {{"CustomConnector": {{...}}}}.')
    if len(blocks) == 1:
        props = next(iter(blocks.values()))
    elif connector.properties_key in blocks:
        props = blocks[connector.properties_key]
    else:
        raise RunError(f"{path}.{key}: holds {', '.join(blocks)}; keep only the block of the connector used.")
    if not isinstance(props, Mapping):
        raise RunError(f"{path}.{key}: the connector block must be an object.")
    return props


def _name(endpoint: Endpoint) -> str:
    label = endpoint.connector.display_name or endpoint.connector.key()
    return f"{label} ({endpoint.connection.name})" if endpoint.connection.name else label


def _summary(status: str, counters: Counters, location: str, seconds: float) -> str:
    rate = counters.records_processed / seconds if seconds > 0 else 0.0
    failed = f"; {counters.record_failures:,} records failed" if counters.record_failures else ""
    if counters.records_filtered:
        failed += f"; {counters.records_filtered:,} filtered out"
    if counters.records_dropped:
        failed += f"; {counters.records_dropped:,} dropped by validation"
    where = f" to {location}" if location else ""
    verb = "Canceled" if status == "Canceled" else "Done"
    return (
        f"{verb}: read {counters.records_processed:,} records ({_size(counters.bytes_processed)}), "
        f"wrote {counters.records_written:,} records ({_size(counters.bytes_written)}){where}{failed}; "
        f"{seconds:.1f} s, {rate:,.0f} records/s."
    )


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{count:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} bytes"
