"""Run events and their delivery to notification channels.

Events carry the detail fields of AppFlow's EventBridge notifications (docs/triggers.md). Each is
recorded; each channel that wants it (the flow's own channels and the all-flows ones; always, or on
failure only) gets a delivery row and a Celery task that sends it — a webhook POST (JSON, optional
HMAC signature like the event webhook's) retried with backoff honouring Retry-After, or an email
through Django's mail backend.

Webhooks go out through the guarded client (connections/net.py) like every other request: the
receiver's address is checked at each send and at each redirect hop. A refused receiver is told
apart from nothing else: "refused by the network policy", never whether a port there is open."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from connections import net
from connections.retry import backoff_delay, parse_retry_after
from flows import queue
from flows.models import Execution, Flow, NotificationChannel, NotificationDelivery, RunEvent
from flows.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
SEND_TIMEOUT_SECONDS = 10
MAX_REDIRECTS = 3  # each hop checked by the guard again
Kind = RunEvent.Kind


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _endpoint(config: dict, key: str) -> tuple[str, str]:
    block = config.get(key) or {}
    inner = next(iter(block.values()), {}) if isinstance(block, dict) and block else {}
    entity = inner.get("object") or inner.get("entityName") or "" if isinstance(inner, dict) else ""
    return str(config.get("connectorLabel") or config.get("connectorType") or ""), str(entity)


def common_detail(flow: Flow, execution: Execution | None) -> dict:
    document = execution.version.definition if execution else flow.definition
    source = document.get("sourceFlowConfig") or {}
    destination = (document.get("destinationFlowConfigList") or [{}])[0]
    source_name, source_object = _endpoint(source, "sourceConnectorProperties")
    destination_name, destination_object = _endpoint(destination, "destinationConnectorProperties")
    detail = {
        "created-by": flow.created_by.get_username() if flow.created_by else "",
        "flow-arn": f"arn:sluice:appflow:::flow/{flow.name}",
        "flow-name": flow.name,
        "source": source_name,
        "source-object": source_object,
        "destination": destination_name,
        "destination-object": destination_object,
        "trigger-type": flow.trigger_type,
    }
    if execution is not None:
        detail["execution-id"] = str(execution.pk)
        if execution.data_pull_start or execution.data_pull_end:
            detail["incremental-transfer-time-range"] = {
                "start": _iso(execution.data_pull_start), "end": _iso(execution.data_pull_end)}
    return detail


def publish(kind: str, flow: Flow, execution: Execution | None = None, *, failure: bool = False,
            **extra) -> RunEvent:
    with transaction.atomic():
        event = RunEvent.objects.create(flow=flow, execution=execution, kind=kind, failure=failure,
                                        detail=common_detail(flow, execution) | extra)
        channels = NotificationChannel.objects.filter(Q(flow=flow) | Q(flow__isnull=True), enabled=True)
        if not failure:
            channels = channels.filter(when=NotificationChannel.When.ALWAYS)
        deliveries = [NotificationDelivery.objects.create(event=event, channel=channel)
                      for channel in channels]
        queue.deliver_notifications([delivery.pk for delivery in deliveries])
    return event


def run_started(execution: Execution) -> RunEvent:
    return publish(Kind.START, execution.flow, execution, **{"start-time": _iso(execution.started_at)})


def run_ended(execution_id) -> RunEvent | None:
    execution = (
        Execution.objects.select_related("flow__created_by", "version").filter(pk=execution_id).first()
    )
    if execution is None:
        return None
    return publish(
        Kind.END, execution.flow, execution, failure=execution.status == Execution.Status.ERROR,
        **{
            "status": execution.status,
            "end-time": _iso(execution.finished_at),
            "num-of-records-processed": execution.records_processed,
            "num-of-record-failures": execution.record_failures,
            "data-processed": execution.bytes_processed,
            "data-written": execution.bytes_written,
            # Sluice's own: the API calls the run was charged (AppFlow's report has none)
            "num-of-api-calls": {"source": execution.source_api_calls,
                                 "destination": execution.destination_api_calls,
                                 "token-refreshes": execution.token_refreshes},
            "error-message": execution.error_message,
        },
    )


def run_anomaly(execution: Execution, reason: str) -> RunEvent:
    """A run tripped its flow's guardrails (flows/guardrails.py): sent as a failure, so channels
    that want failures only hear of it too."""
    return publish(Kind.RUN_ANOMALY, execution.flow, execution, failure=True, **{
        "status": execution.display_status,
        "end-time": _iso(execution.finished_at),
        "num-of-records-processed": execution.records_processed,
        "anomaly": reason,
    })


def flow_deactivated(flow: Flow, reason: str, at: datetime) -> RunEvent:
    kind = Kind.EVENT_DEACTIVATED if flow.trigger_type == "Event" else Kind.SCHEDULED_DEACTIVATED
    return publish(kind, flow, failure=True, **{"deactivation-reason": reason, "deactivation-time": _iso(at)})


def event_flow_reports(now: datetime, period: timedelta = timedelta(minutes=5)) -> list[RunEvent]:
    """AppFlow's Event Flow Report: per Active event flow, how many events it accepted in the last
    period. Flows that received none are not reported (a quiet flow would otherwise send one
    message every five minutes to every channel)."""
    from flows.models import EventDelivery

    start = now - period
    counts = (
        EventDelivery.objects.filter(flow__status=Flow.Status.ACTIVE, flow__trigger_type="Event",
                                     outcome=EventDelivery.Outcome.ACCEPTED, received_at__gte=start,
                                     received_at__lt=now)
        .values("flow_id").annotate(count=Count("id"))
    )
    counts = list(counts)
    flows = Flow.objects.select_related("created_by", "current_version").in_bulk(
        [row["flow_id"] for row in counts])
    return [
        publish(Kind.EVENT_REPORT, flows[row["flow_id"]], **{"status-report": {
            "count": row["count"], "interval-start": _iso(start), "interval-end": _iso(now)}})
        for row in counts
    ]


# --- delivery ------------------------------------------------------------------------------------


def envelope(event: RunEvent) -> dict:
    """EventBridge's envelope, with Sluice as the source."""
    return {
        "version": "0", "id": str(event.pk), "detail-type": event.kind, "source": "sluice.appflow",
        "time": _iso(event.at), "resources": [event.detail.get("flow-arn", "")], "detail": event.detail,
    }


@dataclass
class SendFailure(Exception):
    message: str
    retry: bool = True
    retry_after: float | None = None


def policy_refusal(exc: net.BlockedAddress) -> str:
    """The words for a receiver the guard refuses, at save time and in the delivery log: the host
    and the kind of address, never what it resolved to or whether anything listens there."""
    where = f"{exc.host} is {exc.reason}" if exc.host and exc.reason else exc.reason or "the address"
    return (f"refused by the network policy: {where}. Sluice sends notifications only to public "
            "addresses and to hosts the administrator lists in SLUICE_NET_ALLOW.")


def send_webhook(channel: NotificationChannel, body: bytes) -> None:
    headers = {"Content-Type": "application/json", "User-Agent": "Sluice-Notifier"}
    if channel.secret:
        stamp = str(int(time.time()))
        headers |= {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(channel.secret, stamp, body)}
    try:
        response = net.request("POST", channel.target, headers=headers, body=body,
                               timeout=SEND_TIMEOUT_SECONDS, max_redirects=MAX_REDIRECTS,
                               max_body_bytes=1024)  # the answer's status is all that matters
    except net.BlockedAddress as exc:
        raise SendFailure(policy_refusal(exc), retry=False) from None
    except net.ConnectorError as exc:
        # One text for refused, reset, timed out, not HTTP: the log must not map the receiver's ports.
        logger.info("Notification to %s: %s", channel.name, exc.message)
        host = urlsplit(channel.target).hostname or "the receiver"
        raise SendFailure(f"could not reach the receiver at {host} (no HTTP answer)",
                          retry=not exc.permanent) from None
    if response.status in (301, 302, 303, 307, 308):
        raise SendFailure(f"the receiver answered HTTP {response.status} (redirects are followed at most "
                          f"{MAX_REDIRECTS} times, and only with a Location)", retry=False)
    if not response.ok:
        transient = response.status in (408, 425, 429) or response.status >= 500
        raise SendFailure(f"the receiver answered HTTP {response.status}", retry=transient,
                          retry_after=parse_retry_after(response.headers.get("retry-after")))


def send_email(channel: NotificationChannel, event: RunEvent) -> None:
    detail = event.detail
    status = detail.get("status") or ("deactivated" if "deactivation-reason" in detail else "started")
    subject = f"[Sluice] {detail.get('flow-name')}: {status}"
    lines = [f"{event.kind} at {_iso(event.at)}", ""] + [f"{key}: {value}" for key, value in detail.items()]
    recipients = [address.strip() for address in channel.target.split(",") if address.strip()]
    try:
        send_mail(subject, "\n".join(lines), None, recipients)
    except Exception as exc:  # SMTP errors have many types; all are worth a retry
        raise SendFailure(f"the mail server refused it ({type(exc).__name__}: {exc})") from None


def deliver(delivery_id: int) -> float | None:
    """One attempt. Returns the seconds to wait before the next attempt, or None when done
    (sent, or failed for good: recorded on the delivery either way)."""
    delivery = NotificationDelivery.objects.select_related("event", "channel").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != NotificationDelivery.Status.PENDING:
        return None
    attempt = delivery.attempts + 1
    try:
        if delivery.channel.kind == NotificationChannel.Kind.EMAIL:
            send_email(delivery.channel, delivery.event)
        else:
            send_webhook(delivery.channel, json.dumps(envelope(delivery.event)).encode())
    except SendFailure as failure:
        final = not failure.retry or attempt >= MAX_ATTEMPTS
        NotificationDelivery.objects.filter(pk=delivery.pk).update(
            attempts=attempt, last_error=failure.message[:1024], updated_at=timezone.now(),
            status=NotificationDelivery.Status.FAILED if final else NotificationDelivery.Status.PENDING,
        )
        if final:
            logger.warning("Notification %s to %s failed: %s", delivery.pk, delivery.channel.name,
                           failure.message)
            return None
        return backoff_delay(attempt, base=2.0, cap=600.0, retry_after=failure.retry_after)
    NotificationDelivery.objects.filter(pk=delivery.pk).update(
        attempts=attempt, status=NotificationDelivery.Status.SENT, last_error="", updated_at=timezone.now())
    return None
