"""Signature Version 4, verified: the expected signature is computed by botocore's own signer
(SigV4Auth) over the request as received, so client and server agree by construction.

Checked, in order: an AWS4-HMAC-SHA256 Authorization header for this service and region, a date
within the clock-skew window (and the scope's day matching it), an active access key, the payload
hash against the body, then the signature. Refusals are logged with the key id and the reason,
never the secret or the signature."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from api.models import AccessKey, SeenSignature
from api.wire import ApiError

logger = logging.getLogger("sluice.api")

SERVICE = "appflow"
MAX_SKEW = timedelta(minutes=15)
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Caller:
    key: AccessKey
    signature: str
    signed_at: datetime


def refuse(message: str, reason: str, key_id: str = "-") -> ApiError:
    logger.warning("API request refused: %s (access key %s)", reason, key_id)
    return ApiError("AccessDeniedException", message)


def region() -> str:
    return getattr(settings, "SLUICE_API_REGION", "us-east-1")


def raw_path(request: HttpRequest, uri_labels: dict[str, str]) -> str:
    """The path as the client signed it. gunicorn keeps it (RAW_URI); other servers hand only the
    decoded path, so encode it again as botocore does (a URI label with safe="", the rest "/~")."""
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if raw:
        return raw.split("?", 1)[0]
    path = request.path
    for value in uri_labels.values():
        if value and path.endswith(value):
            return quote(path[: -len(value)], safe="/~") + quote(value, safe="-_.~")
    return quote(path, safe="/~")


def _header(request: HttpRequest, name: str) -> str | None:
    meta = name.upper().replace("-", "_")
    if meta in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return request.META.get(meta)
    return request.META.get(f"HTTP_{meta}")


def expected_signature(request: HttpRequest, body: bytes, path: str, signed: list[str], secret: str,
                       key_id: str, amz_date: str) -> str:
    headers = {}
    for name in signed:
        value = _header(request, name)
        if value is None:
            raise refuse(f"The signed header {name} is missing from the request.",
                         f"missing header {name}", key_id)
        headers[name] = value
    query = request.META.get("QUERY_STRING", "")
    # http:// so the signer hashes the payload (it may skip that over https for some operations).
    url = f"http://{headers.get('host', 'localhost')}{path}" + (f"?{query}" if query else "")
    aws_request = AWSRequest(method=request.method, url=url, data=body, headers=headers)
    aws_request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(key_id, secret), SERVICE, region())
    canonical = signer.canonical_request(aws_request)
    return signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)


def verify(request: HttpRequest, body: bytes, uri_labels: dict[str, str]) -> Caller:
    match = _AUTH.match(request.META.get("HTTP_AUTHORIZATION", "").strip())
    if not match:
        raise refuse(
            "Sign the request with AWS Signature Version 4 (AWS4-HMAC-SHA256) using a Sluice access key: "
            "create one on the Access keys page or with `python manage.py access_key create --user NAME`.",
            "no or malformed Authorization header",
        )
    parts = match["credential"].split("/")
    key_id = parts[0] if parts else "-"
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise refuse("The Credential of the Authorization header is malformed.",
                     "bad credential scope", key_id)
    _, day, scope_region, service, _ = parts
    if service != SERVICE:
        raise refuse(f'The request is signed for the service "{service}"; sign it for "{SERVICE}".',
                     f"service {service}", key_id)
    if scope_region != region():
        raise refuse(f'The request is signed for the region "{scope_region}"; this Sluice answers as '
                     f'"{region()}" (set region_name to it).', f"region {scope_region}", key_id)
    amz_date = request.META.get("HTTP_X_AMZ_DATE", "")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise refuse("The X-Amz-Date header is missing or not in the form 20250101T120000Z.",
                     "bad X-Amz-Date", key_id) from None
    now = timezone.now()
    if abs(now - signed_at) > MAX_SKEW or day != amz_date[:8]:
        raise refuse(
            f"The request was signed at {signed_at:%Y-%m-%d %H:%M:%S} UTC, more than 15 minutes from this "
            f"server's time ({now:%Y-%m-%d %H:%M:%S} UTC). Check the clock of the machine that signs.",
            "signature date out of the window", key_id,
        )
    signed = match["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        raise refuse("SignedHeaders must include host and x-amz-date.", "host or date unsigned", key_id)
    key = AccessKey.objects.select_related("user").filter(access_key_id=key_id).first()
    if key is None or not key.is_active or not key.user.is_active:
        state = "unknown" if key is None else "deactivated"
        raise refuse(f"The access key {key_id} is not an active Sluice access key.",
                     f"{state} key", key_id)
    content_hash = request.META.get("HTTP_X_AMZ_CONTENT_SHA256")
    if content_hash is not None and not hmac.compare_digest(content_hash, hashlib.sha256(body).hexdigest()):
        raise refuse("The X-Amz-Content-SHA256 header does not match the body.",
                     "payload hash mismatch", key_id)
    expected = expected_signature(request, body, raw_path(request, uri_labels), signed,
                                  key.secret_encrypted, key_id, amz_date)
    if not hmac.compare_digest(expected, match["signature"]):
        raise refuse(
            "The request signature does not match: check the secret access key, and that nothing changed "
            "the request (body, path, query, signed headers) after it was signed.",
            "signature mismatch", key_id,
        )
    return Caller(key=key, signature=match["signature"], signed_at=signed_at)


def refuse_replay(caller: Caller) -> SeenSignature:
    """A mutating request's signature is accepted once: an identical request sent again within the
    window (captured and replayed, or resent by a proxy) is refused instead of acting twice.
    The caller forgets the row (`forget`) when the request was not carried out, so a client's
    retry of a failed request signed within the same second is not taken for a replay."""
    now = timezone.now()
    SeenSignature.objects.filter(seen_at__lt=now - 2 * MAX_SKEW).delete()
    try:
        with transaction.atomic():
            return SeenSignature.objects.create(signature=caller.signature, seen_at=now)
    except IntegrityError:
        raise refuse(
            "This signed request was already received: it is not carried out twice. "
            "Sign it again to repeat it.",
            "replayed signature", caller.key.access_key_id,
        ) from None


def forget(seen: SeenSignature | None) -> None:
    if seen is not None:
        SeenSignature.objects.filter(pk=seen.pk).delete()


def touch(caller: Caller) -> None:
    """Record when the key was last used, at most once a minute (not a write per request)."""
    now = timezone.now()
    last = caller.key.last_used_at
    if last is None or now - last > timedelta(minutes=1):
        AccessKey.objects.filter(pk=caller.key.pk).update(last_used_at=now)
