"""S3 as a destination: files staged under a temporary prefix, published when the run ends well.

Batches are written to a local spool file (flat memory whatever the run's size), which is
uploaded (multipart above 64 MB) under `<bucketPrefix>/.sluice-staging/<executionId>/<attempt>/` when it
reaches targetFileSize, or at the end for a SingleFile aggregation. When the batches end normally
the staged files are copied to their final keys (layout.py), stale files of an earlier attempt of
the same execution are removed, the manifest is written last and the staging prefix is deleted.
When the batches raise, the staging prefix is deleted and nothing appears under the final keys; a
cancelled run is one of those (the connector's publishes_on_cancel is False). A process killed
mid-run leaves its staging prefix; a retry of the execution clears it first. Keys are
deterministic per execution, so a retry replaces files rather than adding some.

Retries in a later hour (a date-prefixed layout): the first attempt writes a run record
`<bucketPrefix>/.sluice-staging/<executionId>.json` holding its start time, and every later
attempt of the execution takes the time from it, so all attempts write the same keys. Before
copying to the final keys the record lists them; a publish that fails deletes what it copied,
and one killed half-way leaves them listed, for the next attempt to delete before it starts.
The record is removed when the execution publishes (it stays, small, after a run that failed
for good). Layouts without a date path need no record: the keys do not depend on the time.

With `partition_keys` (a Partition task) each batch is split by those fields and every partition
gets its own spool file and its own `field=value/` folder, staged and published with the rest;
the manifest names each file's partition.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.exceptions as bx
import orjson
import pyarrow as pa
import pyarrow.types as pat
from boto3.s3.transfer import TransferConfig

from .. import fencing, sourcefiles
from ..base import ConnectorError, SourceFile, WriteResult
from ..fileformats import FILE_TYPES, TableFileWriter, json_text_values, open_writer, writing_to
from ..fileformats.partitions import Partition, Partitioner
from .client import S3_ERRORS, S3Settings, s3_error
from .layout import Layout, layout, run_record_key, staging_prefix, uses_time

DEFAULT_TARGET_MB = 128
_TRANSFER = TransferConfig(multipart_threshold=64 << 20, multipart_chunksize=64 << 20, max_concurrency=4)
_FILE_TYPE_ALIASES = {"JSON": "JSONL", "NDJSON": "JSONL"}


def output_file_type(output: Mapping[str, Any]) -> str | None:
    wanted = str(output.get("fileType") or "JSONL").upper()
    wanted = _FILE_TYPE_ALIASES.get(wanted, wanted)
    return wanted if wanted in FILE_TYPES else None


@dataclass
class _Staged:
    staging_key: str
    final_key: str
    records: int
    size: int
    sha256: str
    partition: Partition | None = None


def write_objects(
    client: Any,
    settings: S3Settings,
    bucket: str,
    bucket_prefix: str,
    output: Mapping[str, Any],
    execution_id: str,
    batches: Iterable[pa.Table],
    started: datetime | None = None,
    partition_keys: Sequence[str] = (),
    handed_files: Sequence[SourceFile] = (),
) -> WriteResult:
    """Stage the batches as files (and, once they are read, the files a source handed over:
    `handed_files` fills up while the batches are consumed), then publish them all at once."""
    file_type = output_file_type(output)
    if file_type is None:
        raise ConnectorError(
            f's3OutputFormatConfig.fileType: must be CSV, JSON or PARQUET, not "{output.get("fileType")}".'
        )
    aggregation = output.get("aggregationConfig") or {}
    single = aggregation.get("aggregationType") == "SingleFile"
    target_bytes = int(aggregation.get("targetFileSize") or DEFAULT_TARGET_MB) << 20
    # AppFlow writes Parquet as text unless asked to keep the source's types
    as_text = file_type == "PARQUET" and not output.get("preserveSourceDataTyping")
    started = started or datetime.now(UTC)
    # Each attempt stages under its own folder: a frozen worker that wakes up after it was
    # replaced must not overwrite (or delete) the staged files of the attempt that replaced it.
    every_attempt = staging_prefix(bucket_prefix, execution_id)
    staging = f"{every_attempt}{fencing.attempt()}/"
    record = _RunRecord(client, settings, bucket, run_record_key(bucket_prefix, execution_id))
    if uses_time(output):
        started = record.begin(execution_id, started)  # the first attempt's start, on a retry
    keys = layout(bucket_prefix, output, execution_id, started, FILE_TYPES[file_type])
    run = _Run(client, settings, bucket, staging, keys, record if uses_time(output) else None)
    run.delete_prefix(every_attempt)  # left by attempts of this execution that died or were fenced
    partitioner = Partitioner(partition_keys) if partition_keys else None
    spooled = itertools.count()
    # Files are spooled locally before upload: a full local disk is named, not "unexpected".
    with writing_to(f"the temporary folder {tempfile.gettempdir()}"), \
            tempfile.TemporaryDirectory(prefix="sluice-s3-") as spool:
        writers: dict[str, TableFileWriter] = {}  # open file per partition folder ("" unpartitioned)
        try:
            for table in batches:
                if table.num_rows == 0:
                    continue
                parts = partitioner.split(table) if partitioner else [(None, table)]
                for partition, rows in parts:
                    folder = partition.folder if partition else ""
                    writer = writers.get(folder)
                    if writer is None:
                        path = Path(spool) / f"{next(spooled):06d}.{FILE_TYPES[file_type]}"
                        writer = writers[folder] = open_writer(file_type, path)
                    writer.write(_as_text(rows) if as_text else rows)
                    if not single and writer.size >= target_bytes:
                        run.stage(writers.pop(folder), partition)
            for folder in sorted(writers):
                run.stage(writers.pop(folder), partitioner.seen[folder] if partitioner else None)
            for handed_file in handed_files:  # complete now that the batches are read
                run.stage_document(handed_file)
        except BaseException:
            for writer in writers.values():
                writer.abort()
            run.delete_prefix(staging)
            raise
    try:
        fencing.before_publish()  # a run that lost its lease publishes nothing
        run.publish(execution_id, file_type, partition_keys)
    finally:
        run.delete_prefix(staging)
    return WriteResult(
        records_written=sum(s.records for s in run.staged),
        bytes_written=sum(s.size for s in run.staged + run.documents),
        location=f"s3://{bucket}/{keys.folder}",
    )


class _Run:
    def __init__(
        self,
        client: Any,
        settings: S3Settings,
        bucket: str,
        staging: str,
        keys: Layout,
        record: _RunRecord | None = None,
    ):
        self.client, self.settings, self.bucket = client, settings, bucket
        self.staging, self.keys = staging, keys
        self.record = record
        self.staged: list[_Staged] = []
        self.documents: list[_Staged] = []  # files a source handed over (sourcefiles.py)

    def stage(self, writer: TableFileWriter, partition: Partition | None = None) -> None:
        size = writer.close()
        folder = partition.folder if partition else ""
        number = sum(1 for s in self.staged if s.partition == partition)  # numbered per folder
        final = self.keys.file_key(number, folder)
        key = self.staging + folder + final.rsplit("/", 1)[-1]
        digest = _sha256(writer.path)
        self._call(
            f"Uploading s3://{self.bucket}/{key}",
            self.client.upload_file,
            str(writer.path),
            self.bucket,
            key,
            ExtraArgs=self.settings.upload_args(),
            Config=_TRANSFER,
        )
        writer.path.unlink()  # the spool holds one file at a time
        self.staged.append(_Staged(key, final, writer.records, size, digest, partition))

    def stage_document(self, handed_file: SourceFile) -> None:
        name = sourcefiles.checked_name(handed_file.name)
        key = f"{self.staging}{sourcefiles.FOLDER}/{name}"
        self._call(f"Uploading s3://{self.bucket}/{key}", self.client.upload_file, handed_file.path,
                   self.bucket, key, ExtraArgs=self.settings.upload_args(), Config=_TRANSFER)
        self.documents.append(_Staged(key, self.keys.documents_prefix + name, 0, handed_file.size,
                                      _sha256(Path(handed_file.path))))

    def publish(self, execution_id: str, file_type: str, partition_keys: Sequence[str] = ()) -> None:
        """Copy the staged files to their final keys, remove an earlier attempt's, write the
        manifest. When this fails, what was copied is deleted again (nothing half-published)."""
        finals = [s.final_key for s in self.staged + self.documents] + [self.keys.manifest_key]
        if self.record is not None:
            self.record.publishing(finals)  # a kill from here on: the next attempt deletes them
        try:
            self._publish(execution_id, file_type, partition_keys)
        except BaseException:
            # best effort: the run record still lists the keys should this fail too
            with contextlib.suppress(ConnectorError):
                self._delete(finals)
            raise
        if self.record is not None:
            self.record.remove()

    def _publish(self, execution_id: str, file_type: str, partition_keys: Sequence[str]) -> None:
        for staged in self.staged + self.documents:
            self._call(
                f"Publishing s3://{self.bucket}/{staged.final_key}",
                self.client.copy,
                {"Bucket": self.bucket, "Key": staged.staging_key},
                self.bucket,
                staged.final_key,
                ExtraArgs=self.settings.upload_args(),
                Config=_TRANSFER,
            )
        keep = {s.final_key for s in self.staged}
        # partition folders sit under the run's folder: look there for files of an earlier attempt
        listed = self._keys(self.keys.folder if partition_keys else self.keys.own_files_prefix)
        self._delete([k for k in listed if k not in keep and self.keys.is_own_file(k)])
        manifest = {
            "executionId": execution_id,
            "fileType": file_type,
            **({"partitionKeys": list(partition_keys)} if partition_keys else {}),
            "records": sum(s.records for s in self.staged),
            "bytes": sum(s.size for s in self.staged),
            "files": [_listed(s) for s in sorted(self.staged, key=lambda s: s.final_key)],
            **({"documents": [_listed(s) for s in sorted(self.documents, key=lambda s: s.final_key)]}
               if self.documents else {}),
            "writtenAt": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._call(
            f"Writing s3://{self.bucket}/{self.keys.manifest_key}",
            self.client.put_object,
            Bucket=self.bucket,
            Key=self.keys.manifest_key,
            Body=orjson.dumps(manifest, option=orjson.OPT_INDENT_2),
            ContentType="application/json",
            **self.settings.upload_args(),
        )

    def delete_prefix(self, prefix: str) -> None:
        self._delete(self._keys(prefix))

    def _keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        pages = self._call(
            f"Listing s3://{self.bucket}/{prefix}",
            lambda: list(
                self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            ),
        )
        for page in pages:
            keys += [item["Key"] for item in page.get("Contents", [])]
        return keys

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            self._call(
                f"Deleting under s3://{self.bucket}/{self.staging}",
                self.client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": chunk, "Quiet": True},
            )

    def _call(self, doing: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except S3_ERRORS as exc:
            raise s3_error(exc, self.settings, doing, self.bucket) from None


class _RunRecord:
    """The small JSON object that keeps an execution's keys the same over its attempts."""

    def __init__(self, client: Any, settings: S3Settings, bucket: str, key: str):
        self.client, self.settings, self.bucket, self.key = client, settings, bucket, key
        self.content: dict[str, Any] = {}

    def begin(self, execution_id: str, now: datetime) -> datetime:
        """The start time every attempt of the execution uses; deletes the files a killed
        publish of an earlier attempt left under the final keys."""
        try:
            found = orjson.loads(self.client.get_object(Bucket=self.bucket, Key=self.key)["Body"].read())
        except bx.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise self._error(exc, "Reading") from None
            found = None
        except S3_ERRORS as exc:
            raise self._error(exc, "Reading") from None
        except orjson.JSONDecodeError:
            found = None  # not ours to trust: start afresh
        started = now
        if isinstance(found, dict) and found.get("executionId") == execution_id:
            try:
                started = datetime.fromisoformat(str(found.get("startedAt")))
            except ValueError:
                started = now
            dead = [k for k in found.get("publishing") or [] if isinstance(k, str)]
            if dead:
                self._delete(dead)
        self.content = {"executionId": execution_id, "startedAt": started.isoformat()}
        self._put()
        return started

    def publishing(self, keys: list[str]) -> None:
        self.content["publishing"] = keys
        self._put()

    def remove(self) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key)
        except S3_ERRORS as exc:
            raise self._error(exc, "Deleting") from None

    def _put(self) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key,
                Body=orjson.dumps(self.content),
                ContentType="application/json",
                **self.settings.upload_args(),
            )
        except S3_ERRORS as exc:
            raise self._error(exc, "Writing") from None

    def _error(self, exc: Exception, doing: str) -> ConnectorError:
        return s3_error(exc, self.settings, f"{doing} s3://{self.bucket}/{self.key}", self.bucket)

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            try:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
            except S3_ERRORS as exc:
                raise self._error(exc, "Deleting files listed in") from None


def _listed(staged: _Staged) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": staged.final_key}
    if staged.partition is not None:
        entry["partition"] = dict(staged.partition.values)
    return {**entry, "records": staged.records, "bytes": staged.size, "sha256": staged.sha256}


def _as_text(table: pa.Table) -> pa.Table:
    """Every column as text, as AppFlow writes Parquet without preserveSourceDataTyping."""
    columns = []
    for column in table.columns:
        kind = column.type
        if pat.is_string(kind):
            columns.append(column)
        elif pat.is_nested(kind) or pat.is_binary(kind) or pat.is_large_binary(kind):
            columns.append(pa.chunked_array([json_text_values(c) for c in column.chunks], pa.string()))
        else:
            columns.append(column.cast(pa.string()))
    return pa.table(columns, names=table.column_names)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
