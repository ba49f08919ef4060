"""Upsolver as a destination: files in the S3 bucket Upsolver reads, written by the S3 destination's
code (staging, publish with a manifest, nothing half-written).

What differs from S3, as AppFlow has it:
- the bucket must be one of Upsolver's: its name starts with `upsolver-appflow` (16 to 63
  characters). Upsolver's "Amazon AppFlow data source" creates it, or you create it yourself
  (AppFlow user guide, Upsolver, Requirements; botocore's `UpsolverBucketName` pattern
  `^(upsolver-appflow)\\S*`, https://docs.aws.amazon.com/appflow/1.0/APIReference/API_UpsolverDestinationProperties.html);
- `s3OutputFormatConfig.prefixConfig` is required (UpsolverS3OutputFormatConfig,
  https://docs.aws.amazon.com/appflow/1.0/APIReference/API_UpsolverS3OutputFormatConfig.html):
  it decides the keys as for S3 (https://docs.aws.amazon.com/appflow/1.0/APIReference/API_PrefixConfig.html),
  `<bucketPrefix>/<timestamp path>/<EXECUTION_ID|SCHEMA_VERSION folders>/<file>` (s3/layout.py);
- only CSV, JSON or PARQUET, no preserveSourceDataTyping (not in Upsolver's output config).
The connection holds only how to reach S3 (region, endpoint, keys): AppFlow's Upsolver profile has
no properties of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import pyarrow as pa

from .base import ConnectionInfo, ConnectorError, WriteResult
from .s3 import S3Connector

BUCKET_START = "upsolver-appflow"
_DESTINATION_KEYS = {"bucketName", "bucketPrefix", "s3OutputFormatConfig"}
_OUTPUT_KEYS = {"fileType", "prefixConfig", "aggregationConfig"}
BUCKET_RULE = (
    f'must start with "{BUCKET_START}" (16 to 63 characters): the bucket Upsolver\'s Amazon AppFlow '
    "data source created, or one you created with such a name"
)


def bucket_problem(bucket: Any) -> str:
    """Why `bucket` cannot be an Upsolver bucket, or ""."""
    if not isinstance(bucket, str) or not bucket.strip():
        return f"is required; it {BUCKET_RULE}"
    if not bucket.startswith(BUCKET_START) or not 16 <= len(bucket) <= 63 or "/" in bucket:
        return f'"{bucket[:100]}" is not an Upsolver bucket: the name {BUCKET_RULE}'
    return ""


class UpsolverConnector(S3Connector):
    connector_type: ClassVar[str] = "Upsolver"
    properties_key: ClassVar[str] = "Upsolver"
    display_name: ClassVar[str] = "Upsolver"
    description: ClassVar[str] = (
        "Files for Upsolver, as a destination: CSV, JSON Lines or Parquet in an S3 bucket whose name "
        f'starts with "{BUCKET_START}" (the bucket Upsolver\'s Amazon AppFlow data source creates), '
        "published only when a run ends well. This connection says how to reach S3; each flow "
        "names the bucket."
    )
    can_be_source: ClassVar[bool] = False
    can_be_destination: ClassVar[bool] = True
    partitions_output: ClassVar[bool] = False  # Upsolver's output config has no partition keys

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        return [("", "Upsolver is a destination only")]

    @classmethod
    def check_destination_properties(cls, props: Any) -> list[tuple[str, str]]:
        if not isinstance(props, Mapping):
            return [("", "must be an object with bucketName and s3OutputFormatConfig")]
        problems = [
            (k, "is not a property of the Upsolver connector") for k in props if k not in _DESTINATION_KEYS
        ]
        problem = bucket_problem(props.get("bucketName"))
        if problem:
            problems.append(("bucketName", problem))
        output = props.get("s3OutputFormatConfig")
        if not isinstance(output, Mapping) or not isinstance(output.get("prefixConfig"), Mapping):
            problems.append(
                ("s3OutputFormatConfig.prefixConfig", "is required for Upsolver (AppFlow's shape)")
            )
        if isinstance(output, Mapping):
            problems += [
                (f"s3OutputFormatConfig.{k}", "is not an Upsolver output setting")
                for k in output
                if k not in _OUTPUT_KEYS
            ]
            output = {k: v for k, v in output.items() if k in _OUTPUT_KEYS}
        rest = {k: v for k, v in props.items() if k in _DESTINATION_KEYS}
        if isinstance(output, Mapping):
            rest["s3OutputFormatConfig"] = output
        # the S3 checks of the rest (prefix, file type, prefixConfig and aggregationConfig values)
        problems += [p for p in super().check_destination_properties(rest) if p[0] != "bucketName"]
        return problems

    def write(
        self, conn: ConnectionInfo, entity: str, batches: Iterable[pa.Table], options: Mapping[str, Any]
    ) -> WriteResult:
        problem = bucket_problem(options.get("bucketName"))
        if problem:  # a document that skipped the check (an older version, a direct engine call)
            raise ConnectorError(f"bucketName: {problem}.")
        return super().write(conn, entity, batches, options)
