"""Amazon S3 and S3-compatible stores (MinIO, Ceph, R2, ...) as a source and a destination.

Connection: region, optional endpointUrl, optional server-side encryption for what Sluice writes;
credentials accessKeyId + secretAccessKey, or none to use the environment's default credentials.
Flows name `bucketName` and `bucketPrefix` with AppFlow's s3InputFormatConfig /
s3OutputFormatConfig. See source.py, destination.py and layout.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import botocore.exceptions as bx
import pyarrow as pa

from .. import sourcefiles
from ..base import (
    ConfigField,
    ConnectionInfo,
    Connector,
    ConnectorError,
    Entity,
    EntityField,
    SourceBatch,
    Window,
    WriteResult,
)
from ..fileformats import BLANK_CELLS_KEY, blank_cells_problem
from . import source
from .client import S3_ERRORS, SSE_CHOICES, looks_like_s3, make_client, not_s3, s3_error, settings_from
from .destination import output_file_type, write_objects
from .layout import check_output

_SOURCE_KEYS = {"bucketName", "bucketPrefix", "s3InputFormatConfig"}
_DESTINATION_KEYS = {"bucketName", "bucketPrefix", "s3OutputFormatConfig"}
_OUTPUT_KEYS = {"fileType", "prefixConfig", "aggregationConfig", "preserveSourceDataTyping"}


class S3Connector(Connector):
    connector_type: ClassVar[str] = "S3"
    properties_key: ClassVar[str] = "S3"
    display_name: ClassVar[str] = "Amazon S3"
    description: ClassVar[str] = (
        "CSV and JSON Lines files in an S3 bucket (Amazon S3 or any S3-compatible store) as a source; "
        "CSV, JSON Lines or Parquet files as a destination, published only when a run ends well."
    )
    can_be_source: ClassVar[bool] = True
    can_be_destination: ClassVar[bool] = True
    auth_kind: ClassVar[str] = "api_key"
    caches_metadata: ClassVar[bool] = False  # cheap to ask, and should be current
    config_fields: ClassVar[tuple[ConfigField, ...]] = (
        # Without an endpoint URL the region picks the S3 host the keys sign requests for.
        ConfigField("region", label="Region", required=False, default="us-east-1", sends_credentials_to=True),
        ConfigField(
            "endpointUrl",
            kind="url",
            label="Endpoint URL",
            required=False,
            help="Only for S3-compatible stores, e.g. http://minio.internal:9000. Empty for Amazon S3.",
            sends_credentials_to=True,
        ),
        ConfigField(
            "serverSideEncryption",
            kind="choice",
            label="Server-side encryption",
            required=False,
            choices=SSE_CHOICES,
            help="AES256 (SSE-S3) or aws:kms (SSE-KMS) for every object Sluice writes.",
        ),
        ConfigField(
            "kmsKeyId", label="KMS key id", required=False, help="For aws:kms; empty for the default key."
        ),
        ConfigField(
            "accessKeyId",
            label="Access key id",
            secret=True,
            required=False,
            help="Empty to use the environment's default credentials.",
        ),
        ConfigField("secretAccessKey", kind="secret", label="Secret access key", secret=True, required=False),
    )
    trigger_types: ClassVar[tuple[str, ...]] = ("OnDemand", "Scheduled")
    write_operations: ClassVar[tuple[str, ...]] = ("INSERT",)
    partitions_output: ClassVar[bool] = True  # field=value/ folders (fileformats/partitions.py)
    accepts_files: ClassVar[bool] = True  # e.g. Veeva Vault documents, under the run's documents/ folder
    # Issue 7: a failed *or cancelled* run leaves no file under the final prefix, so readers of
    # the prefix never see a partial export (Local files and databases keep what a cancel wrote).
    publishes_on_cancel: ClassVar[bool] = False

    @classmethod
    def entity_name(cls, props: Mapping[str, Any]) -> str:
        if not isinstance(props, Mapping):
            return ""
        bucket, prefix = str(props.get("bucketName") or ""), str(props.get("bucketPrefix") or "").strip("/")
        return f"{bucket}/{prefix}" if prefix else bucket

    @classmethod
    def check_source_properties(cls, props: Any) -> list[tuple[str, str]]:
        problems = _check_common(props, _SOURCE_KEYS)
        config = props.get("s3InputFormatConfig") if isinstance(props, Mapping) else None
        if config is not None:
            wanted = config.get("s3InputFileType") if isinstance(config, Mapping) else None
            if not isinstance(config, Mapping) or wanted not in (None, "CSV", "JSON"):
                problems.append(("s3InputFormatConfig.s3InputFileType", "must be CSV or JSON"))
            if isinstance(config, Mapping):
                problems += [(f"s3InputFormatConfig.{k}", "is not an S3 input setting")
                             for k in config if k not in ("s3InputFileType", BLANK_CELLS_KEY)]
                if BLANK_CELLS_KEY in config and (problem := blank_cells_problem(config[BLANK_CELLS_KEY])):
                    problems.append((f"s3InputFormatConfig.{BLANK_CELLS_KEY}", problem))
        return problems

    @classmethod
    def check_destination_properties(cls, props: Any) -> list[tuple[str, str]]:
        problems = _check_common(props, _DESTINATION_KEYS)
        output = props.get("s3OutputFormatConfig") if isinstance(props, Mapping) else None
        problems += check_output(output)
        if isinstance(output, Mapping):
            problems += [
                (f"s3OutputFormatConfig.{k}", "is not an S3 output setting")
                for k in output
                if k not in _OUTPUT_KEYS
            ]
            if output_file_type(output) is None:
                problems.append(("s3OutputFormatConfig.fileType", "must be CSV, JSON or PARQUET"))
            if not isinstance(output.get("preserveSourceDataTyping", False), bool):
                problems.append(("s3OutputFormatConfig.preserveSourceDataTyping", "must be true or false"))
        return problems

    def test(self, conn: ConnectionInfo) -> None:
        settings = settings_from(conn)
        try:
            answer = make_client(settings).list_buckets()
        except bx.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code == "AccessDenied":
                return  # the key is valid (its signature was checked); it just may not list every bucket
            if code.isdigit():
                # botocore names the error by the HTTP status when the body is no S3 error document
                raise not_s3(settings, "Testing the connection") from None
            raise s3_error(exc, settings, "Testing the connection") from None
        except S3_ERRORS as exc:
            raise s3_error(exc, settings, "Testing the connection") from None
        if not looks_like_s3(answer):
            raise not_s3(settings, "Testing the connection")

    def list_entities(self, conn: ConnectionInfo, parent: str | None = None) -> list[Entity]:
        settings = settings_from(conn)
        return source.list_entities(make_client(settings), settings, parent)

    def describe_entity(self, conn: ConnectionInfo, entity: str) -> list[EntityField]:
        settings = settings_from(conn)
        return source.describe(make_client(settings), settings, entity, {})

    def read(
        self,
        conn: ConnectionInfo,
        entity: str,
        fields: list[str] | None,
        filters: list[Mapping[str, Any]],
        window: Window,
        options: Mapping[str, Any],
    ) -> Iterator[SourceBatch]:
        settings = settings_from(conn)
        bucket, prefix = source.split(entity)
        return source.read(make_client(settings), settings, bucket, prefix, fields, window, options)

    def write(
        self, conn: ConnectionInfo, entity: str, batches: Iterable[pa.Table], options: Mapping[str, Any]
    ) -> WriteResult:
        settings = settings_from(conn)
        bucket, prefix = source.split(entity)
        output = options.get("s3OutputFormatConfig") or {}
        execution_id = str(options.get("executionId") or "")
        if not execution_id or "/" in execution_id:
            raise ConnectorError(
                f'"{execution_id}" cannot name an output folder (an executionId without "/").'
            )
        return write_objects(
            make_client(settings), settings, bucket, prefix, output, execution_id, batches,
            partition_keys=list(options.get("partitionKeys") or ()),
            handed_files=sourcefiles.handed(options),
        )


def _check_common(props: Any, allowed: set[str]) -> list[tuple[str, str]]:
    if not isinstance(props, Mapping):
        return [("", "must be an object with bucketName")]
    problems: list[tuple[str, str]] = []
    bucket = props.get("bucketName")
    if not isinstance(bucket, str) or not bucket.strip():
        problems.append(("bucketName", "is required"))
    elif "/" in bucket or not 3 <= len(bucket) <= 63:
        problems.append(("bucketName", f'"{bucket}" is not a bucket name (3 to 63 characters, no "/")'))
    prefix = props.get("bucketPrefix")
    if prefix is not None and not isinstance(prefix, str):
        problems.append(("bucketPrefix", "must be text"))
    problems += [(k, "is not a property of the S3 connector") for k in props if k not in allowed]
    return problems
