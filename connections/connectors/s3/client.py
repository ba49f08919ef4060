"""S3 connections: settings from a plain ConnectionInfo, a boto3 client, errors for people.

The endpoint URL (for S3-compatible stores: MinIO, Ceph, R2, ...) has its host checked by
hosts.check_host(), the SSRF guard's single call site. Without an access key id the client uses
the environment's default credentials (instance role, AWS_* variables, ~/.aws). The secret key
never appears in a message: botocore's messages do not carry it, and ours never name it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.exceptions as bx
from botocore.config import Config

from .. import apicalls
from ..base import ConnectionInfo, ConnectorError
from ..hosts import check_host, checked_address

SSE_CHOICES = ("AES256", "aws:kms")
# What botocore raises when the endpoint does not answer like S3 (a web page, a redirect without a
# region, a malformed listing): its parsers and region redirector fail with plain Python errors
# (TypeError on a bare 301, RecursionError on a redirect loop, ValueError on a bad date).
NOT_S3_ERRORS = (TypeError, ValueError, KeyError, AttributeError, RecursionError)
# what boto3 raises; callers catch these and turn them into ConnectorErrors with s3_error()
S3_ERRORS = (bx.BotoCoreError, bx.ClientError, *NOT_S3_ERRORS)
_TRANSIENT_CODES = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "503", "500"}


@dataclass(frozen=True)
class S3Settings:
    region: str = ""
    endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""
    sse: str = ""  # "", AES256 (SSE-S3) or aws:kms (SSE-KMS)
    kms_key_id: str = ""

    @property
    def where(self) -> str:
        return self.endpoint_url or f"Amazon S3 ({self.region or 'default region'})"

    def upload_args(self) -> dict[str, str]:
        """ExtraArgs for every object Sluice writes (server-side encryption)."""
        args: dict[str, str] = {}
        if self.sse:
            args["ServerSideEncryption"] = self.sse
        if self.sse == "aws:kms" and self.kms_key_id:
            args["SSEKMSKeyId"] = self.kms_key_id
        return args


def settings_from(conn: ConnectionInfo) -> S3Settings:
    props: Mapping[str, Any] = conn.properties
    creds: Mapping[str, Any] = conn.credentials
    sse = str(props.get("serverSideEncryption") or "")
    if sse and sse not in SSE_CHOICES:
        raise ConnectorError(
            f'serverSideEncryption: must be AES256 (SSE-S3) or aws:kms (SSE-KMS), not "{sse}".'
        )
    key_id, secret = str(creds.get("accessKeyId") or ""), str(creds.get("secretAccessKey") or "")
    if bool(key_id) != bool(secret):
        raise ConnectorError(
            "accessKeyId and secretAccessKey: give both, or neither to use the environment's "
            "default credentials."
        )
    return S3Settings(
        region=str(props.get("region") or ""),
        endpoint_url=check_endpoint(str(props.get("endpointUrl") or "")),
        access_key_id=key_id,
        secret_access_key=secret,
        sse=sse,
        kms_key_id=str(props.get("kmsKeyId") or ""),
    )


def check_endpoint(url: str) -> str:
    """The endpoint URL ("" for Amazon S3 itself), or a ConnectorError naming what is wrong."""
    url = url.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectorError(f'endpointUrl: "{url[:200]}" must be an http:// or https:// URL.')
    if parts.username or parts.password or parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ConnectorError(
            "endpointUrl: give only scheme, host and port, like https://minio.internal:9000."
        )
    check_host(parts.hostname, "endpointUrl")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ConnectorError(f'endpointUrl: "{url[:200]}" has an invalid port.') from None
    # The SSRF guard. boto3 then connects by name (a DNS answer changing in between is not caught).
    checked_address(parts.hostname, port)
    return url.rstrip("/")


def make_client(settings: S3Settings) -> Any:
    config = Config(
        connect_timeout=10,
        read_timeout=60,
        retries={"max_attempts": 4, "mode": "standard"},
        # S3-compatible stores rarely serve virtual-host style bucket names
        s3={"addressing_style": "path"} if settings.endpoint_url else {},
    )
    session = boto3.session.Session(
        aws_access_key_id=settings.access_key_id or None,
        aws_secret_access_key=settings.secret_access_key or None,
        region_name=settings.region or None,
    )
    client = session.client("s3", endpoint_url=settings.endpoint_url or None, config=config)
    # S3 bills per request too: each HTTP attempt counts in the run's API calls (apicalls.py).
    client.meta.events.register("before-send.s3", apicalls.counter_here())
    return client


def not_s3(settings: S3Settings, doing: str) -> ConnectorError:
    return ConnectorError(
        f"{doing}: {settings.where} does not answer like an S3 service. Check endpointUrl: it must be "
        "the S3 API address of the store (for MinIO its API port, not the web console's)."
    )


def looks_like_s3(answer: Mapping[str, Any]) -> bool:
    """Whether a ListBuckets answer came from S3: botocore reads any 200 page as an empty listing."""
    headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return "xml" in str(headers.get("content-type", "")) or "Buckets" in answer or "Owner" in answer


def s3_error(exc: Exception, settings: S3Settings, doing: str, bucket: str = "") -> ConnectorError:
    """A message a person can act on for a boto3 failure."""
    if isinstance(exc, NOT_S3_ERRORS):
        return not_s3(settings, doing)
    if isinstance(exc, bx.HTTPClientError) and isinstance(exc.kwargs.get("error"), RecursionError):
        # A redirect loop too: where the recursion limit strikes depends on how deep the caller's
        # stack already was (a worker, a test process under xdist); inside the HTTP send, botocore
        # wraps it.
        return not_s3(settings, doing)
    if isinstance(exc, bx.NoCredentialsError):
        return ConnectorError(
            "No S3 credentials: give an access key id and secret access key, or configure the "
            "environment's default credentials."
        )
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return ConnectorError(f"{doing}: cannot reach {settings.where}: {exc}", permanent=False)
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        named = f'the bucket "{bucket}"' if bucket else "S3"
        if code == "NoSuchBucket":
            return ConnectorError(f'{doing}: the bucket "{bucket}" does not exist at {settings.where}.')
        if code in ("InvalidAccessKeyId", "InvalidClientTokenId"):
            return ConnectorError(f"{doing}: {settings.where} does not know the access key id (accessKeyId).")
        if code == "SignatureDoesNotMatch":
            return ConnectorError(f"{doing}: the secret access key does not match the access key id.")
        if code in ("AccessDenied", "403", "AllAccessDisabled") or status == 403:
            return ConnectorError(f"{doing}: access to {named} was denied. Check the key's permissions.")
        if not code or "<html" in str(error.get("Message", "")).lower():
            return not_s3(settings, doing)  # an error page, not an S3 error document (always has a Code)
        if code in _TRANSIENT_CODES or (status or 0) >= 500:
            return ConnectorError(
                f"{doing}: {settings.where} answered {code or status}; try again later.", permanent=False
            )
        return ConnectorError(f"{doing}: {code}: {error.get('Message', '')}".rstrip(": "))
    return ConnectorError(f"{doing}: {exc}", permanent=False)
