"""End to end on real processes: Salesforce change events published to the local org's CometD
endpoint -> the subscriber process (manage.py subscribe_events) -> runs on a real Celery worker ->
Amazon EventBridge (moto) -> an SQS queue. The subscriber is killed (SIGKILL) after event 20 and
started again: the bus still gets each of the 50 events exactly once. On the way the org forgets
the session once (403::Unknown client) and drops a connection once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import subprocess_database_url
from connections.models import Connection
from connections.tests import s3server
from connections.tests.eventbridge_bus import drain, partner_bus
from connections.tests.salesforce_server import CLIENT_ID, CLIENT_SECRET, serve
from flows import services
from flows.models import EventSubscription, Execution, Flow, ReceivedEvent

pytestmark = pytest.mark.django_db(transaction=True)
FIELDS = ["Name", "ChangeEventHeader_changeType", "ChangeEventHeader_recordIds", "replayId"]


def wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def event_flow(bus: str) -> dict:
    return {
        "flowName": "AccountChangesToBus",
        "triggerConfig": {"triggerType": "Event"},
        "sourceFlowConfig": {"connectorType": "Salesforce", "connectorProfileName": "sf",
                             "sourceConnectorProperties": {"Salesforce": {"object": "/data/AccountChangeEvent"}}},
        "destinationFlowConfigList": [{"connectorType": "EventBridge", "connectorProfileName": "eb",
                                       "destinationConnectorProperties": {"EventBridge": {"object": bus}}}],
        "tasks": [
            {"sourceFields": FIELDS, "connectorOperator": {"Salesforce": "PROJECTION"}, "taskType": "Filter"},
            *[{"sourceFields": [f], "connectorOperator": {"Salesforce": "NO_OP"}, "taskType": "Map",
               "destinationField": f, "taskProperties": {}} for f in FIELDS],
        ],
    }


def connections(org) -> None:
    sf = Connection(name="sf", connector_type="Salesforce",
                    properties={"environment": "Production", "clientId": CLIENT_ID, "loginUrl": org.base})
    sf.credentials = {"clientSecret": CLIENT_SECRET, "accessToken": "sf-token", "refreshToken": "sf-refresh",
                      "expiresAt": int(time.time()) + 3600, "instanceUrl": org.base.rstrip("/")}
    sf.save()
    eb = Connection(name="eb", connector_type="EventBridge",
                    properties={"region": s3server.REGION, "endpointUrl": s3server.need_s3()})
    eb.credentials = {"accessKeyId": s3server.ACCESS_KEY, "secretAccessKey": s3server.SECRET_KEY}
    eb.save()


# `manage.py subscribe_events`, in a process that has done its imports and waits for a line on
# stdin before it starts: a restart "after the kill" then costs what a restart costs, not Python
# loading Django, Celery and the connectors (seconds on a busy machine). Nothing else carries over.
LAUNCH = """
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
django.setup()
from django.core.management import call_command
import flows.management.commands.subscribe_events
if sys.stdin.readline().strip() != "go":
    sys.exit(0)  # the test ended without letting it go
call_command("subscribe_events")
"""


class Subscriber:
    """A subscriber process, started ready and let go with go()."""

    def __init__(self, settings):
        env = os.environ | {"DATABASE_URL": subprocess_database_url(), "SLUICE_EVENT_BATCH_SECONDS": "0.3",
                            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "SLUICE_NET_ALLOW": "127.0.0.1"}
        self.process = subprocess.Popen([sys.executable, "-c", LAUNCH], cwd=Path(settings.BASE_DIR), env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)

    def go(self) -> Subscriber:
        self.process.stdin.write(b"go\n")
        self.process.stdin.flush()
        return self

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)  # maybe before its run started, maybe mid-run
        self.process.wait(timeout=10)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def test_fifty_change_events_reach_the_bus_once_each_across_a_killed_subscriber(celery_worker, settings,
                                                                                monkeypatch):
    first, restarted = Subscriber(settings).go(), Subscriber(settings)
    delivered: list[dict] = []
    try:
        org = serve(monkeypatch)
        bus_name, queue = partner_bus()
        monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")  # the local org and the moto server
        connections(org)
        org.streaming.timeout_ms = 300
        flow = services.create_flow(event_flow(bus_name))
        services.activate_flow(flow)
        wait(lambda: "Subscribed" in (EventSubscription.objects.filter(flow=flow).values_list("note", flat=True)
                                      .first() or ""), 20, "the subscription")
        org.streaming.forget_clients_after = org.streaming.connects + 1  # one 403::Unknown client
        org.streaming.drop_after = org.streaming.connects + 3  # one dropped connection
        published = [org.streaming.publish_change(n) for n in range(1, 21)]
        wait(lambda: ReceivedEvent.objects.filter(flow=flow).count() >= 20, 20, "event 20 to be received")
        first.kill()
        published += [org.streaming.publish_change(n) for n in range(21, 51)]
        restarted.go()

        def all_there():
            delivered.extend(drain(queue))
            return len(delivered) >= 50 and not Execution.objects.filter(flow=flow, status="InProgress").exists()

        try:
            wait(all_there, 30, "50 events on the bus")
        except AssertionError:
            state = EventSubscription.objects.filter(flow=flow).values("note", "replay_id", "gap").first()
            runs = list(Execution.objects.filter(flow=flow).values_list("status", "error_message"))
            raise AssertionError(f"{len(delivered)} delivered; {ReceivedEvent.objects.filter(flow=flow).count()} "
                                 f"received; subscription {state}; runs {runs}") from None
        time.sleep(0.5)
        delivered.extend(drain(queue))
    finally:
        first.stop()
        restarted.stop()

    replays = [e["detail"]["replayId"] for e in delivered]
    assert len(delivered) == 50 and sorted(replays) == published  # exactly once each
    assert {e["detail"]["ChangeEventHeader_changeType"] for e in delivered} == {"UPDATE"}
    assert {e["detail-type"] for e in delivered} == {"AccountChangeEvent"}
    assert org.streaming.handshakes >= 3  # first, after the 403, after the drop / the restart
    assert EventSubscription.objects.get(flow=flow).replay_id == published[-1]
    assert set(Execution.objects.filter(flow=flow).values_list("status", flat=True)) == {"Successful"}


def test_a_revoked_token_pauses_the_flow_and_asks_for_re_authorization(settings, monkeypatch):
    process = Subscriber(settings).go()
    try:
        org = serve(monkeypatch)
        connections(org)
        org.tokens.clear()  # the access token is revoked...
        org.refresh_tokens.clear()  # ...and so is the refresh token
        flow = services.create_flow(event_flow("some-bus"))
        services.activate_flow(flow)
        wait(lambda: Flow.objects.get(pk=flow.pk).status != "Active", 20, "the flow to be paused")
    finally:
        process.stop()
    flow.refresh_from_db()
    assert flow.status == "Suspended" and "Re-authorize" in flow.status_message
    assert Connection.objects.get(name="sf").status == Connection.Status.NEEDS_REAUTHORIZATION


def test_the_flow_page_shows_the_subscriber_heartbeat_and_a_gap(signed_in):
    from django.utils import timezone

    Connection.objects.create(name="sf", connector_type="Salesforce", properties={"clientId": CLIENT_ID})
    Connection.objects.create(name="eb", connector_type="EventBridge", properties={"region": "us-east-1"})
    flow = services.create_flow(event_flow("some-bus"))
    EventSubscription.objects.create(flow=flow, channel="/data/AccountChangeEvent", replay_id=4020,
                                     replay_at=timezone.now(), heartbeat_at=timezone.now(), subscriber="vm:42",
                                     gap="The last delivered event was received more than 72 hours ago.")
    page = signed_in.get(f"/flows/{flow.name}/").content.decode()
    assert "/data/AccountChangeEvent" in page and "replay id 4020" in page and "vm:42" in page
    assert "Events may be missing." in page and 'id="webhook"' not in page
