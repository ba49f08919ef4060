"""Infor Nexus HMAC request signing (scheme HMAC_1), the four credentials AppFlow names: access key
id, user id, secret access key and data key.

For each request:
  x-dapi-date   = the time in UTC as YYYY-MM-DDTHH:MM:SSZ
  signing base  = lower(x-dapi-date) + lower(METHOD) + lower(path and query as sent, from the first
                  "/" after the host) [+ lower(body) when the method is POST]
  signature     = base64(HMAC-SHA256(key = secret access key as UTF-8, message = signing base as UTF-8))
  headers       = Authorization: HMAC_1 <access key id>:<signature>:<user id>
                  x-dapi-date: <x-dapi-date>
                  datakey: <data key>

Infor Nexus publishes no example signature that we could find; the construction is the one public
HMAC clients for its REST API use, and docs/connectors.md ("Infor Nexus") states it. Django-free."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import urlsplit


def dapi_date(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signing_base(method: str, url: str, date: str, body: str | None = None) -> str:
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    base = date.lower() + method.lower() + path.lower()
    if method.upper() == "POST" and body:
        base += body.lower()
    return base


def signature(secret_access_key: str, base: str) -> str:
    digest = hmac.new(secret_access_key.encode(), base.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_headers(method: str, url: str, *, access_key_id: str, user_id: str, secret_access_key: str,
                   datakey: str, now: datetime | None = None) -> dict[str, str]:
    date = dapi_date(now)
    sig = signature(secret_access_key, signing_base(method, url, date))
    return {"Authorization": f"HMAC_1 {access_key_id}:{sig}:{user_id}", "x-dapi-date": date,
            "datakey": datakey}
