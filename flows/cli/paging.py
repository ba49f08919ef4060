"""maxResults / nextToken paging, by keyset: a token holds the sort key of the last row shown.

Keyset rather than offset because executions arrive while someone pages through them, newest
first: an offset would then show rows twice. Tokens are signed (django.core.signing), so garbage
or an edited token is refused instead of quietly paging from somewhere else, and each carries a
fingerprint of the request it belongs to, so it cannot be replayed with other filters."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import Model, Q, QuerySet

from console.errors import UserError

DEFAULT_MAX_RESULTS = 20
_SALT = "sluice.cli.nextToken"


def request_fingerprint(*parts: Any) -> str:
    text = json.dumps(parts, default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_token(fingerprint: str, last_key: list) -> str:
    return signing.dumps({"r": fingerprint, "k": last_key}, salt=_SALT, compress=True)


def decode_token(token: str, fingerprint: str) -> list:
    try:
        data = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        raise UserError(
            "nextToken: this is not a token Sluice gave out (or it was cut short). Pass the nextToken "
            "of the previous page exactly as printed, or leave --next-token out to start at the first page."
        ) from None
    if data.get("r") != fingerprint:
        raise UserError(
            "nextToken: this token belongs to a request with other options. Repeat the request with the "
            "options that gave the token, or leave --next-token out to start at the first page."
        )
    return data["k"]


def _after(order: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows strictly after `values` in `order` (fields, "-" for descending)."""
    after = Q(pk__in=[])
    same = Q()
    for field, value in zip(order, values, strict=True):
        name = field.lstrip("-")
        after |= same & Q(**{f"{name}__{'lt' if field.startswith('-') else 'gt'}": value})
        same &= Q(**{name: value})
    return after


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def keyset_page(
    queryset: QuerySet,
    *,
    order: Sequence[str],
    max_results: int | None,
    next_token: str | None,
    fingerprint: str,
) -> tuple[list[Model], str | None]:
    """One page of `queryset` in `order` (which must end in a unique field) and the next token,
    or None on the last page."""
    size = max_results or DEFAULT_MAX_RESULTS
    if next_token:
        queryset = queryset.filter(_after(order, decode_token(next_token, fingerprint)))
    rows = list(queryset.order_by(*order)[: size + 1])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    last = [_plain(getattr(rows[-1], field.lstrip("-"))) for field in order]
    return rows, encode_token(fingerprint, last)
