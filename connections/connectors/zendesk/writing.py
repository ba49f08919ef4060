"""Zendesk as a destination: insert, update and upsert tickets, users and organizations through the
bulk endpoints (100 records a call, as Zendesk allows), each call a background job whose status
is polled (`/api/v2/job_statuses/{id}.json`) until it completes; each record the job reports as
failed becomes a RecordFailure naming the record and Zendesk's error.

What cannot be undone: Zendesk has no transactions, so a record Zendesk accepted stays. To keep
that to what Zendesk itself refuses, nothing is sent until the source has been read to the end
(a source failure writes nothing) and every record has been checked here (a missing key, a value
that is not JSON). With failOnFirstDestinationError (the default), the run stops after the first
call in which Zendesk refused a record; what earlier calls wrote, and the accepted records of that
call, stay in Zendesk (AppFlow has the same limit) and the error says how many."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from connections.connectors import errorhandling, fencing
from connections.connectors.base import ConnectorError, RecordFailure, WriteResult

from .client import ZendeskApi

CHUNK = 100  # Zendesk's maximum per bulk call
POLL_SECONDS = (0.2, 0.5, 1.0, 2.0)  # then every 2 s
MAX_JOB_SECONDS = 600.0
DONE = ("completed", "failed", "killed")


@dataclass(frozen=True)
class Endpoints:
    create: str
    update: str
    upsert: str | None
    # idFieldNames each operation accepts (Zendesk's own matching rules)
    update_keys: tuple[str, ...]
    upsert_keys: tuple[str, ...] = ()


ENDPOINTS = {
    "tickets": Endpoints("api/v2/tickets/create_many.json", "api/v2/tickets/update_many.json", None, ("id",)),
    "users": Endpoints("api/v2/users/create_many.json", "api/v2/users/update_many.json",
                       "api/v2/users/create_or_update_many.json", ("id", "external_id"),
                       ("email", "external_id")),
    "organizations": Endpoints("api/v2/organizations/create_many.json",
                               "api/v2/organizations/update_many.json", None, ("id",)),
}
OPERATIONS = ("INSERT", "UPDATE", "UPSERT")
READ_ONLY = {"url", "created_at", "updated_at", "raw_subject", "has_incidents", "satisfaction_rating",
             "last_login_at", "shared", "verified"}
LIST_FIELDS = {"tags", "collaborator_ids", "follower_ids", "email_cc_ids", "domain_names", "via"}
DESTINATION_KEYS = {"object", "idFieldNames", "writeOperationType", "errorHandlingConfig"}


def check_properties(props: Any) -> list[tuple[str, str]]:
    """Problems with a Zendesk destinationConnectorProperties block."""
    if not isinstance(props, Mapping):
        return [("", "must be a JSON object with object and writeOperationType")]
    problems = [(k, "is not a property of a Zendesk destination") for k in props if k not in DESTINATION_KEYS]
    entity = props.get("object")
    names = ", ".join(ENDPOINTS)
    if entity not in ENDPOINTS:
        problems.append(("object", f'"{entity}" is not an object Sluice writes to Zendesk ({names})'
                                   if entity else f"is required ({names})"))
    operation = props.get("writeOperationType", "INSERT")
    if operation not in OPERATIONS:
        problems.append(("writeOperationType", f"must be one of {', '.join(OPERATIONS)}"))
    ids = props.get("idFieldNames") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        problems.append(("idFieldNames", "must be a list of field names"))
        ids = []
    if entity in ENDPOINTS and operation in ("UPDATE", "UPSERT"):
        ends = ENDPOINTS[entity]
        keys = ends.update_keys if operation == "UPDATE" else ends.upsert_keys
        if not keys:
            problems.append(("writeOperationType", f"Zendesk has no bulk upsert for {entity}: use INSERT, or "
                                                   f"UPDATE with idFieldNames [{ends.update_keys[0]}]"))
        elif len(ids) != 1 or ids[0] not in keys:
            problems.append(("idFieldNames", f"{operation} of {entity} finds the Zendesk record by one of "
                                             f"{', '.join(keys)}: give exactly one"))
    problems += errorhandling.check(props.get("errorHandlingConfig"))
    return problems


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def payload(record: Mapping[str, Any], entity: str, operation: str) -> dict[str, Any]:
    """The Zendesk JSON object for one record: empty values left out (Zendesk keeps what it has),
    read-only fields (and, but for UPDATE, id) dropped, custom_field_<id> / user_field_<key>
    columns put back where Zendesk wants them, list fields read back from their JSON text. Raises
    ValueError with the reason."""
    out: dict[str, Any] = {}
    custom: list[dict[str, Any]] = []
    user_fields: dict[str, Any] = {}
    for name, value in record.items():
        # Zendesk assigns ids: an id column (say, the source system's) is only sent to UPDATE
        if value is None or name in READ_ONLY or (name == "id" and operation != "UPDATE"):
            continue
        value = _plain(value)
        if name in LIST_FIELDS and isinstance(value, str):
            try:
                value = json.loads(value) if value.strip()[:1] in ("[", "{") else \
                    [part.strip() for part in value.split(",") if part.strip()]
            except ValueError:
                raise ValueError(f"{name} is not a JSON list ({value[:60]})") from None
        if name.startswith("custom_field_") and entity == "tickets" and name[13:].isdigit():
            custom.append({"id": int(name[13:]), "value": value})
        elif name.startswith("user_field_") and entity == "users":
            user_fields[name[11:]] = value
        else:
            out[name] = value
    if custom:
        out["custom_fields"] = custom
    if user_fields:
        out["user_fields"] = user_fields
    if entity == "tickets" and operation == "INSERT":
        # a ticket's description is its first comment: Zendesk creates it from comment.body
        description = out.pop("description", None)
        if "comment" in out and isinstance(out["comment"], str):
            out["comment"] = {"body": out["comment"]}
        elif "comment" not in out and description:
            out["comment"] = {"body": description}
    elif entity == "tickets" and isinstance(out.get("comment"), str):
        out["comment"] = {"body": out["comment"]}
    return out


@dataclass
class _Pending:
    number: int  # the record's place in the run, 1-based
    record: dict[str, Any]
    body: dict[str, Any]


def write(api: ZendeskApi, entity: str, batches: Iterable[pa.Table],
          options: Mapping[str, Any]) -> WriteResult:
    problems = check_properties({k: v for k, v in options.items() if k in DESTINATION_KEYS | {"object"}}
                                | {"object": entity})
    if problems:
        raise ConnectorError("; ".join(f"{k}: {m}" if k else m for k, m in problems))
    operation = str(options.get("writeOperationType") or "INSERT")
    key = (options.get("idFieldNames") or [None])[0]
    fail_first = errorhandling.fail_on_first(options)
    result = WriteResult(location=f"{api.base} {entity}")
    # Read the whole source first: if it fails, nothing has been sent.
    tables = [t for t in batches if t.num_rows]
    pending: list[_Pending] = []
    number = 0
    for table in tables:
        for record in table.to_pylist():
            number += 1
            try:
                body = payload(record, entity, operation)
                if key and body.get(key) in (None, ""):
                    raise ValueError(f"has no {key}, which {operation} needs to find the Zendesk "
                                     f"{entity[:-1]}")
            except ValueError as exc:
                failure = RecordFailure(f"record {number}", str(exc), record)
                if fail_first:
                    raise ConnectorError(f"record {number}: {exc}. Nothing was written to Zendesk.") from None
                result.failures.append(failure)
                continue
            pending.append(_Pending(number, record, body))
    ends = ENDPOINTS[entity]
    path, method = {"INSERT": (ends.create, "POST"), "UPDATE": (ends.update, "PUT"),
                    "UPSERT": (ends.upsert, "POST")}[operation]
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start:start + CHUNK]
        body = {entity: [p.body for p in chunk]}
        # Each call makes records visible: a run that lost its lease sends no more.
        fencing.before_publish()
        try:
            answer = api.send(method, path, body, what=f"{operation} of {len(chunk)} {entity}")
            refused = _refused(_job_results(api, answer, entity), chunk)
        except ConnectorError as exc:
            if not result.records_written:
                raise  # nothing written yet: retrying the run (when transient) is safe
            # A retried run would send again what was written: stop here, for a person to decide.
            raise _after_some(ConnectorError(
                f"{exc.message} {result.records_written} records were written to Zendesk before this; the "
                "run is not retried automatically, so they are not written twice.", permanent=True),
                result) from None
        written = len(chunk) - len(refused)
        result.records_written += written
        result.bytes_written += sum(len(json.dumps(p.body, default=str).encode())
                                    for p in chunk if p.number not in refused)
        failures = [RecordFailure(f"record {p.number}", f"Zendesk refused it: {refused[p.number]}", p.record)
                    for p in chunk if p.number in refused]
        if failures and fail_first:
            first = failures[0]
            raise _after_some(ConnectorError(
                f"{first.where}: {first.reason}. The run stopped there (failOnFirstDestinationError): "
                f"{result.records_written} records Zendesk accepted before it stay written; a SaaS API "
                "cannot take them back."), result)
        result.failures.extend(failures)
    return result


def _after_some(error: ConnectorError, result: WriteResult) -> ConnectorError:
    # The engine reports these as the run's written counters: Zendesk keeps what it accepted.
    error.records_committed, error.bytes_committed = result.records_written, result.bytes_written
    return error


def _job_results(api: ZendeskApi, answer: Any, entity: str) -> list[dict]:
    """Wait for the bulk call's job and return its results."""
    job = (answer or {}).get("job_status") if isinstance(answer, dict) else None
    if not isinstance(job, dict) or not job.get("id"):
        raise ConnectorError(f"Zendesk answered the bulk write of {entity} without a job status.")
    waited, polls = 0.0, 0
    while str(job.get("status")) not in DONE:
        if waited >= MAX_JOB_SECONDS:
            raise ConnectorError(f"Zendesk's job {job['id']} writing {entity} was still {job.get('status')} "
                                 f"after {int(waited)} s; check it in Zendesk before running the flow again.")
        pause = POLL_SECONDS[min(polls, len(POLL_SECONDS) - 1)]
        time.sleep(pause)
        waited, polls = waited + pause, polls + 1
        job = (api.send("GET", f"api/v2/job_statuses/{job['id']}.json", what="the job status") or {}).get(
            "job_status") or {}
    if job.get("status") != "completed" and not job.get("results"):
        raise ConnectorError(f"Zendesk's job writing {entity} ended {job.get('status')}: "
                             f"{job.get('message') or 'no reason given'}.")
    return [r for r in job.get("results") or [] if isinstance(r, dict)]


def _refused(results: list[dict], chunk: list[_Pending]) -> dict[int, str]:
    """{record number: Zendesk's error} for the results that failed, matched to the chunk by index
    (or by id / external_id / email when Zendesk gives no index)."""
    refused: dict[int, str] = {}
    for item in results:
        failed = item.get("success") is False or bool(item.get("error")) or \
            str(item.get("status", "")).lower() == "failed"
        if not failed:
            continue
        index = item.get("index")
        found = chunk[index] if isinstance(index, int) and 0 <= index < len(chunk) else None
        if found is None:
            for key in ("id", "external_id", "email"):
                if item.get(key) is not None:
                    found = next((p for p in chunk if p.body.get(key) == item[key]), None)
                    if found:
                        break
        details = item.get("details")
        if details is not None and not isinstance(details, str):
            details = json.dumps(details, ensure_ascii=False)
        reason = ": ".join(str(x) for x in (item.get("error") or "Failed", details) if x)
        if found is not None:
            refused[found.number] = reason[:500]
    return refused
