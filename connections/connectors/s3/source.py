"""S3 as a source: buckets and folders as entities, every file under a prefix read in one run.

A flow names `bucketName` and `bucketPrefix` (a folder, or one object's key) and
`s3InputFormatConfig.s3InputFileType` CSV | JSON (JSON Lines); without a type, each file's suffix
decides and files Sluice cannot read are skipped. Files are read in key order, aligned to the
first file's columns (a missing column reads as null, extra ones are dropped; both reported as
warnings). Keys with a part starting with "." or "_" (Sluice's staging folder, manifests,
_SUCCESS markers) are not data and are skipped. An incremental window selects files by their
LastModified time (start <= modified < end).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from ..base import ConnectorError, Entity, EntityField, MissingAtSource, SourceBatch, Window
from ..fileformats import (
    BLANK_CELLS_KEY,
    BLANK_IS_NULL,
    align_to_schema,
    arrow_to_data_type,
    file_format,
    open_reader,
    read_block_bytes,
)
from .client import S3_ERRORS, S3Settings, s3_error

_INPUT_TYPES = {"CSV": "CSV", "JSON": "JSONL", "JSONL": "JSONL", "PARQUET": "PARQUET"}


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int
    modified: datetime


def split(entity: str) -> tuple[str, str]:
    """ "bucket/some/prefix" -> ("bucket", "some/prefix")."""
    bucket, _, prefix = (entity or "").strip().strip("/").partition("/")
    if not bucket:
        raise ConnectorError("bucketName: is required.")
    return bucket, prefix.strip("/")


def list_entities(client: Any, settings: S3Settings, parent: str | None) -> list[Entity]:
    try:
        if not parent:
            return [
                Entity(b["Name"], b["Name"], has_children=True)
                for b in client.list_buckets().get("Buckets", [])
            ]
        bucket, prefix = split(parent)
        folder = f"{prefix}/" if prefix else ""
        entities: list[Entity] = []
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=folder, Delimiter="/"
        ):
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"][len(folder) :].rstrip("/")
                if not _hidden(name):
                    entities.append(Entity(f"{bucket}/{folder}{name}", name, has_children=True))
            for item in page.get("Contents", []):
                name = item["Key"][len(folder) :]
                if name and not _hidden(name) and file_format(name):
                    entities.append(Entity(f"{bucket}/{item['Key']}", name))
        return entities
    except S3_ERRORS as exc:
        raise s3_error(
            exc, settings, f"Listing {parent or 'buckets'}", split(parent)[0] if parent else ""
        ) from None


def objects(client: Any, settings: S3Settings, bucket: str, prefix: str, window: Window) -> list[S3Object]:
    """The data files under `prefix` (or the one object named by it), in key order."""
    found: list[S3Object] = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                rest = key[len(prefix) :]
                if prefix and rest and not rest.startswith("/") and not prefix.endswith("/"):
                    continue  # "data2/x" is not under the folder "data"
                if key.endswith("/") or _hidden(rest.lstrip("/")):
                    continue
                found.append(S3Object(key, int(item["Size"]), item["LastModified"]))
    except S3_ERRORS as exc:
        raise s3_error(exc, settings, f"Listing s3://{bucket}/{prefix}", bucket) from None
    if window.start is not None:
        found = [o for o in found if o.modified >= window.start]
    if window.end is not None:
        found = [o for o in found if o.modified < window.end]
    return sorted(found, key=lambda o: o.key)


def input_format(options: Mapping[str, Any], key: str) -> str | None:
    config = options.get("s3InputFormatConfig") or {}
    wanted = config.get("s3InputFileType") if isinstance(config, Mapping) else None
    if wanted:
        return _INPUT_TYPES.get(str(wanted).upper())
    return file_format(key)


def blank_cells(options: Mapping[str, Any]) -> str:
    """s3InputFormatConfig.blankCells: what a blank CSV cell is (a null unless EMPTY_TEXT)."""
    config = options.get("s3InputFormatConfig") or {}
    return str(config.get(BLANK_CELLS_KEY) or BLANK_IS_NULL) if isinstance(config, Mapping) else BLANK_IS_NULL


def open_object(client: Any, settings: S3Settings, bucket: str, obj: S3Object, fmt: str, prefix: str,
                blanks: str = BLANK_IS_NULL) -> Any:
    name = obj.key[len(prefix) :].lstrip("/") or obj.key.rsplit("/", 1)[-1]

    def opener() -> Any:
        try:
            body = client.get_object(Bucket=bucket, Key=obj.key)["Body"]
        except S3_ERRORS as exc:
            raise s3_error(exc, settings, f"Reading s3://{bucket}/{obj.key}", bucket) from None
        return pa.PythonFile(body, mode="r")

    if fmt == "PARQUET":  # Parquet needs random access: read it from a local copy
        local = tempfile.NamedTemporaryFile(prefix="sluice-s3-", suffix=".parquet")  # noqa: SIM115 - kept open
        try:
            client.download_fileobj(bucket, obj.key, local)
        except S3_ERRORS as exc:
            raise s3_error(exc, settings, f"Reading s3://{bucket}/{obj.key}", bucket) from None
        local.flush()
        return open_reader(
            fmt, lambda: pa.OSFile(local.name, "r"), name=name, size=obj.size, block_size=read_block_bytes()
        ), local
    return open_reader(fmt, opener, name=name, size=obj.size, block_size=read_block_bytes(),
                       blank_cells=blanks), None


def data_files(
    client: Any, settings: S3Settings, bucket: str, prefix: str, window: Window, options: Mapping[str, Any]
) -> list[tuple[S3Object, str]]:
    listed = objects(client, settings, bucket, prefix, window)
    files = [(o, fmt) for o in listed if (fmt := input_format(options, o.key))]
    if not files and window.start is None and window.end is None:
        raise ConnectorError(f"s3://{bucket}/{prefix} holds no CSV, JSON Lines or Parquet file to read.")
    return files


def describe(client: Any, settings: S3Settings, entity: str, options: Mapping[str, Any]) -> list[EntityField]:
    bucket, prefix = split(entity)
    obj, fmt = data_files(client, settings, bucket, prefix, Window(), options)[0]
    reader, local = open_object(client, settings, bucket, obj, fmt, prefix, blank_cells(options))
    try:
        return [EntityField(f.name, arrow_to_data_type(f.type)) for f in reader.schema]
    finally:
        if local is not None:
            local.close()


def read(
    client: Any,
    settings: S3Settings,
    bucket: str,
    prefix: str,
    fields: list[str] | None,
    window: Window,
    options: Mapping[str, Any],
) -> Iterator[SourceBatch]:
    target: pa.Schema | None = None
    for obj, fmt in data_files(client, settings, bucket, prefix, window, options):
        reader, local = open_object(client, settings, bucket, obj, fmt, prefix, blank_cells(options))
        try:
            if target is None and fields is None and not reader.schema.names:
                for batch in reader.batches(None):  # an empty file: its bytes and failures only
                    batch.table = pa.table({})
                    yield batch
                continue
            if target is None:
                target = _target_schema(reader, fields)
            have = reader.schema.names
            missing = [n for n in target.names if n not in have]
            extra = [n for n in have if n not in target.names] if fields is None else []
            warning = _alignment_warning(reader.name, missing, extra, target) if missing or extra else ""
            for batch in reader.batches(target.names):
                batch.table = align_to_schema(batch.table, target, name=reader.name)[0]
                if warning:
                    batch.warnings.append(warning)
                    warning = ""
                yield batch
        finally:
            if local is not None:
                local.close()


def _hidden(relative: str) -> bool:
    return any(part.startswith((".", "_")) for part in relative.split("/") if part)


def _target_schema(reader: Any, fields: list[str] | None) -> pa.Schema:
    if fields is None:
        return reader.schema
    missing = [f for f in fields if f not in reader.schema.names]
    if missing:
        raise MissingAtSource(
            f"{reader.name} has no field {', '.join(missing)}. Available fields: "
            f"{', '.join(reader.schema.names) or '(none)'}.", entity=reader.name, fields=missing,
        )
    return pa.schema([reader.schema.field(f) for f in dict.fromkeys(fields)])


def _alignment_warning(name: str, missing: list[str], extra: list[str], target: pa.Schema) -> str:
    parts = []
    if missing:
        parts.append(f"has no column {', '.join(missing)} (read as empty)")
    if extra:
        parts.append(f"has columns {', '.join(extra)} that the first file lacks (not read)")
    return f"{name} {' and '.join(parts)}; files are aligned to the columns {', '.join(target.names)}."
