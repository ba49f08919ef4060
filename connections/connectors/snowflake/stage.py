"""Snowflake's load path, as AppFlow's: the run's records staged as gzip CSV files in the S3 bucket
behind the connection's Snowflake stage, then loaded with COPY INTO ... FILES = (...).

The connection names the stage (`stage`, DB.SCHEMA.NAME, an external stage created in Snowflake
on `s3://<bucketName>/<bucketPrefix>/`) and that bucket and prefix. The destination's
`intermediateBucketName` must be that bucket (Snowflake reads the files through the stage); its
`bucketPrefix` is a folder under the stage's prefix. A run's files go under
`<bucketPrefix>/<destination bucketPrefix>/.sluice-snowflake/<executionId>/<attempt>/`, written
with the connection's S3 settings through the S3 connector's client code (Redshift's Stage class:
spooled, rolled every 64 MB of CSV, uploaded, removed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.types as pat

from ..base import ConnectionInfo, ConnectorError
from ..postgresql import pgtypes
from ..redshift.stage import _BUCKET, Stage, StageConfig, check_key_part, check_region
from ..s3.client import settings_from

STAGE_FOLDER = ".sluice-snowflake"


def stage_config(conn: ConnectionInfo, options: Mapping[str, Any]) -> tuple[StageConfig, str]:
    """Where the run stages (bucket, prefix and the S3 client's settings), and the path of the
    destination's folder relative to the Snowflake stage's URL."""
    props = conn.properties
    bucket = str(props.get("bucketName") or "").strip()
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ConnectorError(f'bucketName: "{bucket[:100]}" is not an S3 bucket name.')
    wanted = str(options.get("intermediateBucketName") or bucket).strip()
    if wanted != bucket:
        raise ConnectorError(
            f'intermediateBucketName: "{wanted[:100]}" is not the bucket of the connection\'s Snowflake '
            f'stage ("{bucket}"): Snowflake reads the staged files through the stage, so use that bucket.'
        )
    stage_prefix = _parts(str(props.get("bucketPrefix") or ""), "bucketPrefix")
    folder = _parts(str(options.get("bucketPrefix") or ""), "bucketPrefix")
    region = str(props.get("region") or "").strip()
    s3 = ConnectionInfo(
        conn.name,
        "S3",
        "",
        {"region": region, "endpointUrl": props.get("endpointUrl") or ""},
        {k: conn.credentials.get(k) for k in ("accessKeyId", "secretAccessKey")},
    )
    config = StageConfig(
        bucket=bucket,
        prefix="".join(f"{p}/" for p in stage_prefix + folder),
        role_arn="",
        region=check_region(region) if region else "",
        settings=settings_from(s3),
        folder=STAGE_FOLDER,
    )
    return config, "".join(f"{p}/" for p in folder)


def _parts(prefix: str, field: str) -> list[str]:
    parts = [p for p in prefix.strip("/").split("/") if p]
    return [check_key_part(p, field) for p in parts]


def snowflake_csv(table: pa.Table) -> pa.Table:
    """PostgreSQL's CSV form (nested values as JSON text, microsecond timestamps), but binary as
    plain hex: Snowflake's default BINARY_FORMAT, where PostgreSQL wants a \\x in front."""
    columns = []
    for column in table.columns:
        kind = column.type
        if pat.is_binary(kind) or pat.is_large_binary(kind) or pat.is_fixed_size_binary(kind):
            column = pa.array([None if v is None else v.hex() for v in column.to_pylist()], pa.string())
        columns.append(column)
    return pgtypes.csv_ready(pa.table(columns, names=table.column_names))


class SnowflakeStage(Stage):
    """A run's files in the stage bucket; finish() uploads the last one and names them all."""

    csv_ready = staticmethod(snowflake_csv)

    def finish_files(self) -> list[str]:
        self._upload()
        return [key.rsplit("/", 1)[-1] for key, _size, _records in self.files]

    @property
    def uploaded_bytes(self) -> int:
        return sum(size for _key, size, _records in self.files)
