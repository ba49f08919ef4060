"""Marketo's Bulk Extract API: one export job per date window of at most 31 days (Marketo's cap),
create -> enqueue -> poll the status -> download the CSV file, streamed.

The file is fetched in byte ranges (the file endpoint honours `Range`, as Marketo documents for
partial and resumable downloads) and parsed by Arrow's streaming CSV reader, so memory stays
flat however large the export: no file is ever held whole. Marketo writes an empty value as
`null` in these files.

A full queue (error 1029 "Too many jobs in queue") is waited out; 1029 "Export daily quota
exceeded" (500 MB a day by default) fails the run with a clear message."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from connections.connectors.base import ConnectorError

from .client import MarketoApi

MAX_WINDOW = timedelta(days=31)
# One file request. Larger means fewer calls (they count against the rate limit), more memory.
RANGE_BYTES = 4 * 1024 * 1024
# Arrow's CSV block (rows per batch follow from it): measured with bench/marketo_bulk.py, 1 MB
# blocks let peak memory creep up ~30% from 100k to 1M records; 256 KB keeps it flat.
BLOCK_BYTES = 256 * 1024
POLL_SECONDS = (1, 2, 5, 10, 30, 60)  # then every minute (Marketo: poll no more than once a minute)
QUEUE_WAIT_SECONDS = 60.0
JOB_TIMEOUT_SECONDS = 6 * 3600
DONE_BAD = ("Failed", "Cancelled")


def marketo_time(when: datetime) -> str:
    """ISO-8601 without milliseconds, in UTC, as the filters want it."""
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) split into windows of at most 31 days, each [a, b)."""
    found = []
    while start < end:
        stop = min(start + MAX_WINDOW, end)
        found.append((start, stop))
        start = stop
    return found


@dataclass(frozen=True)
class Export:
    """What one kind of export job needs: its path below /bulk/v1/ and its filter."""

    path: str  # "leads", "activities", "customobjects/<name>_c"
    what: str  # "leads", for messages
    extra_filter: Mapping[str, Any] | None = None  # {"activityTypeIds": [6]}


def _job(answer: Any, what: str) -> dict:
    rows = answer.get("result") if isinstance(answer, dict) else None
    if not rows or not isinstance(rows[0], dict):
        raise ConnectorError(f"Marketo answered the export job of {what} without a job.")
    return rows[0]


def run_job(
    api: MarketoApi, export: Export, fields: Sequence[str], filter_field: str, start: datetime, end: datetime
) -> dict:
    """Create and enqueue one export job for [start, end) and wait until it is Completed; its
    status (exportId, fileSize, numberOfRecords)."""
    base = f"/bulk/v1/{export.path}/export"
    # endAt is inclusive in Marketo and records have whole seconds: end one second before.
    window = {
        filter_field: {"startAt": marketo_time(start), "endAt": marketo_time(end - timedelta(seconds=1))}
    }
    body = {"fields": list(fields), "format": "CSV", "filter": {**window, **(export.extra_filter or {})}}
    span = f"{export.what} {filter_field} {marketo_time(start)} to {marketo_time(end)}"
    job = _job(api.call("POST", f"{base}/create.json", f"the export job of {span}", body=body), span)
    export_id = str(job.get("exportId") or "")
    if not export_id:
        raise ConnectorError(f"Marketo did not return an exportId for the export job of {span}.")
    started = time.monotonic()
    while True:  # a full queue: wait for a place, as Marketo asks
        try:
            api.call("POST", f"{base}/{export_id}/enqueue.json", f"queueing the export job of {span}")
            break
        except ConnectorError as exc:
            if "error 1029" not in exc.message:
                raise
            if "quota" in exc.message.lower():
                raise ConnectorError(
                    f"Marketo's daily bulk export allowance is used up (error 1029, 500 MB a day "
                    f"unless your subscription has more) while exporting {span}. It resets at "
                    "midnight US Central time: run the flow again then.",
                    permanent=True,
                ) from None
            if time.monotonic() - started > JOB_TIMEOUT_SECONDS:
                raise ConnectorError(
                    f"Marketo's export queue stayed full for {JOB_TIMEOUT_SECONDS // 3600} hours "
                    f"(error 1029) while exporting {span}.",
                    permanent=False,
                ) from None
            api.sleep(QUEUE_WAIT_SECONDS)
    polls = 0
    while True:
        status = _job(
            api.call("GET", f"{base}/{export_id}/status.json", f"the status of the export of {span}"), span
        )
        state = str(status.get("status") or "")
        if state == "Completed":
            return status
        if state in DONE_BAD:
            reason = " ".join(str(status.get("errorMsg") or "no reason given").split())
            raise ConnectorError(f"Marketo's export job {export_id} of {span} ended {state}: {reason}")
        if time.monotonic() - started > JOB_TIMEOUT_SECONDS:
            raise ConnectorError(
                f"Marketo's export job {export_id} of {span} was still {state} after "
                f"{JOB_TIMEOUT_SECONDS // 3600} hours.",
                permanent=False,
            )
        api.sleep(POLL_SECONDS[min(polls, len(POLL_SECONDS) - 1)])
        polls += 1


class RangeFile(io.RawIOBase):
    """The export file as a read-only stream, fetched RANGE_BYTES at a time."""

    def __init__(self, api: MarketoApi, path: str, size: int | None, what: str):
        self.api, self.path, self.size, self.what = api, path, size, what
        self.offset = 0
        self.buffer = memoryview(b"")
        self.done = False

    def readable(self) -> bool:
        return True

    def _fetch(self) -> None:
        if self.size is not None and self.offset >= self.size:
            self.done = True
            return
        last = self.offset + RANGE_BYTES - 1
        if self.size is not None:
            last = min(last, self.size - 1)
        response = self.api.call(
            "GET",
            self.path,
            self.what,
            raw=True,
            headers={"Range": f"bytes={self.offset}-{last}", "Accept": "text/csv"},
        )
        if response.status == 200:  # the whole file: the server ignored Range
            self.done = True
            chunk = response.body[self.offset :]
        elif response.status == 206:
            chunk = response.body
        else:
            raise ConnectorError(f"Marketo answered {self.what} with HTTP {response.status}.")
        if not chunk:
            self.done = True
        self.offset += len(chunk)
        self.buffer = memoryview(chunk)

    def readinto(self, target) -> int:
        if not self.buffer and not self.done:
            self._fetch()
        n = min(len(target), len(self.buffer))
        target[:n] = self.buffer[:n]
        self.buffer = self.buffer[n:]
        return n


def read_file(
    api: MarketoApi, export: Export, status: Mapping[str, Any], types: Mapping[str, pa.DataType], span: str
) -> Iterator[tuple[pa.Table, int]]:
    """(batch, bytes) per block of the completed job's CSV file, typed by `types` (column -> type)."""
    export_id = str(status.get("exportId"))
    size = status.get("fileSize")
    size = int(size) if isinstance(size, int | str) and str(size).isdigit() else None
    if size == 0:
        return
    what = f"the export file of {export.what} (job {export_id}, {span})"
    raw = RangeFile(api, f"/bulk/v1/{export.path}/export/{export_id}/file.json", size, what)
    stream = io.BufferedReader(raw, buffer_size=64 * 1024)  # the range itself is the buffer
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES, encoding="utf8", use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict(types),
                null_values=["", "null"],
                strings_can_be_null=True,
                true_values=["true"],
                false_values=["false"],
            ),
        )
        seen, held = 0, None
        for batch in reader:  # each batch is yielded when the next is read, so the last gets the rest
            if held is not None:
                yield held, raw.offset - seen
                seen = raw.offset
            held = pa.Table.from_batches([batch])
        if held is not None:
            yield held, raw.offset - seen
    except pa.ArrowInvalid as exc:
        raise ConnectorError(
            f"Marketo sent a malformed page in {what}: {str(exc).splitlines()[0][:300]}. "
            "Nothing from this run was published."
        ) from None
