"""Redshift's load path, as AppFlow's: the run's records staged as gzip CSV files in S3, then
one `COPY ... FROM 's3://.../manifest' IAM_ROLE '...' MANIFEST` in the run's transaction.

When: the connection names a `bucketName` (then `roleArn` is required). Where: the
destination's `intermediateBucketName` / `bucketPrefix`, else the connection's; files go under
`<prefix>/.sluice-redshift/<executionId>/` with a Redshift manifest listing each of them
(mandatory). Sluice writes them with the connection's S3 settings (`region`, optional
`endpointUrl`, `accessKeyId` / `secretAccessKey` or the environment's default credentials)
through the S3 connector's client code; Redshift reads them with the IAM role `roleArn` (a role
the cluster may assume), so no key ever appears in SQL.
The staged files are removed when the run ends, well or not; a killed run's are removed by the
next attempt of the execution before it stages anything.

The COPY text is built by copy_statement() from quoted identifiers and literals whose content is
checked first (role ARN, bucket, key, region): nothing from a flow document is glued in raw.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from ..base import ConnectionInfo, ConnectorError
from ..postgresql import pgtypes
from ..s3.client import S3_ERRORS, S3Settings, make_client, s3_error, settings_from

STAGE_FOLDER = ".sluice-redshift"
# A null is staged as an unquoted \N and COPY is told so (NULL AS): in a CSV load Redshift reads an
# empty CHAR/VARCHAR field as empty text, not NULL, unless EMPTYASNULL, which would also turn the
# quoted "" of real empty text into NULL. So null stays null and "" stays "" (pyarrow quotes all
# text, \N included, so a value "\N" is not taken for a null). Redshift's COPY data conversion
# parameters: https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html
NULL_MARK = "\\N"
FILE_BYTES = 64 << 20  # CSV bytes per staged file (before gzip): Redshift loads files in parallel

_ROLE_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# what a key part may hold: S3's "safe characters" and a few more, no quote, backslash or control
_KEY_PART = re.compile(r"[A-Za-z0-9!_.*()=+,@~ -]+")


@dataclass(frozen=True)
class StageConfig:
    bucket: str
    prefix: str  # "" or ends with "/"
    role_arn: str
    region: str
    settings: S3Settings
    folder: str = STAGE_FOLDER  # the folder of the runs' files under `prefix` (Snowflake has its own)

    def run_prefix(self, execution_id: str) -> str:
        return f"{self.prefix}{self.folder}/{check_key_part(execution_id, 'executionId')}/"


def stage_config(conn: ConnectionInfo, options: Mapping[str, Any]) -> StageConfig | None:
    """The S3 stage the destination loads through, or None when the connection names no
    bucket (then the records go in as INSERT statements, whatever the destination says)."""
    props = conn.properties
    if not str(props.get("bucketName") or "").strip():
        return None  # staging is the connection's choice; the destination only says where
    bucket = str(options.get("intermediateBucketName") or props.get("bucketName") or "").strip()
    field = "intermediateBucketName" if options.get("intermediateBucketName") else "bucketName"
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ConnectorError(f'{field}: "{bucket[:100]}" is not an S3 bucket name.')
    prefix_field = "bucketPrefix"
    raw_prefix = str(options.get("bucketPrefix") or props.get("bucketPrefix") or "")
    parts = [p for p in raw_prefix.strip("/").split("/") if p]
    for part in parts:
        check_key_part(part, prefix_field)
    role_arn = str(props.get("roleArn") or "").strip()
    if not role_arn:
        raise ConnectorError(
            "roleArn: is required to load through the S3 stage: the ARN of an IAM role the cluster "
            "may assume that can read the bucket (arn:aws:iam::<account>:role/<name>)."
        )
    region = str(props.get("region") or "").strip()
    s3 = ConnectionInfo(
        conn.name,
        "S3",
        "",
        {"region": region, "endpointUrl": props.get("endpointUrl") or ""},
        {k: conn.credentials.get(k) for k in ("accessKeyId", "secretAccessKey")},
    )
    return StageConfig(
        bucket=bucket,
        prefix="".join(f"{p}/" for p in parts),
        role_arn=check_role_arn(role_arn),
        region=check_region(region) if region else "",
        settings=settings_from(s3),
    )


def check_role_arn(arn: str) -> str:
    if not _ROLE_ARN.fullmatch(arn):
        raise ConnectorError(
            f'roleArn: "{arn[:200]}" is not an IAM role ARN like arn:aws:iam::123456789012:role/RedshiftCopy.'
        )
    return arn


def check_region(region: str) -> str:
    if not _REGION.fullmatch(region):
        raise ConnectorError(f'region: "{region[:50]}" is not an AWS region like us-east-1.')
    return region


def check_key_part(part: str, field: str) -> str:
    if part in (".", "..") or not _KEY_PART.fullmatch(part):
        raise ConnectorError(
            f'{field}: "{part[:100]}" cannot be part of the stage\'s S3 keys: use letters, digits '
            "and !_.*()=+,@~- (no quotes, backslashes or control characters)."
        )
    return part


def s3_url(bucket: str, key: str) -> str:
    if not _BUCKET.fullmatch(bucket):
        raise ConnectorError(f'"{bucket[:100]}" is not an S3 bucket name.')
    for part in key.split("/"):
        check_key_part(part, "the stage key")
    return f"s3://{bucket}/{key}"


def copy_statement(
    schema: str, table: str, columns: list[str], manifest_url: str, role_arn: str, region: str = ""
) -> sql.Composed:
    """The COPY that loads the staged gzip CSV files listed in `manifest_url` into
    schema.table's `columns`. Identifiers are quoted; the URL, ARN and region are checked and
    then passed as quoted literals."""
    if not manifest_url.startswith("s3://"):
        raise ConnectorError(f'"{manifest_url[:200]}" is not an s3:// URL.')
    bucket, _, key = manifest_url[len("s3://") :].partition("/")
    url = s3_url(bucket, key)
    statement = sql.SQL(
        "COPY {table} ({columns}) FROM {url} IAM_ROLE {role} MANIFEST FORMAT AS CSV GZIP "
        "NULL AS '\\N' TIMEFORMAT 'auto' DATEFORMAT 'auto'"  # as Redshift's COPY examples write it
    ).format(
        table=sql.Identifier(schema, table),
        columns=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        url=sql.Literal(url),
        role=sql.Literal(check_role_arn(role_arn)),
    )
    if region:
        statement += sql.SQL(" REGION {}").format(sql.Literal(check_region(region)))
    return statement


class Stage:
    """A run's files in the S3 stage: add() batches, finish() writes the manifest, remove()
    deletes everything under the run's prefix."""

    # a batch as the CSV the loading database reads (Snowflake's stage overrides it)
    csv_ready = staticmethod(pgtypes.csv_ready)

    def __init__(self, config: StageConfig, execution_id: str, client: Any = None):
        self.config = config
        self.client = client or make_client(config.settings)
        self.prefix = config.run_prefix(execution_id)
        self.files: list[tuple[str, int, int]] = []  # (key, gzip bytes, records)
        self.records = 0
        self.csv_bytes = 0
        self._spool: tempfile.TemporaryDirectory | None = None  # made when the first file opens
        self._out: Any = None
        self._in_file = 0  # CSV bytes in the open file
        self._file_records = 0

    @property
    def _path(self) -> Path:
        assert self._spool is not None
        return Path(self._spool.name) / "part.csv.gz"

    def add(self, table: pa.Table) -> None:
        """`table`'s columns, in order, as CSV rows without a header (as COPY FROM STDIN gets them)."""
        buffer = io.BytesIO()
        pacsv.write_csv(self.csv_ready(table), buffer,
                        pacsv.WriteOptions(include_header=False, null_string=NULL_MARK))
        data = buffer.getbuffer()
        if self._out is None:
            if self._spool is None:
                self._spool = tempfile.TemporaryDirectory(prefix="sluice-redshift-")
            self._out = pa.output_stream(str(self._path), compression="gzip")
        self._out.write(data)
        self._in_file += len(data)
        self._file_records += table.num_rows
        self.records += table.num_rows
        self.csv_bytes += len(data)
        if self._in_file >= FILE_BYTES:
            self._upload()

    def finish(self) -> str:
        """Upload the last file and the manifest; the manifest's s3:// URL."""
        self._upload()
        manifest = {
            "entries": [
                {
                    "url": s3_url(self.config.bucket, key),
                    "mandatory": True,
                    "meta": {"content_length": size, "record_count": records},
                }
                for key, size, records in self.files
            ]
        }
        key = f"{self.prefix}manifest.json"
        self._call(
            f"Writing s3://{self.config.bucket}/{key}",
            self.client.put_object,
            Bucket=self.config.bucket,
            Key=key,
            Body=orjson.dumps(manifest),
            ContentType="application/json",
            **self.config.settings.upload_args(),
        )
        return s3_url(self.config.bucket, key)

    def remove(self) -> None:
        """Delete every object under the run's stage prefix (and the local spool)."""
        if self._out is not None:
            self._out.close()
            self._out = None
        if self._spool is not None:
            self._spool.cleanup()
            self._spool = None
        bucket = self.config.bucket
        paginator = self.client.get_paginator("list_objects_v2")
        pages = self._call(
            f"Listing s3://{bucket}/{self.prefix}",
            lambda: list(paginator.paginate(Bucket=bucket, Prefix=self.prefix)),
        )
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            self._call(
                f"Deleting the stage s3://{bucket}/{self.prefix}",
                self.client.delete_objects,
                Bucket=bucket,
                Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True},
            )

    def check_bucket(self) -> None:
        """That Sluice may list the stage's prefix (Testing the connection)."""
        bucket = self.config.bucket
        self._call(
            f"Listing s3://{bucket}/{self.config.prefix}",
            self.client.list_objects_v2,
            Bucket=bucket,
            Prefix=self.config.prefix,
            MaxKeys=1,
        )

    def _upload(self) -> None:
        if self._out is None:
            return
        self._out.close()
        self._out = None
        key = f"{self.prefix}part-{len(self.files):05d}.csv.gz"
        self._call(
            f"Uploading s3://{self.config.bucket}/{key}",
            self.client.upload_file,
            str(self._path),
            self.config.bucket,
            key,
            ExtraArgs=self.config.settings.upload_args(),
        )
        self.files.append((key, self._path.stat().st_size, self._file_records))
        self._path.unlink()
        self._in_file = self._file_records = 0

    def _call(self, doing: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except S3_ERRORS as exc:
            raise s3_error(exc, self.config.settings, doing, self.config.bucket) from None
