"""Writing to one Salesforce object: INSERT, UPDATE, UPSERT (on an external id field) or DELETE,
through sObject Collections (200 records a call) or, for large writes, a Bulk API 2.0 ingest job
(create, upload CSV, close, poll, failedResults).

Salesforce has no transaction across calls, so the records are first spooled to a local file: a
source that fails part-way sends nothing, and records that cannot be written (no key, a column the
object does not have or cannot write) are refused before the first call. What Salesforce itself
refuses comes back per record with its statusCode and message: with failOnFirstDestinationError
(the default without an errorHandlingConfig) the run stops there — each call being all-or-none, the
call that failed wrote nothing, earlier calls stay written — otherwise the rest is written and each
refused record becomes a RecordFailure."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pyarrow as pa

from connections.connectors import errorhandling, fencing
from connections.connectors.base import ConnectorError, RecordFailure, WriteResult

from . import catalog, reading
from .catalog import Field
from .client import SalesforceApi

COLLECTION_SIZE = 200  # sObject Collections' maximum per call
BULK_WRITE_THRESHOLD = 1_000  # AUTOMATIC: Bulk API 2.0 from this many records on, as in AppFlow
BULK_UPLOAD_BYTES = 100 * 1024 * 1024  # CSV data per ingest job (Salesforce allows 150 MB base64)
OPERATIONS = ("INSERT", "UPDATE", "UPSERT", "DELETE")


class Spool:
    """The batches of a write, each in a temporary Arrow file, so that nothing is sent before the
    source has finished. Batches may differ in their columns' types (a column all null in one
    batch): each file keeps its own; `columns` is every column, in the order first seen."""

    def __init__(self, batches: Iterable[pa.Table]):
        self.folder = tempfile.mkdtemp(prefix="sluice-salesforce-")
        self.files: list[str] = []
        self.columns: list[str] = []
        self.rows = 0
        try:
            for table in batches:
                if not table.num_rows:
                    continue
                path = os.path.join(self.folder, f"{len(self.files):06d}.arrow")
                with pa.ipc.new_file(path, table.schema) as writer:
                    writer.write_table(table)
                self.files.append(path)
                self.columns += [c for c in table.column_names if c not in self.columns]
                self.rows += table.num_rows
        except BaseException:
            self.close()
            raise

    def records(self) -> Iterator[dict[str, Any]]:
        for path in self.files:
            with pa.memory_map(path) as source:
                reader = pa.ipc.open_file(source)
                for i in range(reader.num_record_batches):
                    yield from reader.get_batch(i).to_pylist()

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def csv_value(value: Any, null: str) -> str:
    value = json_value(value)
    if value is None:
        return null
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def key_field(operation: str, id_fields: list[str]) -> str | None:
    if operation == "INSERT":
        return None
    if operation == "UPSERT":
        return id_fields[0]
    return "Id"


def check_columns(
    entity: str, columns: list[str], fields: Mapping[str, Field], operation: str, key: str | None
) -> None:
    """Refuse, before anything is sent, a write Salesforce would refuse for every record."""
    unknown = [c for c in columns if c not in fields]
    if unknown:
        raise ConnectorError(
            f"The Salesforce object {entity} has no field {', '.join(unknown)} (any more), or the "
            "user who authorized the connection cannot see it (INVALID_FIELD). Edit the flow "
            "to map to existing fields."
        )
    if key is not None and key not in columns:
        raise ConnectorError(
            f"{operation} into {entity} needs the field {key} in the mapping: Salesforce finds "
            "the records to change by it."
        )
    if key is not None and operation == "UPSERT":
        f = fields[key]
        if not (key == "Id" or f.external_id or f.id_lookup):
            raise ConnectorError(
                f"idFieldNames: {entity}.{key} is not an External ID field, so Salesforce cannot "
                "upsert on it. Use Id or a field marked External ID."
            )
    if operation == "DELETE":
        return
    wanted = {"INSERT": "createable", "UPDATE": "updateable"}.get(operation)
    refused = [
        c
        for c in columns
        if c != key
        and not (getattr(fields[c], wanted) if wanted else fields[c].createable or fields[c].updateable)
    ]
    if refused:
        how = {"INSERT": "created", "UPDATE": "updated"}.get(operation, "written")
        raise ConnectorError(
            f"These fields of {entity} cannot be {how} (Salesforce sets them, or they are read "
            f"only for this user): {', '.join(refused)}. Remove them from the mapping."
        )


def error_text(errors: list[Mapping[str, Any]]) -> str:
    parts = []
    for e in errors:
        code = e.get("statusCode") or e.get("errorCode") or "ERROR"
        text = f"{code}: {' '.join(str(e.get('message') or '').split())}"
        if e.get("fields"):
            text += f" (fields: {', '.join(map(str, e['fields']))})"
        parts.append(text)
    return "; ".join(parts) or "Salesforce gave no reason"


class Writer:
    def __init__(
        self,
        api: SalesforceApi,
        entity: str,
        operation: str,
        key: str | None,
        options: Mapping[str, Any],
        kinds: Mapping[str, str],
    ):
        self.api, self.entity, self.operation, self.key = api, entity, operation, key
        self.kinds = kinds  # field -> Sluice data type, from the object describe
        self.fail_first = errorhandling.fail_on_first(options)
        self.result = WriteResult(location=f"Salesforce {entity} ({api.host})")

    def typed(self, record: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The record with text values turned into its fields' types (a CSV source gives text),
        and what does not convert."""
        out, problem = {}, None
        for name, value in record.items():
            kind = self.kinds.get(name, "string")
            if isinstance(value, str) and kind != "string":
                converted = catalog.cell(value.strip(), kind)
                if converted is None and value.strip() and problem is None:
                    problem = f'field {name}: "{value[:40]}" is not a {kind} value Salesforce takes'
                value = converted
            elif kind == "string" and isinstance(value, bool):
                value = "true" if value else "false"
            elif kind == "string" and isinstance(value, (int, float)):
                value = str(value)
            out[name] = value
        return out, problem

    def local_failures(self, spool: Spool) -> list[RecordFailure]:
        """Records Salesforce cannot take, found before anything is sent: no key, or a value that
        is not of its field's type."""
        failures = []
        for n, record in enumerate(spool.records(), 1):
            _, problem = self.typed(record)
            if self.key is not None and record.get(self.key) in (None, ""):
                problem = f"no {self.key}: Salesforce cannot find the record to {self.operation.lower()}"
            if problem:
                failures.append(RecordFailure(f"record {n}", problem, record))
        return failures

    def records(self, spool: Spool, skip: set[int]) -> Iterator[tuple[int, dict[str, Any]]]:
        for n, record in enumerate(spool.records(), 1):
            if n not in skip:
                yield n, self.typed(record)[0]

    def refuse(self, failure: RecordFailure, before: str = "") -> None:
        raise ConnectorError(f"Salesforce {self.entity}, {failure.where}: {failure.reason}.{before}")

    # sObject Collections ------------------------------------------------------------------

    def collections(self, spool: Spool, skip: set[int]) -> None:
        chunk: list[tuple[int, dict]] = []
        for n, record in self.records(spool, skip):
            chunk.append((n, record))
            if len(chunk) == COLLECTION_SIZE:
                self._call(chunk)
                chunk = []
        if chunk:
            self._call(chunk)

    def _call(self, chunk: list[tuple[int, dict]]) -> None:
        fencing.before_publish()  # each call makes records visible: a run that lost its lease sends no more
        all_or_none = self.fail_first
        what = f'writing to object "{self.entity}"'
        if self.operation == "DELETE":
            ids = ",".join(str(r[self.key]) for _, r in chunk)
            self.result.bytes_written += len(ids)
            results = self.api.json(
                "DELETE",
                "composite/sobjects",
                params={"ids": ids, "allOrNone": str(all_or_none).lower()},
                subject=what,
            )
        else:
            records = []
            for _, r in chunk:
                values = {k: json_value(v) for k, v in r.items()}
                if self.operation == "INSERT":  # a null on insert: leave the field to its default
                    values = {k: v for k, v in values.items() if v is not None}
                records.append({"attributes": {"type": self.entity}, **values})
            body = {"allOrNone": all_or_none, "records": records}
            self.result.bytes_written += len(json.dumps(body, ensure_ascii=False).encode())
            method, path = {
                "INSERT": ("POST", "composite/sobjects"),
                "UPDATE": ("PATCH", "composite/sobjects"),
                "UPSERT": ("PATCH", f"composite/sobjects/{self.entity}/{self.key}"),
            }[self.operation]
            results = self.api.json(method, path, json_body=body, subject=what)
        if not isinstance(results, list) or len(results) != len(chunk):
            raise ConnectorError(
                f"Salesforce answered the write of {len(chunk)} records to {self.entity} with "
                "something else than one result per record."
            )
        failed = []
        for (n, record), outcome in zip(chunk, results, strict=True):
            if outcome.get("success"):
                self.result.records_written += 1
                continue
            errors = [e for e in outcome.get("errors") or [] if isinstance(e, dict)]
            real = [e for e in errors if e.get("statusCode") != "ALL_OR_NONE_OPERATION_ROLLED_BACK"]
            if all_or_none and not real:
                continue  # rolled back only because another record of the call failed
            failed.append(RecordFailure(f"record {n}", error_text(real or errors), record))
        if failed and all_or_none:
            self.refuse(
                failed[0],
                f" Nothing of that call ({len(chunk)} records) was written; the "
                f"{self.result.records_written} records of earlier calls were.",
            )
        self.result.failures.extend(failed)

    # Bulk API 2.0 ingest -------------------------------------------------------------------

    def bulk(self, spool: Spool, skip: set[int]) -> None:
        columns = [self.key] if self.operation == "DELETE" else list(spool.columns)
        null = "" if self.operation == "INSERT" else "#N/A"  # #N/A: set the field to null
        for data in self._csv_parts(spool, skip, columns, null):
            self._job(data)

    def _csv_parts(self, spool: Spool, skip: set[int], columns: list[str], null: str) -> Iterator[bytes]:
        def header() -> tuple[io.StringIO, Any]:
            out = io.StringIO(newline="")
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(columns)
            return out, writer

        out, writer = header()
        rows = 0
        for _, record in self.records(spool, skip):
            writer.writerow([csv_value(record.get(c), null) for c in columns])
            rows += 1
            if out.tell() >= BULK_UPLOAD_BYTES:
                yield out.getvalue().encode()
                out, writer = header()
                rows = 0
        if rows:
            yield out.getvalue().encode()

    def _job(self, data: bytes) -> None:
        fencing.before_publish()  # each job makes records visible: a run that lost its lease starts none
        what = f'writing to object "{self.entity}"'
        spec = {
            "object": self.entity,
            "operation": self.operation.lower(),
            "contentType": "CSV",
            "lineEnding": "LF",
        }
        if self.operation == "UPSERT":
            spec["externalIdFieldName"] = self.key
        job_id = str(self.api.json("POST", "jobs/ingest", json_body=spec, subject=what).get("id") or "")
        if not job_id:
            raise ConnectorError("Salesforce did not return a job id for the Bulk API 2.0 ingest job.")
        try:
            self.api.request(
                "PUT", f"jobs/ingest/{job_id}/batches", body=data, content_type="text/csv", subject=what
            )
            self.api.json(
                "PATCH", f"jobs/ingest/{job_id}", json_body={"state": "UploadComplete"}, subject=what
            )
        except ConnectorError:
            self._abort(job_id)
            raise
        self.result.bytes_written += len(data)
        job = reading.wait(self.api, f"jobs/ingest/{job_id}", what)
        processed, failed_count = (
            int(job.get("numberRecordsProcessed") or 0),
            int(job.get("numberRecordsFailed") or 0),
        )
        self.result.records_written += processed - failed_count
        if not failed_count:
            return
        response = self.api.request(
            "GET", f"jobs/ingest/{job_id}/failedResults/", accept="text/csv", subject=what
        )
        failed = [
            self._bulk_failure(row)
            for row in csv.DictReader(io.StringIO(response.body.decode("utf-8-sig"), newline=""))
        ]
        if self.fail_first and failed:
            self.refuse(
                failed[0],
                f" Salesforce refused {failed_count} records of the Bulk API 2.0 job "
                f"{job_id} and wrote {processed - failed_count}: a bulk job is not "
                "all-or-none.",
            )
        self.result.failures.extend(failed)

    def _bulk_failure(self, row: Mapping[str, str]) -> RecordFailure:
        record = {k: v for k, v in row.items() if not k.startswith("sf__")}
        code, _, message = str(row.get("sf__Error") or "").partition(":")
        message = message.removesuffix(" --").strip()
        key = self.key or "Id"
        where = f"record {key} {record[key]}" if record.get(key) else "record"
        if not record.get(key) and row.get("sf__Id"):
            where = f"record Id {row['sf__Id']}"
        return RecordFailure(
            where, f"{code}: {message}" if message else code or "Salesforce gave no reason", record
        )

    def _abort(self, job_id: str) -> None:
        try:
            self.api.request("PATCH", f"jobs/ingest/{job_id}", json_body={"state": "Aborted"})
        except ConnectorError:
            pass  # the job was never closed: Salesforce deletes it after a while, nothing was written
