"""An S3 protocol server for tests: moto in server mode, on a free port, once per test process.

Connectors talk to it over HTTP exactly as to any S3-compatible store (endpointUrl). Tests call
`need_s3()`: they skip when moto is not installed, and fail under CI=true."""

from __future__ import annotations

import atexit
import logging
import socket
import uuid
from functools import cache

import boto3

from conftest import need
from connections.connectors.base import ConnectionInfo

ACCESS_KEY = "testing-key-id"
SECRET_KEY = "testing-secret-key-123"
REGION = "us-east-1"


@cache
def endpoint() -> str:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        need(False, "moto[server] (requirements-dev.txt)")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request in test output
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    atexit.register(server.stop)
    return f"http://127.0.0.1:{port}"


def need_s3() -> str:
    return endpoint()


def client():
    return boto3.client(
        "s3",
        endpoint_url=need_s3(),
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    )


def new_bucket(start: str = "sluice-") -> str:
    name = f"{start}{uuid.uuid4().hex[:16]}"
    client().create_bucket(Bucket=name)
    return name


def connection_info(**properties) -> ConnectionInfo:
    return ConnectionInfo(
        "s3",
        "S3",
        "",
        {"region": REGION, "endpointUrl": need_s3(), **properties},
        {"accessKeyId": ACCESS_KEY, "secretAccessKey": SECRET_KEY},
    )


def keys(bucket: str, prefix: str = "") -> list[str]:
    pages = client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def body(bucket: str, key: str) -> bytes:
    return client().get_object(Bucket=bucket, Key=key)["Body"].read()


def lake_destination(bucket: str, prefix: str, file_type: str = "JSON", name: str = "lake") -> dict:
    """A saved S3 connection `name` on this server, and a flow's destination block writing
    `file_type` files under `prefix` of `bucket` through it."""
    from connections.models import Connection

    if not Connection.objects.filter(name=name).exists():
        lake = Connection(name=name, connector_type="S3", properties={"region": REGION, "endpointUrl": need_s3()})
        lake.credentials = {"accessKeyId": ACCESS_KEY, "secretAccessKey": SECRET_KEY}
        lake.save()
    return {"connectorType": "S3", "connectorProfileName": name,
            "destinationConnectorProperties": {"S3": {"bucketName": bucket, "bucketPrefix": prefix,
                                                      "s3OutputFormatConfig": {"fileType": file_type}}}}
