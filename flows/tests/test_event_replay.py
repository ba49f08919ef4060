"""A captured event request replayed inside the signature's 5-minute window starts nothing: the
signature covers the timestamp and the body but not the Idempotency-Key header, so a replay is
found by its signature — with a new key, with none, with the signature spelt differently — and
logged as a duplicate delivery."""

from __future__ import annotations

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


def captured(secret: str, body: bytes = b'{"file": "a.csv"}') -> tuple[bytes, dict[str, str]]:
    """One signed request as it travels: what an eavesdropper (or a log of requests) keeps."""
    stamp = str(int(time.time()))
    return body, {"HTTP_X_SLUICE_TIMESTAMP": stamp, "HTTP_X_SLUICE_SIGNATURE": events.sign(secret, stamp, body)}


def send(client, flow: Flow, body: bytes, headers: dict[str, str]):
    token = EventEndpoint.objects.get(flow=flow).token
    return client.post(reverse("webhook", args=[token]), body, content_type="application/json", **headers)


def a_worker_took_it() -> None:
    """From now on a new accepted event would start a new run instead of joining this one."""
    Execution.objects.update(started_at="2026-01-01T00:00:00Z")


@pytest.mark.parametrize("replayed_key", ["evt-2", None], ids=["new-key", "no-key"])
def test_a_replay_with_another_key_or_none_starts_no_run(client, event_flow, replayed_key):
    flow, secret = event_flow
    body, headers = captured(secret)
    first = send(client, flow, body, headers | {"HTTP_IDEMPOTENCY_KEY": "evt-1"})
    assert first.status_code == 202
    a_worker_took_it()

    replay = headers | ({"HTTP_IDEMPOTENCY_KEY": replayed_key} if replayed_key else {})
    again = send(client, flow, body, replay)
    assert again.status_code == 200
    assert again.json() == {"duplicate": True, "executionId": first.json()["executionId"]}
    assert Execution.objects.count() == 1
    duplicate = EventDelivery.objects.order_by("id").last()
    assert duplicate.outcome == "duplicate" and "a replay" in duplicate.reason
    assert duplicate.execution_id == Execution.objects.get().pk
    assert duplicate.idempotency_key == (replayed_key or "")


def test_replays_of_a_replay_and_of_a_key_duplicate_are_duplicates_too(client, event_flow):
    """A request that was itself a duplicate (its key seen before) cannot be replayed with a fresh
    key into a run either."""
    flow, secret = event_flow
    original, signed = captured(secret, b'{"n": 1}')
    assert send(client, flow, original, signed | {"HTTP_IDEMPOTENCY_KEY": "evt-1"}).status_code == 202
    a_worker_took_it()
    body, headers = captured(secret, b'{"n": 1, "retry": true}')
    assert send(client, flow, body, headers | {"HTTP_IDEMPOTENCY_KEY": "evt-1"}).json()["duplicate"] is True
    for key in ("evt-9", None, "evt-10"):
        replay = headers | ({"HTTP_IDEMPOTENCY_KEY": key} if key else {})
        assert send(client, flow, body, replay).status_code == 200
    assert Execution.objects.count() == 1
    assert list(EventDelivery.objects.order_by("id").values_list("outcome", flat=True)) == [
        "accepted", "duplicate", "duplicate", "duplicate", "duplicate"]


def test_a_replay_is_a_duplicate_when_the_flow_has_no_idempotency_rule(client, event_flow):
    flow, secret = event_flow
    events.configure(flow, idempotency_key="", dedupe_seconds=60)
    body, headers = captured(secret)
    assert send(client, flow, body, headers).status_code == 202
    a_worker_took_it()
    assert send(client, flow, body, headers).status_code == 200
    bare = headers | {"HTTP_X_SLUICE_SIGNATURE": headers["HTTP_X_SLUICE_SIGNATURE"].removeprefix("sha256=")}
    assert send(client, flow, body, bare).status_code == 200  # the same signature, spelt without its prefix
    assert Execution.objects.count() == 1


def test_a_new_request_with_the_same_body_is_a_new_event(client, event_flow):
    """What is deduplicated is the signed request, not the body: the sender's next event, signed
    with its own timestamp, starts a run."""
    flow, secret = event_flow
    body, headers = captured(secret, b"{}")
    assert send(client, flow, body, headers).status_code == 202
    a_worker_took_it()
    later = str(int(headers["HTTP_X_SLUICE_TIMESTAMP"]) + 1)
    next_one = {"HTTP_X_SLUICE_TIMESTAMP": later, "HTTP_X_SLUICE_SIGNATURE": events.sign(secret, later, body)}
    assert send(client, flow, body, next_one | {"HTTP_IDEMPOTENCY_KEY": "evt-2"}).status_code == 202
    assert Execution.objects.count() == 2


def test_a_signature_reused_on_another_body_is_rejected(client, event_flow):
    flow, secret = event_flow
    body, headers = captured(secret)
    assert send(client, flow, body, headers).status_code == 202
    assert send(client, flow, body + b" ", headers).status_code == 401
    assert EventDelivery.objects.order_by("id").last().outcome == "rejected"


def test_the_event_log_shows_a_replay_as_a_duplicate(client, owner, event_flow):
    flow, secret = event_flow
    body, headers = captured(secret)
    send(client, flow, body, headers | {"HTTP_IDEMPOTENCY_KEY": "evt-1"})
    send(client, flow, body, headers | {"HTTP_IDEMPOTENCY_KEY": "evt-2"})
    client.force_login(owner)
    page = client.get(reverse("flows:detail", args=[flow.name])).content.decode()
    assert page.count('data-outcome="accepted"') == 1 and page.count('data-outcome="duplicate"') == 1
    assert "a replay" in page
