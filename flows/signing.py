"""The HMAC signature Sluice checks on event webhooks and puts on the notifications it sends:
`X-Sluice-Signature: sha256=<hex>` over `<timestamp>.<body>`, the timestamp in `X-Sluice-Timestamp`
(docs/triggers.md)."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Sluice-Signature"
TIMESTAMP_HEADER = "X-Sluice-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"
