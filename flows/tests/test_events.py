"""Event webhooks: signature good / bad / replayed, idempotency, start-or-join, the event log, and
a signing key shown once."""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.urls import reverse

from console.demo import demo_flow_document
from flows import events, services
from flows.models import EventDelivery, EventEndpoint, Execution, Flow


@pytest.fixture
def event_flow(demo) -> tuple[Flow, str]:
    document = demo_flow_document() | {"flowName": "on-drop", "triggerConfig": {"triggerType": "Event"}}
    flow = services.create_flow(document)
    secret = events.rotate_secret(flow)
    services.activate_flow(flow)
    flow.refresh_from_db()
    return flow, secret


def post(client, flow: Flow, body: bytes, secret: str | None, *, at: int | None = None, **headers):
    token = EventEndpoint.objects.get(flow=flow).token
    stamp = str(at if at is not None else int(time.time()))
    if secret is not None:
        headers["HTTP_X_SLUICE_TIMESTAMP"] = stamp
        headers["HTTP_X_SLUICE_SIGNATURE"] = events.sign(secret, stamp, body)
    return client.post(reverse("webhook", args=[token]), body, content_type="application/json", **headers)


def test_a_signed_event_starts_a_run_without_a_login(client, event_flow, django_capture_on_commit_callbacks):
    flow, secret = event_flow
    with django_capture_on_commit_callbacks() as enqueued:
        response = post(client, flow, b'{"file": "a.csv"}', secret)
    assert response.status_code == 202
    execution = Execution.objects.get()
    assert response.json() == {"executionId": str(execution.pk)}
    assert execution.trigger == "Event" and len(enqueued) == 1
    delivery = EventDelivery.objects.get()
    assert delivery.outcome == "accepted" and delivery.execution == execution


def test_events_before_a_worker_starts_join_the_waiting_run(client, event_flow):
    flow, secret = event_flow
    first = post(client, flow, b"{}", secret).json()["executionId"]
    second = post(client, flow, b'{"another": 1}', secret).json()["executionId"]
    assert first == second and Execution.objects.count() == 1
    Execution.objects.filter(pk=first).update(started_at="2026-01-01T00:00:00Z")  # a worker took it
    third = post(client, flow, b'{"third": 1}', secret).json()["executionId"]
    assert third != first


@pytest.mark.parametrize("mangle, reason", [
    (lambda body, headers: (body + b" ", headers), "does not match the body"),
    (lambda body, headers: (body, {**headers, "HTTP_X_SLUICE_SIGNATURE": "sha256=" + "0" * 64}),
     "does not match"),
    (lambda body, headers: (body, {}), "unsigned"),
])
def test_bad_signatures_are_rejected_and_logged(client, event_flow, mangle, reason):
    flow, secret = event_flow
    stamp = str(int(time.time()))
    body = b'{"x": 1}'
    headers = {"HTTP_X_SLUICE_TIMESTAMP": stamp, "HTTP_X_SLUICE_SIGNATURE": events.sign(secret, stamp, body)}
    body, headers = mangle(body, headers)
    token = EventEndpoint.objects.get(flow=flow).token
    response = client.post(reverse("webhook", args=[token]), body, content_type="application/json", **headers)
    assert response.status_code == 401 and reason in response.json()["message"]
    assert not Execution.objects.exists()
    assert EventDelivery.objects.get().outcome == "rejected"


def test_a_replayed_request_is_refused_by_its_timestamp(client, event_flow):
    flow, secret = event_flow
    response = post(client, flow, b"{}", secret, at=int(time.time()) - 3600)
    assert response.status_code == 401 and "replayed or delayed" in response.json()["message"]


def test_a_rotated_key_stops_the_old_one(client, event_flow):
    flow, old = event_flow
    new = events.rotate_secret(flow)
    assert post(client, flow, b"{}", old).status_code == 401
    assert post(client, flow, b"{}", new).status_code == 202


def test_repeats_with_one_idempotency_key_start_one_run(client, event_flow):
    flow, secret = event_flow
    first = post(client, flow, b"{}", secret, HTTP_IDEMPOTENCY_KEY="evt-1")
    Execution.objects.update(started_at="2026-01-01T00:00:00Z")  # so a new event would start a new run
    again = post(client, flow, b'{"sent": 2}', secret, HTTP_IDEMPOTENCY_KEY="evt-1")  # the sender's retry
    assert again.status_code == 200
    assert again.json() == {"duplicate": True, "executionId": first.json()["executionId"]}
    assert post(client, flow, b'{"sent": 3}', secret, HTTP_IDEMPOTENCY_KEY="evt-2").status_code == 202
    assert list(EventDelivery.objects.order_by("id").values_list("outcome", flat=True)) == [
        "accepted", "duplicate", "accepted"]


def test_idempotency_key_from_a_json_path(client, event_flow):
    flow, secret = event_flow
    events.configure(flow, idempotency_key="json:event.id", dedupe_seconds=60)
    post(client, flow, json.dumps({"event": {"id": 7}}).encode(), secret)
    Execution.objects.update(started_at="2026-01-01T00:00:00Z")
    assert post(client, flow, json.dumps({"event": {"id": 7}, "retry": 2}).encode(), secret).status_code == 200
    assert post(client, flow, b"not json", secret).status_code == 400
    with pytest.raises(services.UserError, match="is not a rule"):
        events.configure(flow, idempotency_key="body.id", dedupe_seconds=60)


def test_an_inactive_flow_refuses_events_and_unknown_urls_are_404(client, event_flow):
    flow, secret = event_flow
    services.deactivate_flow(flow)
    response = post(client, flow, b"{}", secret)
    assert response.status_code == 409 and "activate it" in response.json()["message"]
    assert client.post("/hooks/nope/", b"{}", content_type="application/json").status_code == 404


def test_the_key_is_shown_once_and_never_logged(client, owner, demo, caplog):
    caplog.set_level(logging.DEBUG)
    document = demo_flow_document() | {"flowName": "hooked", "triggerConfig": {"triggerType": "Event"}}
    flow = services.create_flow(document)
    client.force_login(owner)
    page = client.get(reverse("flows:detail", args=[flow.name])).content.decode()
    assert "No webhook yet" in page
    response = client.post(reverse("flows:webhook-key", args=[flow.name]))
    secret = EventEndpoint.objects.get(flow=flow).secret
    page = response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert "shown only once" in page and secret in page and "/hooks/" in page
    again = client.get(reverse("flows:detail", args=[flow.name])).content.decode()
    assert secret not in again and "Rotate signing key" in again
    assert secret not in caplog.text


def test_the_event_log_on_the_flow_page(client, owner, event_flow):
    flow, secret = event_flow
    post(client, flow, b"{}", secret, HTTP_IDEMPOTENCY_KEY="k1")
    post(client, flow, b"{}", secret, HTTP_IDEMPOTENCY_KEY="k1")
    post(client, flow, b"{}", "wrong-key")
    client.force_login(owner)
    page = client.get(reverse("flows:detail", args=[flow.name])).content.decode()
    assert page.count('data-outcome="accepted"') == 1
    assert page.count('data-outcome="duplicate"') == 1
    assert page.count('data-outcome="rejected"') == 1
    assert "does not match the body" in page


def test_event_flow_report_counts_accepted_events_per_five_minutes(client, event_flow):
    from datetime import timedelta

    from django.utils import timezone

    from flows import notifications

    flow, secret = event_flow
    post(client, flow, b"{}", secret, HTTP_IDEMPOTENCY_KEY="a")
    post(client, flow, b'{"retry": 1}', secret, HTTP_IDEMPOTENCY_KEY="a")  # a duplicate: not counted
    post(client, flow, b'{"next": 1}', secret, HTTP_IDEMPOTENCY_KEY="b")
    post(client, flow, b"{}", "wrong")  # rejected: not counted
    reports = notifications.event_flow_reports(timezone.now() + timedelta(seconds=1))
    assert len(reports) == 1
    report = reports[0]
    assert report.kind == "AppFlow Event Flow Report" and report.detail["status-report"]["count"] == 2
    assert notifications.event_flow_reports(timezone.now() + timedelta(minutes=10)) == []
