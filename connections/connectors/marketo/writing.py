"""Marketo as a destination: leads (`POST /rest/v1/leads.json`) and custom objects
(`POST /rest/v1/customobjects/<name>_c.json`), 300 records a call (Marketo's maximum), with
AppFlow's write operations as Marketo's actions: INSERT = createOnly, UPDATE = updateOnly,
UPSERT = createOrUpdate. Leads are matched on the lookupField (idFieldNames[0], email by
default); custom objects on their dedupe fields, or on marketoGUID (dedupeBy idField).

Marketo answers each call with one status per record (created / updated / skipped, with
`reasons`); every skipped record becomes a RecordFailure naming the record and Marketo's reason.
As for every SaaS destination, nothing is sent until the source has been read to the end, and
what Marketo accepted stays (it has no transactions)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from connections.connectors import errorhandling
from connections.connectors.base import ConnectorError, RecordFailure, WriteResult

from .client import MarketoApi

CHUNK = 300  # Marketo's maximum per sync call
ACTIONS = {"INSERT": "createOnly", "UPDATE": "updateOnly", "UPSERT": "createOrUpdate"}
DESTINATION_KEYS = {"object", "idFieldNames", "writeOperationType", "errorHandlingConfig"}
LEAD_LOOKUPS = (
    "email",
    "id",
    "cookie",
    "externalCompanyId",
    "externalSalesPersonId",
    "sfdcLeadId",
    "sfdcContactId",
    "sfdcAccountId",
)
READ_ONLY = {"createdAt", "updatedAt"}


def writable(entity: str) -> bool:
    return entity == "leads" or (entity.endswith("_c") and entity[:-2].replace("_", "").isalnum())


def check_properties(props: Any) -> list[tuple[str, str]]:
    if not isinstance(props, Mapping):
        return [("", "must be a JSON object with object (leads or a custom object <name>_c)")]
    problems = [(k, "is not a property of a Marketo destination") for k in props if k not in DESTINATION_KEYS]
    entity = props.get("object")
    if not isinstance(entity, str) or not writable(entity):
        problems.append(
            (
                "object",
                f'"{entity}" is not an object Sluice writes to Marketo: leads, or a custom '
                "object by its API name (<name>_c)"
                if entity
                else "is required: leads, or a custom object by its API name (<name>_c)",
            )
        )
    operation = props.get("writeOperationType", "INSERT")
    if operation not in ACTIONS:
        problems.append(("writeOperationType", f"must be one of {', '.join(ACTIONS)}"))
    ids = props.get("idFieldNames") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > 1:
        problems.append(("idFieldNames", "must be a list of one field name (the lookup field)"))
    elif entity == "leads" and ids and ids[0] not in LEAD_LOOKUPS:
        problems.append(
            ("idFieldNames", f"Marketo finds leads by one of {', '.join(LEAD_LOOKUPS)}, not {ids[0]}")
        )
    return problems + errorhandling.check(props.get("errorHandlingConfig"))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def payload(record: Mapping[str, Any]) -> dict[str, Any]:
    """One record as Marketo wants it: no empty values (Marketo would blank the field), no
    read-only timestamps."""
    return {k: _plain(v) for k, v in record.items() if v is not None and k not in READ_ONLY}


def _reason(item: Mapping[str, Any]) -> str:
    reasons = item.get("reasons") or []
    text = "; ".join(f"{r.get('code')}: {r.get('message')}" for r in reasons if isinstance(r, dict))
    return text or str(item.get("status") or "no reason given")


def write(
    api: MarketoApi, entity: str, batches: Iterable[pa.Table], options: Mapping[str, Any]
) -> WriteResult:
    problems = check_properties(
        {k: v for k, v in options.items() if k in DESTINATION_KEYS} | {"object": entity}
    )
    if problems:
        raise ConnectorError("; ".join(f"{k}: {m}" if k else m for k, m in problems))
    operation = str(options.get("writeOperationType") or "INSERT")
    key = (options.get("idFieldNames") or [None])[0]
    fail_first = errorhandling.fail_on_first(options)
    result = WriteResult(location=f"{api.host} {entity}")
    records = [r for t in batches if t.num_rows for r in t.to_pylist()]  # the whole source first
    if entity == "leads":
        path, head = "/rest/v1/leads.json", {"action": ACTIONS[operation], "lookupField": key or "email"}
    else:
        dedupe = "idField" if key == "marketoGUID" else "dedupeFields"
        path, head = (
            f"/rest/v1/customobjects/{entity}.json",
            {"action": ACTIONS[operation], "dedupeBy": dedupe},
        )
    for start in range(0, len(records), CHUNK):
        chunk = records[start : start + CHUNK]
        bodies = [payload(r) for r in chunk]
        what = f"the {ACTIONS[operation]} of {len(chunk)} {entity} (records {start + 1}-{start + len(chunk)})"
        try:
            answer = api.call("POST", path, what, body={**head, "input": bodies})
        except ConnectorError as exc:
            if not result.records_written:
                raise
            raise ConnectorError(
                f"{exc.message} {result.records_written} records were written to Marketo before "
                "this; the run is not retried automatically, so they are not written twice.",
                permanent=True,
            ) from None
        statuses = {
            int(item.get("seq", i)): item
            for i, item in enumerate(answer.get("result") or [])
            if isinstance(item, dict)
        }
        failures = []
        for i, (record, body) in enumerate(zip(chunk, bodies, strict=True)):
            item = statuses.get(i, {})
            status = str(item.get("status") or "")
            if status in ("created", "updated"):
                result.records_written += 1
                result.bytes_written += len(json.dumps(body, ensure_ascii=False, default=str).encode())
            else:
                failures.append(
                    RecordFailure(
                        f"record {start + i + 1}",
                        f"Marketo skipped it: {_reason(item) if item else 'no status'}",
                        record,
                    )
                )
        if failures and fail_first:
            raise ConnectorError(
                f"{failures[0].where}: {failures[0].reason}. The run stopped there "
                f"(failOnFirstDestinationError): {result.records_written} records Marketo "
                "accepted before it stay written; a SaaS API cannot take them back."
            )
        result.failures.extend(failures)
    return result
