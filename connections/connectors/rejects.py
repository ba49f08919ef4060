"""Rejected records: where errorHandlingConfig sends them and in what shape.

A destination returns the records it refused as RecordFailures carrying the record. When the
flow's errorHandlingConfig names a place, the engine writes them there as JSON Lines, one object
per refused record: {"where": "record 17", "reason": "column amount: ...", "record": {...}}.
The place is written through a connector, with that connector's own all-or-nothing write:

- S3: `bucketName` + `bucketPrefix` (files under <bucketPrefix>/<executionId>/);
- Local files: `bucketPrefix` is a folder under the connection's root.

Which connection: `connectorProfileName` (a Sluice addition) names an S3 or Local files
connection; without it the flow's destination connection is used when it is S3 or Local files,
else S3 with the environment's default credentials (as AppFlow writes with its own access).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import pyarrow as pa

from .base import RecordFailure

REJECT_CONNECTORS = ("S3", "LocalFiles")


def wanted(config: Any) -> bool:
    """Whether errorHandlingConfig asks for rejected records to be written somewhere."""
    return isinstance(config, Mapping) and bool(config.get("bucketName") or config.get("bucketPrefix"))


def table(failures: Iterable[RecordFailure]) -> pa.Table:
    rows = list(failures)
    records = [None if f.record is None else dict(f.record) for f in rows]
    try:
        record = pa.array(records)  # an object per record in JSON Lines
        if not pa.types.is_struct(record.type):
            raise pa.ArrowInvalid("not records")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # records whose values do not share types: each as its JSON text
        record = pa.array([None if r is None else orjson.dumps(r, default=str).decode() for r in records])
    return pa.table(
        {
            "where": pa.array([f.where for f in rows], pa.string()),
            "reason": pa.array([f.reason for f in rows], pa.string()),
            "record": record,
        }
    )


def entity_and_options(key: str, config: Mapping[str, Any], execution_id: str) -> tuple[str, dict[str, Any]]:
    """The entity and write options for connector `key` (one of REJECT_CONNECTORS)."""
    prefix = str(config.get("bucketPrefix") or "").strip("/")
    if key == "S3":
        bucket = str(config.get("bucketName") or "")
        options = {
            "bucketName": bucket,
            "bucketPrefix": prefix,
            "s3OutputFormatConfig": {"fileType": "JSON"},
            "executionId": execution_id,
        }
        return (f"{bucket}/{prefix}" if prefix else bucket), options
    folder = prefix or "rejected-records"
    return folder, {
        "entityName": folder,
        "customProperties": {"fileType": "JSONL"},
        "executionId": execution_id,
    }
