"""One asynchronous report: create it, poll its status until DONE, download its result file to a
temporary file and read its rows from there (CSV, one row per day and combination of dimensions).

Singular's statuses (get_report_status): QUEUED and STARTED (wait), DONE (download_url is set, good
for url_expires_in seconds), FAILED (with an error). A result that does not parse fails the run naming
Singular, the report and the line: nothing is published."""

from __future__ import annotations

import csv
import io
import itertools
import time
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import IO, Any

from connections.connectors.base import ConnectorError

from . import client
from .client import SingularApi

POLL_SECONDS = (1, 2, 5, 10, 20, 30)  # waits between status checks, then the last one again
REPORT_TIMEOUT_SECONDS = 3 * 3600
MAX_DAYS = 30  # AppFlow: "The date range for the flow cannot exceed 30 days."
DOWNLOAD_TRIES = 2  # an expired signed address is asked for again once
EXTRA = "\0extra"  # where csv puts the values of a row longer than the header


def date_chunks(first: date, last: date, days: int = MAX_DAYS) -> list[tuple[date, date]]:
    """first..last (both included) in pieces of at most `days` days."""
    chunks = []
    while first <= last:
        end = min(last, first + timedelta(days=days - 1))
        chunks.append((first, end))
        first = end + timedelta(days=1)
    return chunks


def create(api: SingularApi, form: Mapping[str, Any], what: str) -> str:
    value = api.post("api/v2.0/create_async_report", form, what)
    report_id = str(value.get("report_id") or "").strip()
    if not report_id:
        raise ConnectorError(f"Singular did not return a report_id for {what}.")
    return report_id


def wait(api: SingularApi, report_id: str, what: str) -> str:
    """The download address once the report is DONE; FAILED raises with Singular's reason."""
    started = time.monotonic()
    for attempt in itertools.count():
        value = api.get("api/v2.0/get_report_status", {"report_id": report_id}, what)
        status = str(value.get("status") or "").upper()
        if status == "DONE":
            url = str(value.get("download_url") or "")
            if not url:
                raise ConnectorError(f"Singular says report {report_id} ({what}) is DONE but gives no "
                                     "download_url.")
            return url
        if status == "FAILED":
            reason = " ".join(str(value.get("error") or value.get("message") or "no reason given").split())
            raise ConnectorError(f"Singular's report {report_id} ({what}) failed: {reason[:300]}")
        if status not in ("QUEUED", "STARTED"):
            raise ConnectorError(f"Singular's report {report_id} ({what}) is in a state Sluice does not "
                                 f"know: {status[:40] or '(none)'}.")
        if time.monotonic() - started > REPORT_TIMEOUT_SECONDS:
            raise ConnectorError(f"Singular's report {report_id} ({what}) was still {status} after "
                                 f"{REPORT_TIMEOUT_SECONDS // 3600} hours.", permanent=False)
        client.sleep(POLL_SECONDS[min(attempt, len(POLL_SECONDS) - 1)])
    return ""


def fetch(api: SingularApi, report_id: str, what: str, sink: IO[bytes]) -> None:
    """Poll the report and download its result into `sink`."""
    for _ in range(DOWNLOAD_TRIES):
        if api.download(wait(api, report_id, what), sink, what):
            sink.seek(0)
            return
    raise ConnectorError(f"Singular's result file of report {report_id} ({what}) could not be downloaded: "
                         "its address expired twice.", permanent=False)


def rows(result: IO[bytes], columns: list[str], numbers: set[str], where: str) -> Iterator[dict[str, Any]]:
    """The result file's rows as {column: value}: metrics as numbers, the rest as text, "" as null.
    `where` names the report in errors."""
    text = io.TextIOWrapper(result, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text, restkey=EXTRA)
    try:
        header = reader.fieldnames or []
        missing = [c for c in columns if c not in header]
        if missing:
            raise ConnectorError(f"Singular's result file of {where} has no column {', '.join(missing)} "
                                 f"(it has {', '.join(header[:20]) or 'none'}).")
        for row in reader:
            line = reader.line_num
            if EXTRA in row or any(v is None for v in row.values()):
                more = "more" if EXTRA in row else "fewer"
                raise ConnectorError(f"Singular's result file of {where}, line {line}, has {more} values "
                                     "than its header. Nothing was written.")
            yield {c: _cell(row[c], c in numbers, where, line, c) for c in columns}
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ConnectorError(f"Singular's result file of {where} is not readable CSV ({exc}). Nothing was "
                             "written.") from None
    finally:
        text.detach()  # the caller closes the file


def _cell(value: str, number: bool, where: str, line: int, column: str) -> Any:
    if value == "" or value is None:
        return None
    if not number:
        return value
    try:
        return float(value)
    except ValueError:
        raise ConnectorError(f"Singular's result file of {where}, line {line}: {column} is \"{value[:40]}\", "
                             "not a number. Nothing was written.") from None
