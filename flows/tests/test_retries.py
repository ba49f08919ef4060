"""Transient connector failures are retried within the run with backoff, honouring Retry-After from
a real local HTTP server; permanent ones fail at once."""

from __future__ import annotations

import time

import pytest

from connections import net
from connections.connectors.base import ConnectorError
from connections.connectors.localfiles import LocalFilesConnector
from connections.retry import parse_retry_after
from flows import runner, services
from flows.models import Execution
from flows.tests.http_server import Receiver


def call_api(url: str) -> None:
    """What a SaaS connector's client does with an answer (cf. the Zendesk and ServiceNow clients):
    429 / 5xx transient, honouring Retry-After; 401 the credentials."""
    response = net.request("GET", url)
    if response.status == 429 or response.status >= 500:
        busy = "is rate limiting Sluice" if response.status == 429 else f"answered HTTP {response.status}"
        raise ConnectorError(f"The test API {busy}.", permanent=False,
                             retry_after=parse_retry_after(response.headers.get("retry-after")))
    if response.status in (401, 403):
        raise ConnectorError(f"The test API refused the credentials (HTTP {response.status}).")


@pytest.fixture
def api(monkeypatch):
    """The demo flow's source first asks a local HTTP API (like a SaaS source would), then reads."""
    servers = []

    def make(*script):
        server = Receiver(list(script))
        servers.append(server)
        original = LocalFilesConnector.read

        def read(self, conn, entity, fields, filters, window, options):
            call_api(server.url + "?page=1")
            yield from original(self, conn, entity, fields, filters, window, options)

        monkeypatch.setattr(LocalFilesConnector, "read", read)
        return server

    yield make
    for server in servers:
        server.server.shutdown()


def run(demo, django_capture_on_commit_callbacks) -> Execution:
    with django_capture_on_commit_callbacks(execute=False):
        execution = services.start_flow(demo["flow"])
    runner.run_execution(str(execution.pk), worker="test")
    execution.refresh_from_db()
    return execution


@pytest.fixture(autouse=True)
def quick_backoff(settings):
    settings.SLUICE_RETRY_BASE_SECONDS = 0.01
    settings.SLUICE_HEARTBEAT_SECONDS = 0.2


def test_a_429_is_retried_after_the_servers_retry_after(demo, api, django_capture_on_commit_callbacks):
    server = api((429, {"Retry-After": "1"}), (503, {}), (200, {}))
    began = time.monotonic()
    execution = run(demo, django_capture_on_commit_callbacks)
    assert execution.status == "Successful", execution.error_message
    assert execution.records_written == 500
    assert len(server.received) == 3
    assert time.monotonic() - began >= 1.0  # waited at least what Retry-After asked
    warnings = list(execution.log_lines.filter(level="WARNING").values_list("message", flat=True))
    assert warnings[0].startswith("Reading accounts.csv from") and "rate limiting" in warnings[0]
    assert "retry 1 of 3 in 1.0 s" in warnings[0] and "retry 2 of 3" in warnings[1]


def test_retries_run_out(demo, api, django_capture_on_commit_callbacks):
    demo["flow"].__class__.objects.filter(pk=demo["flow"].pk).update(transient_retries=1)
    demo["flow"].refresh_from_db()
    server = api((500, {}), (500, {}), (200, {}))
    execution = run(demo, django_capture_on_commit_callbacks)
    assert execution.status == "Error" and "answered HTTP 500" in execution.error_message
    assert len(server.received) == 2


def test_a_permanent_error_fails_at_once(demo, api, django_capture_on_commit_callbacks):
    server = api((401, {}))
    execution = run(demo, django_capture_on_commit_callbacks)
    assert execution.status == "Error" and "refused the credentials (HTTP 401)" in execution.error_message
    assert len(server.received) == 1


def test_an_unreachable_service_is_transient():
    with pytest.raises(ConnectorError) as caught:
        net.request("GET", "http://127.0.0.1:9/", timeout=2)
    assert not caught.value.permanent and "Could not reach 127.0.0.1" in caught.value.message


def test_the_flow_page_sets_how_often_runs_retry(signed_in, demo):
    from django.urls import reverse

    from flows.models import Flow

    url = reverse("flows:retries", args=[demo["flow"].name])
    page = signed_in.get(reverse("flows:detail", args=[demo["flow"].name])).content.decode()
    assert "up to 3 on transient errors" in page
    follow = signed_in.post(url, {"retries": "5"}, follow=True).content.decode()
    assert "retry transient errors up to 5 times" in follow
    flow = Flow.objects.get(pk=demo["flow"].pk)
    assert flow.transient_retries == 5
    assert flow.activity.filter(action="settings", message__contains="set to 5 by owner").exists()

    for bad in ("11", "-1", "many", ""):
        page = signed_in.post(url, {"retries": bad}, follow=True).content.decode()
        assert "Retries: must be a whole number from 0 to 10" in page
    assert Flow.objects.get(pk=demo["flow"].pk).transient_retries == 5
