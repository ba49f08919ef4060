"""Event triggers: each Event flow has a secret webhook URL; a request signed with the flow's key
starts a run (or joins one that has not started reading yet). Every delivery is logged.

Signature: header `X-Sluice-Signature: sha256=<hex>`, the HMAC-SHA256 of `<timestamp>.<body>` with the
flow's secret, where `<timestamp>` (epoch seconds) is sent in `X-Sluice-Timestamp` and must be within
SIGNATURE_TOLERANCE of the server's clock: a captured request cannot be replayed later. Within
that window, the same signed request sent again is a duplicate delivery — found by its signature,
whatever idempotency key it carries, since the key header is not signed (and may be absent).
Repeats of one event (same idempotency key within the flow's dedupe window) are answered, logged
as duplicates, and start nothing. Secrets are never logged; they are shown once, when made.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from console.errors import Conflict, QuotaExceeded, UserError
from flows import services
from flows.models import EventDelivery, EventEndpoint, Execution, Flow, FlowActivity
from flows.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

SIGNATURE_TOLERANCE = timedelta(minutes=5)
MAX_BODY_BYTES = 1024 * 1024
Outcome = EventDelivery.Outcome


def signature_problem(secret: str, timestamp: str | None, signature: str | None, body: bytes,
                      now: datetime) -> str | None:
    """Why the request is not from someone holding the secret, or None when it is."""
    if not signature or not timestamp:
        return f"unsigned: send {SIGNATURE_HEADER} and {TIMESTAMP_HEADER} (see docs/triggers.md)"
    try:
        sent = datetime.fromtimestamp(int(timestamp), tz=now.tzinfo)
    except (ValueError, OverflowError, OSError):
        return f"{TIMESTAMP_HEADER} must be epoch seconds"
    if abs(now - sent) > SIGNATURE_TOLERANCE:
        return (f"{TIMESTAMP_HEADER} is {int(abs((now - sent).total_seconds()))} s away from the server's "
                f"clock (allowed: {int(SIGNATURE_TOLERANCE.total_seconds())} s): a replayed or delayed "
                "request")
    expected = sign(secret, timestamp, body)
    given = signature if signature.startswith("sha256=") else f"sha256={signature}"
    if not hmac.compare_digest(expected, given):
        return "the signature does not match the body (wrong secret, or the body was changed)"
    return None


def idempotency_value(spec: str, headers: Mapping[str, str], body: Any) -> str:
    """The event's idempotency key by the flow's rule: `header:<Name>` or `json:<dotted.path>`."""
    kind, _, where = spec.partition(":")
    if kind == "header":
        return str(headers.get(where) or "")[:256]
    if kind == "json":
        node = body
        for part in where.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return ""
        return (node if isinstance(node, str) else json.dumps(node, sort_keys=True))[:256]
    return ""


def check_idempotency_spec(spec: str) -> str:
    spec = spec.strip()
    kind, sep, where = spec.partition(":")
    if spec and (not sep or kind not in ("header", "json") or not where.strip()):
        raise UserError(f'Idempotency key: "{spec}" is not a rule; use header:<Name> (e.g. '
                        "header:Idempotency-Key) or json:<path> (e.g. json:event.id), or leave it empty.")
    return spec


# --- services ------------------------------------------------------------------------------------


@transaction.atomic
def rotate_secret(flow: Flow, *, user=None) -> str:
    """A new URL-independent signing key (the URL stays); the old key stops working at once.
    Returns the key: the caller shows it once and keeps it nowhere."""
    if flow.trigger_type != "Event":
        raise Conflict(f'The flow "{flow.name}" is not event-triggered: it has no webhook.')
    secret = secrets.token_urlsafe(32)
    endpoint, created = EventEndpoint.objects.get_or_create(
        flow=flow, defaults={"token": secrets.token_urlsafe(24), "secret": secret}
    )
    if not created:
        endpoint.secret, endpoint.rotated_at = secret, timezone.now()
        endpoint.save(update_fields=["secret", "rotated_at"])
    who = f" by {user.get_username()}" if user else ""
    services.record(flow, FlowActivity.Action.SECRET_ROTATED,
                    f"Webhook signing key {'created' if created else 'rotated'}{who}.", user)
    return secret


@transaction.atomic
def configure(flow: Flow, *, idempotency_key: str, dedupe_seconds: int, user=None) -> EventEndpoint:
    endpoint = EventEndpoint.objects.select_for_update().get(flow=flow)
    if not 0 < dedupe_seconds <= 30 * 86400:
        raise UserError("Dedupe window: give from 1 second to 30 days (2592000 seconds).")
    endpoint.idempotency_key = check_idempotency_spec(idempotency_key)
    endpoint.dedupe_seconds = dedupe_seconds
    endpoint.save(update_fields=["idempotency_key", "dedupe_seconds"])
    return endpoint


@dataclass
class Answer:
    status: int
    body: dict


def receive(token: str, headers: Mapping[str, str], body: bytes, *, now: datetime | None = None) -> Answer:
    """Handle one webhook request. Everything but an unknown URL is logged on the flow."""
    now = now or timezone.now()
    with transaction.atomic():
        # The row lock serialises deliveries to one flow, so two copies of an event sent at the
        # same moment cannot both pass the duplicate check.
        endpoint = (
            EventEndpoint.objects.select_for_update(of=("self",)).select_related("flow__current_version")
            .filter(token=token).first()
        )
        if endpoint is None:
            return Answer(404, {"message": "No webhook at this address."})
        flow = endpoint.flow

        def reject(status: int, reason: str) -> Answer:
            EventDelivery.objects.create(flow=flow, outcome=Outcome.REJECTED, reason=reason,
                                         body_bytes=len(body))
            return Answer(status, {"message": f"Rejected: {reason}."})

        if len(body) > MAX_BODY_BYTES:
            return reject(413, f"the body is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted")
        problem = signature_problem(endpoint.secret, headers.get(TIMESTAMP_HEADER),
                                    headers.get(SIGNATURE_HEADER), body, now)
        if problem:
            return reject(401, problem)
        if flow.status != Flow.Status.ACTIVE:
            return reject(409, f"the flow is {flow.status}, not Active; activate it to accept events")
        parsed: Any = None
        if endpoint.idempotency_key.startswith("json:"):
            try:
                parsed = json.loads(body or b"null")
            except ValueError:
                return reject(400, "the body is not JSON, so the idempotency key cannot be read from it")
        key = idempotency_value(endpoint.idempotency_key, headers, parsed) if endpoint.idempotency_key else ""
        digest = signature_digest(endpoint.secret, headers[TIMESTAMP_HEADER], body)
        replayed = _seen_signature(flow, digest, now)
        if replayed is not None:
            EventDelivery.objects.create(
                flow=flow, outcome=Outcome.DUPLICATE, idempotency_key=key, body_bytes=len(body),
                signature_digest=digest, execution_id=replayed.execution_id,
                reason=f"the same signed request (timestamp and body) as the delivery of "
                       f"{replayed.received_at:%Y-%m-%d %H:%M:%S} UTC: a replay",
            )
            return Answer(200, {"duplicate": True, "executionId": str(replayed.execution_id or "")})
        if key:
            since = now - timedelta(seconds=endpoint.dedupe_seconds)
            first = (
                EventDelivery.objects.filter(flow=flow, idempotency_key=key, received_at__gte=since,
                                             outcome=Outcome.ACCEPTED)
                .order_by("received_at").first()
            )
            if first is not None:
                EventDelivery.objects.create(
                    flow=flow, outcome=Outcome.DUPLICATE, idempotency_key=key, body_bytes=len(body),
                    signature_digest=digest, execution_id=first.execution_id,
                    reason=f"same idempotency key as the delivery of "
                           f"{first.received_at:%Y-%m-%d %H:%M:%S} UTC",
                )
                return Answer(200, {"duplicate": True, "executionId": str(first.execution_id or "")})
        try:
            execution = _start_or_join(flow)
        except QuotaExceeded as exc:  # 429: the sender may try again once runs have finished
            return reject(429, str(exc).rstrip("."))
        EventDelivery.objects.create(flow=flow, outcome=Outcome.ACCEPTED, idempotency_key=key,
                                     signature_digest=digest, body_bytes=len(body), execution=execution)
    return Answer(202, {"executionId": str(execution.pk)})


def signature_digest(secret: str, timestamp: str, body: bytes) -> str:
    """What identifies one signed request: a hash of its (valid) signature, so the same timestamp
    and body are found again however the signature header was spelt, and the log keeps no MAC."""
    return hashlib.sha256(sign(secret, timestamp, body).encode()).hexdigest()


def _seen_signature(flow: Flow, digest: str, now: datetime) -> EventDelivery | None:
    """The first delivery (accepted, or a duplicate) of this very signed request. A signature is
    good for SIGNATURE_TOLERANCE either side of its timestamp, so two receptions of one request
    are at most twice that apart: older rows cannot match a request that passed the check."""
    return (
        EventDelivery.objects.filter(flow=flow, signature_digest=digest,
                                     received_at__gte=now - 2 * SIGNATURE_TOLERANCE)
        .exclude(outcome=Outcome.REJECTED).order_by("received_at", "id").first()
    )


def _start_or_join(flow: Flow) -> Execution:
    """A run that no worker has started yet will read the source after this event: join it rather
    than queue another (a burst of events makes one run, not one per event)."""
    waiting = flow.executions.filter(
        trigger=Execution.Trigger.EVENT, status=Execution.Status.IN_PROGRESS, started_at__isnull=True
    ).order_by("created_at").first()
    if waiting is not None:
        return waiting
    return services.start_flow(flow, trigger=Execution.Trigger.EVENT)
