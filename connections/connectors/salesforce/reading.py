"""Reading one SOQL query: the REST API (`query` / `queryAll`, following nextRecordsUrl) or a
Bulk API 2.0 query job (create, poll the state, CSV results paged with Sforce-Locator)."""

from __future__ import annotations

import csv
import io
import itertools
import time
from collections.abc import Iterator

from connections.connectors.base import ConnectorError

from .client import SalesforceApi

REST_BATCH_SIZE = 2000  # records per page of the REST query (Salesforce's default and maximum)
BULK_PAGE_RECORDS = 50_000  # records per page of Bulk API 2.0 results (maxRecords)
POLL_SECONDS = (1, 2, 5, 10, 20, 30)  # waits between job state checks, then the last one again
JOB_TIMEOUT_SECONDS = 6 * 3600


def count(api: SalesforceApi, query: str, include_deleted: bool) -> int:
    body = api.json(
        "GET",
        "queryAll/" if include_deleted else "query/",
        params={"q": query},
        subject="counting the records (SELECT COUNT())",
    )
    return int(body.get("totalSize") or 0)


def rest_pages(
    api: SalesforceApi, query: str, include_deleted: bool, entity: str
) -> Iterator[tuple[list[dict], int]]:
    """(records, bytes of the page) per page, following nextRecordsUrl until done."""
    headers_subject = f'the query of object "{entity}"'
    response = api.request(
        "GET", "queryAll/" if include_deleted else "query/", params={"q": query}, subject=headers_subject
    )
    while True:
        body = response.json()
        yield [r for r in body.get("records") or []], len(response.body)
        following = body.get("nextRecordsUrl")
        if body.get("done", True) or not following:
            return
        response = api.request("GET", str(following), subject=headers_subject)


def wait(api: SalesforceApi, path: str, what: str, sleep=time.sleep) -> dict:
    """Poll a job until it is complete; Failed / Aborted raise with Salesforce's errorMessage."""
    started = time.monotonic()
    for attempt in itertools.count():
        job = api.json("GET", path, subject=what)
        state = job.get("state")
        if state == "JobComplete":
            return job
        if state in ("Failed", "Aborted"):
            message = " ".join(str(job.get("errorMessage") or "no reason given").split())
            raise ConnectorError(f"Salesforce's Bulk API 2.0 job for {what} {state.lower()}: {message}")
        if time.monotonic() - started > JOB_TIMEOUT_SECONDS:
            raise ConnectorError(
                f"Salesforce's Bulk API 2.0 job for {what} was still {state} after "
                f"{JOB_TIMEOUT_SECONDS // 3600} hours.",
                permanent=False,
            )
        sleep(POLL_SECONDS[min(attempt, len(POLL_SECONDS) - 1)])
    return {}


def bulk_pages(
    api: SalesforceApi,
    query: str,
    include_deleted: bool,
    entity: str,
) -> Iterator[tuple[list[dict], int]]:
    """(rows as dicts of CSV text, bytes) per page of the job's results. An empty cell is null:
    Salesforce keeps no empty text, so the REST API answers null for the same field."""
    what = f'the query of object "{entity}"'
    job = api.json(
        "POST",
        "jobs/query",
        subject=what,
        json_body={
            "operation": "queryAll" if include_deleted else "query",
            "query": query,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        },
    )
    job_id = str(job.get("id") or "")
    if not job_id:
        raise ConnectorError("Salesforce did not return a job id for the Bulk API 2.0 query.")
    wait(api, f"jobs/query/{job_id}", what)
    locator = ""
    while True:
        params = {"maxRecords": BULK_PAGE_RECORDS, **({"locator": locator} if locator else {})}
        response = api.request(
            "GET", f"jobs/query/{job_id}/results", params=params, accept="text/csv", subject=what
        )
        text = response.body.decode("utf-8-sig")
        rows = [
            {k: (v if v != "" else None) for k, v in row.items()}
            for row in csv.DictReader(io.StringIO(text, newline=""))
        ]
        yield rows, len(response.body)
        locator = response.headers.get("sforce-locator") or ""
        if not locator or locator == "null":
            return
