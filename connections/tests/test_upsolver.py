"""The Upsolver destination: S3's code with Upsolver's bucket rule and required prefixConfig
(against moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from connections.connectors.base import ConnectorError
from connections.connectors.upsolver import UpsolverConnector
from connections.tests import s3server

UP = UpsolverConnector()
OUTPUT = {
    "fileType": "JSON",
    "prefixConfig": {"prefixType": "PATH", "prefixFormat": "DAY", "pathPrefixHierarchy": ["EXECUTION_ID"]},
}


def test_a_bucket_not_starting_with_upsolver_appflow_is_refused_by_the_validator():
    problems = UpsolverConnector.check_destination_properties(
        {"bucketName": "my-lake", "s3OutputFormatConfig": {"fileType": "CSV"}}
    )
    assert (
        "bucketName",
        '"my-lake" is not an Upsolver bucket: the name must start with "upsolver-appflow" '
        "(16 to 63 characters): the bucket Upsolver's Amazon AppFlow data source created, or one you "
        "created with such a name",
    ) in problems
    assert ("s3OutputFormatConfig.prefixConfig", "is required for Upsolver (AppFlow's shape)") in problems
    assert (
        UpsolverConnector.check_destination_properties(
            {"bucketName": "upsolver-appflow-crm", "bucketPrefix": "sf", "s3OutputFormatConfig": OUTPUT}
        )
        == []
    )
    assert ("s3OutputFormatConfig.preserveSourceDataTyping", "is not an Upsolver output setting") in (
        UpsolverConnector.check_destination_properties(
            {
                "bucketName": "upsolver-appflow-crm",
                "s3OutputFormatConfig": {**OUTPUT, "preserveSourceDataTyping": True},
            }
        )
    )


def test_a_run_writes_s3_keys_in_appflows_layout_and_refuses_other_buckets():
    bucket = s3server.new_bucket("upsolver-appflow-")
    conn = s3server.connection_info()
    options = {
        "bucketName": bucket,
        "bucketPrefix": "crm",
        "s3OutputFormatConfig": OUTPUT,
        "executionId": "e-1",
    }
    batch = pa.table({"Id": ["1", "2"], "Name": ["Acme", "Globex"]})

    result = UP.write(conn, UP.entity_name(options), iter([batch]), options)

    day = datetime.now(UTC).strftime("%Y/%m/%d")
    assert result.records_written == 2
    assert s3server.keys(bucket) == [f"crm/{day}/e-1/_manifest.json", f"crm/{day}/e-1/part-00000.jsonl"]
    lines = s3server.body(bucket, f"crm/{day}/e-1/part-00000.jsonl").decode().splitlines()
    assert [json.loads(line)["Name"] for line in lines] == ["Acme", "Globex"]
    with pytest.raises(ConnectorError, match='bucketName: "sluice-lake" is not an Upsolver bucket'):
        UP.write(conn, "sluice-lake", iter([batch]), {**options, "bucketName": "sluice-lake"})
