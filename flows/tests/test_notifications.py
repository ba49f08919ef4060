"""Run events and notification channels: AppFlow's detail fields, webhook delivery (signed,
retried honouring Retry-After from a real local HTTP server), email, failure-only channels."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.urls import reverse

from connections.retry import backoff_delay, parse_retry_after
from flows import events, notifications, services
from flows.models import Execution, NotificationChannel, NotificationDelivery, RunEvent
from flows.tests.http_server import Receiver
from flows.tests.test_runs import wait_for


@pytest.fixture
def receiver() -> Iterator:
    made = []

    def make(*script):
        made.append(Receiver(list(script)))
        return made[-1]

    yield make
    for server in made:
        server.server.shutdown()


def channel(name="ops", kind="webhook", target="http://127.0.0.1:9/", when="always", **fields):
    return NotificationChannel.objects.create(name=name, kind=kind, target=target, when=when, **fields)


def finished_execution(flow, status="Error", **fields) -> Execution:
    return Execution.objects.create(flow=flow, version=flow.current_version, status=status,
                                    finished_at=datetime(2026, 5, 4, 10, tzinfo=UTC), **fields)


def test_parse_retry_after_and_backoff():
    assert parse_retry_after("3") == 3.0
    now = datetime(2026, 5, 4, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 04 May 2026 10:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    rng = random.Random(1)
    delays = [backoff_delay(attempt, base=1, cap=60, rng=rng) for attempt in range(1, 10)]
    assert all(2 ** (n - 1) / 2 <= d <= 2 ** (n - 1) for n, d in enumerate(delays[:6], 1))
    assert max(delays) <= 60
    assert backoff_delay(1, base=1, cap=600, retry_after=30) == 30  # a floor from the server


def test_end_event_has_appflows_detail_fields(demo):
    flow = demo["flow"]
    execution = finished_execution(flow, records_processed=500, record_failures=2, bytes_processed=1234,
                                   error_message="Boom.", data_pull_start=datetime(2026, 5, 1, tzinfo=UTC),
                                   data_pull_end=datetime(2026, 5, 2, tzinfo=UTC))
    event = notifications.run_ended(execution.pk)
    assert event.kind == "AppFlow End Flow Run Report" and event.failure
    detail = event.detail
    assert detail["flow-name"] == flow.name and detail["trigger-type"] == "OnDemand"
    assert detail["source"] == "LocalFiles" and detail["source-object"] == "accounts.csv"
    assert detail["destination-object"] == "out/accounts"
    assert (detail["num-of-records-processed"], detail["num-of-record-failures"], detail["data-processed"]) == (
        500, 2, 1234)
    assert detail["status"] == "Error" and detail["error-message"] == "Boom."
    assert detail["incremental-transfer-time-range"] == {"start": "2026-05-01T00:00:00Z",
                                                         "end": "2026-05-02T00:00:00Z"}


def test_channels_get_what_they_asked_for(demo, django_capture_on_commit_callbacks):
    flow = demo["flow"]
    everything = channel("everything", when="always")
    failures = channel("failures", when="failures")
    channel("other-flow", flow=services.create_flow(
        demo["flow"].definition | {"flowName": "other"}), when="always")
    with django_capture_on_commit_callbacks() as enqueued:
        notifications.run_ended(finished_execution(flow, status="Successful").pk)
        notifications.run_ended(finished_execution(flow, status="Error").pk)
    sent_to = [(d.event.detail["status"], d.channel.name) for d in NotificationDelivery.objects.order_by("id")]
    assert sent_to == [("Successful", "everything"), ("Error", "everything"), ("Error", "failures")]
    assert len(enqueued) == 2 and everything and failures


def test_webhook_delivery_is_signed_and_retried_honouring_retry_after(demo, receiver):
    server = receiver((429, {"Retry-After": "2"}), (200, {}))
    channel("signed", target=server.url, secret="s3cret")
    notifications.run_ended(finished_execution(demo["flow"]).pk)
    delivery = NotificationDelivery.objects.get()

    delay = notifications.deliver(delivery.pk)
    assert delay is not None and delay >= 2  # the server's Retry-After, not a shorter backoff
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1,
                                                                          "the receiver answered HTTP 429")
    assert notifications.deliver(delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)

    headers, body = server.received[-1]
    problem = events.signature_problem("s3cret", headers["X-Sluice-Timestamp"], headers["X-Sluice-Signature"],
                                       body, datetime.now(UTC))
    assert problem is None
    envelope = json.loads(body)
    assert envelope["detail-type"] == "AppFlow End Flow Run Report" and envelope["source"] == "sluice.appflow"
    assert envelope["detail"]["flow-name"] == demo["flow"].name


def test_a_permanent_refusal_is_not_retried(demo, receiver):
    server = receiver((400, {}))
    channel("strict", target=server.url)
    notifications.run_ended(finished_execution(demo["flow"]).pk)
    delivery = NotificationDelivery.objects.get()
    assert notifications.deliver(delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 1)


def test_an_unreachable_receiver_is_retried_then_given_up(demo):
    channel("nowhere", target="http://127.0.0.1:9/")  # the discard port: connection refused
    notifications.run_ended(finished_execution(demo["flow"]).pk)
    delivery = NotificationDelivery.objects.get()
    delays = [notifications.deliver(delivery.pk) for _ in range(notifications.MAX_ATTEMPTS)]
    assert all(d is not None for d in delays[:-1]) and delays[-1] is None
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "could not reach the receiver" in delivery.last_error


def test_email_on_failure_only(demo):
    channel("mail", kind="email", target="ops@example.com, oncall@example.com", when="failures")
    notifications.run_ended(finished_execution(demo["flow"], status="Successful").pk)
    notifications.run_ended(finished_execution(demo["flow"], status="Error", error_message="Boom.").pk)
    for delivery in NotificationDelivery.objects.all():
        notifications.deliver(delivery.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == f"[Sluice] {demo['flow'].name}: Error"
    assert message.to == ["ops@example.com", "oncall@example.com"] and "error-message: Boom." in message.body


def test_auto_deactivation_publishes_a_deactivated_event(demo):
    from flows.tests.test_dispatcher import active_flow
    from flows.tests.test_windows import T0, end, tick

    flow = active_flow("fragile", next_run=T0, flowErrorDeactivationThreshold=1)
    end(tick(T0), "Error", "Boom.")
    event = RunEvent.objects.get(flow=flow, kind="AppFlow Scheduled Flow Deactivated")
    assert "after 1 failed run in a row" in event.detail["deactivation-reason"]
    assert event.failure and event.detail["deactivation-time"]


@pytest.mark.django_db(transaction=True)
def test_a_real_run_sends_start_and_end_emails(celery_worker, demo):
    channel("all-mail", kind="email", target="ops@example.com", when="always")
    execution = wait_for(services.start_flow(demo["flow"]))
    assert execution.status == "Successful"
    deadline = time.monotonic() + 30
    while len(mail.outbox) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(message.subject for message in mail.outbox) == [
        f"[Sluice] {demo['flow'].name}: Successful", f"[Sluice] {demo['flow'].name}: started"]
    kinds = list(execution.run_events.order_by("at").values_list("kind", flat=True))
    assert kinds == ["AppFlow Start Flow Run Report", "AppFlow End Flow Run Report"]


def test_notifications_page_adds_and_removes_channels(client, owner, demo):
    client.force_login(owner)
    page = client.get(reverse("notifications")).content.decode()
    assert "No channels yet" in page
    response = client.post(reverse("notifications"), {"name": "bad", "kind": "webhook", "target": "ftp://x",
                                                      "when": "always"})
    assert "A webhook needs an http:// or https:// URL." in response.content.decode()
    response = client.post(reverse("notifications"), {"name": "ops", "kind": "email",
                                                      "target": "ops@example.com, nope", "when": "failures"})
    assert "&quot;nope&quot; is not an email address." in response.content.decode()
    response = client.post(reverse("notifications"), {"name": "ops", "kind": "webhook", "secret": "k",
                                                      "target": "https://hooks.example.com/x", "when": "always",
                                                      "flow": demo["flow"].pk}, follow=True)
    page = response.content.decode()
    assert 'data-channel="ops"' in page and "signed" in page and ">k<" not in page
    created = NotificationChannel.objects.get(name="ops")
    assert created.created_by == owner and created.flow == demo["flow"] and created.secret == "k"
    client.post(reverse("notification-delete", args=[created.pk]))
    assert not NotificationChannel.objects.exists()
