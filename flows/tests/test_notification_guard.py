"""Notification webhooks go through the SSRF guard (connections/net.py): a receiver on a refused
address is refused when the channel is saved and when a delivery is sent, in any spelling of the
address, after a redirect too, and the delivery log does not tell an open port from a closed one.
Against real local servers, which must receive nothing."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from flows import notifications
from flows.models import Execution, NotificationChannel, NotificationDelivery
from flows.tests.http_server import Receiver

POLICY = "refused by the network policy"


@pytest.fixture
def receiver() -> Iterator:
    made: list[Receiver] = []

    def make(*script):
        made.append(Receiver(list(script)))
        return made[-1]

    yield make
    for server in made:
        server.server.shutdown()
        server.server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """An open loopback port that is not HTTP: it accepts and hangs up (like Redis or PostgreSQL
    would, to an HTTP request)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    listener.close()


def one_delivery(demo, target: str) -> NotificationDelivery:
    """A channel saved without the form (as if the allow-list changed after it was saved) and
    one event for it."""
    NotificationChannel.objects.create(name="hook", kind="webhook", target=target, when="always")
    execution = Execution.objects.create(flow=demo["flow"], version=demo["flow"].current_version,
                                         status="Error", finished_at=datetime(2026, 5, 4, 10, tzinfo=UTC))
    notifications.run_ended(execution.pk)
    return NotificationDelivery.objects.get()


def send(delivery: NotificationDelivery) -> tuple[float | None, NotificationDelivery]:
    delay = notifications.deliver(delivery.pk)
    delivery.refresh_from_db()
    return delay, delivery


SPELLINGS = ["127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "127.1", "0x7f000001", "[::ffff:127.0.0.1]"]


@pytest.mark.parametrize("host", SPELLINGS)
def test_a_loopback_receiver_is_refused_at_save(host, signed_in, receiver, monkeypatch):
    server = receiver()
    port = server.server.server_port
    monkeypatch.delenv("SLUICE_NET_ALLOW", raising=False)
    response = signed_in.post(reverse("notifications"), {
        "name": "ops", "kind": "webhook", "target": f"http://{host}:{port}/hook", "when": "always"})
    page = response.content.decode()
    assert response.status_code == 200 and POLICY in page and "a loopback address" in page
    assert "SLUICE_NET_ALLOW" in page
    assert not NotificationChannel.objects.exists()
    assert server.received == []


@pytest.mark.parametrize("host", SPELLINGS)
def test_a_loopback_receiver_is_refused_at_send_and_receives_nothing(host, demo, receiver, monkeypatch):
    server = receiver()
    delivery = one_delivery(demo, f"http://{host}:{server.server.server_port}/hook")
    monkeypatch.delenv("SLUICE_NET_ALLOW", raising=False)
    delay, delivery = send(delivery)
    assert delay is None  # not retried: the policy will not change its mind
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error.startswith(POLICY) and "a loopback address" in delivery.last_error
    assert server.received == []


def test_cloud_metadata_is_refused_at_save(signed_in, monkeypatch):
    monkeypatch.delenv("SLUICE_NET_ALLOW", raising=False)
    for target in ("http://169.254.169.254/latest/meta-data/", "http://2852039166/", "http://[::ffff:a9fe:a9fe]/"):
        page = signed_in.post(reverse("notifications"), {
            "name": "ops", "kind": "webhook", "target": target, "when": "always"}).content.decode()
        assert POLICY in page and "link-local" in page
    assert not NotificationChannel.objects.exists()


def test_a_bad_port_is_a_field_error(signed_in):
    page = signed_in.post(reverse("notifications"), {
        "name": "ops", "kind": "webhook", "target": "http://hooks.example.com:99999/", "when": "always",
    }).content.decode()
    assert "The port in this URL must be a number from 0 to 65535." in page
    assert not NotificationChannel.objects.exists()


def test_an_allowed_receiver_is_saved_and_sent_to(signed_in, demo, receiver, monkeypatch):
    server = receiver()
    monkeypatch.setenv("SLUICE_NET_ALLOW", f"127.0.0.1:{server.server.server_port}")
    response = signed_in.post(reverse("notifications"), {
        "name": "ops", "kind": "webhook", "target": server.url, "when": "always"}, follow=True)
    assert 'data-channel="ops"' in response.content.decode()
    execution = Execution.objects.create(flow=demo["flow"], version=demo["flow"].current_version,
                                         status="Error", finished_at=datetime(2026, 5, 4, 10, tzinfo=UTC))
    notifications.run_ended(execution.pk)
    _, delivery = send(NotificationDelivery.objects.get())
    assert delivery.status == "sent" and len(server.received) == 1


def test_a_redirect_to_a_refused_address_is_not_followed(demo, receiver, monkeypatch):
    inside = receiver()  # a service only reachable from Sluice's machine
    front = receiver((307, {"Location": f"http://127.0.0.1:{inside.server.server_port}/admin"}))
    monkeypatch.setenv("SLUICE_NET_ALLOW", f"127.0.0.1:{front.server.server_port}")  # only the receiver
    delay, delivery = send(one_delivery(demo, front.url))
    assert delay is None and delivery.status == "failed"
    assert delivery.last_error.startswith(POLICY) and "a loopback address" in delivery.last_error
    assert len(front.received) == 1 and inside.received == []


def test_a_redirect_to_cloud_metadata_is_not_followed(demo, receiver):
    front = receiver((302, {"Location": "http://169.254.169.254/latest/meta-data/"}))
    delay, delivery = send(one_delivery(demo, front.url))
    assert delay is None and delivery.status == "failed"
    assert delivery.last_error.startswith(POLICY) and "link-local" in delivery.last_error


def test_an_allowed_redirect_is_followed_and_checked(demo, receiver):
    final = receiver()
    front = receiver((308, {"Location": final.url}))  # 308 keeps the POST and its body
    delay, delivery = send(one_delivery(demo, front.url))
    assert delivery.status == "sent"
    assert len(final.received) == 1 and b'"detail-type"' in final.received[0][1]


def test_refused_open_and_closed_ports_read_the_same(demo, receiver, silent_port, closed_port, monkeypatch):
    """An attacker saving channels cannot map which ports listen on Sluice's side of the network."""
    server = receiver()
    monkeypatch.delenv("SLUICE_NET_ALLOW", raising=False)
    errors = []
    for port in (server.server.server_port, silent_port, closed_port):
        NotificationChannel.objects.all().delete()
        errors.append(send(one_delivery(demo, f"http://127.0.0.1:{port}/"))[1].last_error)
    assert len(set(errors)) == 1 and errors[0].startswith(POLICY)
    assert server.received == []


def test_allowed_hosts_do_not_tell_a_silent_port_from_a_closed_one(demo, silent_port, closed_port):
    """Even on the allow-list, what failed below HTTP (refused, reset, timed out) is not said."""
    errors = []
    for port in (silent_port, closed_port):
        NotificationChannel.objects.all().delete()
        delay, delivery = send(one_delivery(demo, f"http://127.0.0.1:{port}/"))
        assert delay is not None and delivery.status == "pending"  # transient: retried later
        errors.append(delivery.last_error)
    assert errors[0] == errors[1] == "could not reach the receiver at 127.0.0.1 (no HTTP answer)"
