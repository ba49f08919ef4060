"""Benchmark: Salesforce change events -> event flows -> Amazon EventBridge, on real processes.

    .venv/bin/python bench/salesforce_events.py [--flows 1 20] [--burst 2000] [--steady 120]
                                                 [--rate 2] [--batch-seconds 2]

In a fresh var/ and data/ folder (SQLite and kombu's filesystem broker, the embedded default;
DATABASE_URL / CELERY_BROKER_URL to use others) it starts, as `./sluice up` does, a Celery worker
(`celery -A console worker --concurrency 2`) and the subscriber (`manage.py subscribe_events`) as
processes of their own; the local Salesforce org (its CometD endpoint,
connections/tests/salesforce_streaming_server.py) and moto in server mode (EventBridge; its PutEvents
noting when each event arrives) run in this process. For each flow count F it activates F event
flows, each on a channel of its own (/data/BenchNNChangeEvent -> the one bus), waits until all are
subscribed, then:

- burst: publishes --burst change events round-robin over the F channels as fast as it can and
  reports events/s from the first publish to the last event's arrival on the bus;
- steady: publishes --steady events at --rate a second and reports the latency of each event, from
  its publish at the org to the PutEvents call carrying it reaching moto, p50 / p99 / max.

Every event must arrive exactly once (checked by replay id). The batching window
(SLUICE_EVENT_BATCH_SECONDS, default 2) is the floor of the latency: a flow's run starts once its
oldest waiting event has waited that long.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PREFIX = "bench-events-"
FIELDS = ["Name", "ChangeEventHeader_changeType", "replayId"]


def setup(home: Path, batch_seconds: float) -> None:
    os.environ.update(
        {
            "SLUICE_VAR_DIR": str(home / "var"),
            "SLUICE_DATA_DIR": str(home / "data"),
            "DJANGO_SETTINGS_MODULE": "console.settings",
            "SLUICE_EVENT_BATCH_SECONDS": str(batch_seconds),
            # the local org and moto are on loopback, which the SSRF guard refuses unless allowed
            "SLUICE_NET_ALLOW": "127.0.0.1",
        }
    )
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-" + "x" * 20)
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", "0" * 43 + "=")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else float("nan")


def make_connections(org) -> None:
    from connections.models import Connection
    from connections.tests import s3server
    from connections.tests.salesforce_server import CLIENT_ID, CLIENT_SECRET

    Connection.objects.filter(name__in=["bench-sf", "bench-eb"]).delete()
    sf = Connection(name="bench-sf", connector_type="Salesforce",
                    properties={"environment": "Production", "clientId": CLIENT_ID, "loginUrl": org.base})
    sf.credentials = {"clientSecret": CLIENT_SECRET, "accessToken": "sf-token", "refreshToken": "sf-refresh",
                      "expiresAt": int(time.time()) + 24 * 3600, "instanceUrl": org.base.rstrip("/")}
    sf.save()
    eb = Connection(name="bench-eb", connector_type="EventBridge",
                    properties={"region": s3server.REGION, "endpointUrl": s3server.need_s3()})
    eb.credentials = {"accessKeyId": s3server.ACCESS_KEY, "secretAccessKey": s3server.SECRET_KEY}
    eb.save()


def entity(flows: int, index: int) -> str:
    return f"Bench{flows:02d}x{index:02d}"


def flow_document(name: str, channel: str, bus: str) -> dict:
    """An Event flow: the channel's events, FIELDS mapped as they are, to the bus."""
    maps = [{"sourceFields": [f], "connectorOperator": {"Salesforce": "NO_OP"}, "taskType": "Map",
             "destinationField": f, "taskProperties": {}} for f in FIELDS]
    return {
        "flowName": name,
        "triggerConfig": {"triggerType": "Event"},
        "sourceFlowConfig": {"connectorType": "Salesforce", "connectorProfileName": "bench-sf",
                             "sourceConnectorProperties": {"Salesforce": {"object": channel}}},
        "destinationFlowConfigList": [{"connectorType": "EventBridge", "connectorProfileName": "bench-eb",
                                       "destinationConnectorProperties": {"EventBridge": {"object": bus}}}],
        "tasks": [{"sourceFields": FIELDS, "connectorOperator": {"Salesforce": "PROJECTION"},
                   "taskType": "Filter"}, *maps],
    }


def activate_flows(count: int, bus: str) -> list:
    from flows import services
    from flows.models import Flow

    for flow in Flow.objects.filter(name__startswith=PREFIX, status=Flow.Status.ACTIVE):
        services.deactivate_flow(flow)
    made = []
    for index in range(count):
        document = flow_document(f"{PREFIX}{count:02d}-{index:02d}",
                                 f"/data/{entity(count, index)}ChangeEvent", bus)
        flow = services.create_flow(document)
        services.activate_flow(flow)
        made.append(flow)
    return made


def wait_subscribed(flows: list, timeout: float = 120) -> None:
    from flows.models import EventSubscription

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        notes = EventSubscription.objects.filter(flow__in=flows).values_list("note", flat=True)
        if sum("Subscribed" in (n or "") for n in notes) == len(flows):
            return
        time.sleep(0.1)
    sys.exit(f"the subscriber did not subscribe the {len(flows)} flows within {timeout} s")


class Arrivals:
    """Each event's arrival at EventBridge: moto's PutEvents, wrapped in this process to note the
    time and the event's replay id before moto stores it. (No rule or target on the bus: moto
    forwarding to an SQS target costs ~0.1 s of CPU per event, it would measure moto.)"""

    def __init__(self):
        self.lock = threading.Lock()
        self.at: dict[int, float] = {}
        self.twice: list[int] = []

    def install(self) -> None:
        from moto.events.models import EventsBackend

        original, arrivals = EventsBackend.put_events, self

        def put_events(backend, events):
            now = time.time()
            with arrivals.lock:
                for event in events:
                    replay = json.loads(event.get("Detail") or "{}").get("replayId")
                    (arrivals.twice.append(replay) if replay in arrivals.at else None)
                    arrivals.at.setdefault(replay, now)
            return original(backend, events)

        EventsBackend.put_events = put_events

    def of(self, replays) -> dict[int, float]:
        with self.lock:
            if self.twice:
                sys.exit(f"events reached the bus twice: replay ids {self.twice[:10]}")
            return {r: self.at[r] for r in replays if r in self.at}


def publish_and_collect(org, arrivals: Arrivals, flows: int, events: int, rate: float | None,
                        timeout: float) -> tuple[dict[int, float], dict[int, float]]:
    """(replay id -> publish time, replay id -> arrival time); rate None: as fast as possible."""
    published: dict[int, float] = {}
    began = time.monotonic()
    for n in range(events):
        if rate:
            time.sleep(max(0.0, began + n / rate - time.monotonic()))
        at = time.time()
        published[org.streaming.publish_change(n, entity=entity(flows, n % flows))] = at
    deadline = time.monotonic() + timeout
    while len(got := arrivals.of(published)) < events and time.monotonic() < deadline:
        time.sleep(0.1)
    if len(got) < events:
        sys.exit(f"{len(got)} of {events} events reached the bus within {timeout} s")
    return published, got


def wait_runs_finished(flows: list, timeout: float) -> None:
    """Until every run of the flows has ended (an event is on the bus before its run commits)."""
    from flows.models import Execution

    runs = Execution.objects.filter(flow__in=flows)
    deadline = time.monotonic() + timeout
    while runs.filter(status="InProgress").exists() and time.monotonic() < deadline:
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--burst", type=int, default=2000, help="events of the burst phase (default 2000)")
    parser.add_argument("--steady", type=int, default=120, help="events of the steady phase (default 120)")
    parser.add_argument("--rate", type=float, default=2, help="events/s of the steady phase (default 2)")
    parser.add_argument("--batch-seconds", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="sluice-bench-events-"))
    setup(home, args.batch_seconds)
    # The processes' environment, taken now: importing the test servers loads conftest.py, whose
    # testenv points SLUICE_VAR_DIR at a test folder of its own.
    env = dict(os.environ)

    import pytest

    from connections.tests import local_server
    from connections.tests.eventbridge_bus import aws
    from connections.tests.salesforce_server import serve
    from flows.models import Execution

    patches = pytest.MonkeyPatch()  # serve() allow-lists its port through it
    org = serve(patches)
    org.streaming.timeout_ms = 25000  # a long poll held open while nothing happens, as Salesforce does
    make_connections(org)
    arrivals = Arrivals()
    arrivals.install()
    bus = f"sluice-bench-{uuid.uuid4().hex[:8]}"
    aws("events").create_event_bus(Name=bus)
    logs = home / "logs"
    logs.mkdir()
    python = sys.executable
    processes = {
        "worker": subprocess.Popen([python, "-m", "celery", "-A", "console", "worker", "--loglevel",
                                    "WARNING", "--concurrency", "2"], cwd=REPO, env=env,
                                   stdout=(logs / "worker.log").open("w"), stderr=subprocess.STDOUT),
        "events": subprocess.Popen([python, "manage.py", "subscribe_events"], cwd=REPO, env=env,
                                   stdout=(logs / "events.log").open("w"), stderr=subprocess.STDOUT),
    }
    rows = []
    try:
        for count in args.flows:
            flows = activate_flows(count, bus)
            wait_subscribed(flows)
            row = {"flows": count}
            for phase, events, rate in (("burst", args.burst, None), ("steady", args.steady, args.rate)):
                runs_before = set(Execution.objects.filter(flow__in=flows).values_list("pk", flat=True))
                published, got = publish_and_collect(org, arrivals, count, events, rate, args.timeout)
                wait_runs_finished(flows, args.timeout)
                runs = Execution.objects.filter(flow__in=flows).exclude(pk__in=runs_before)
                latency = [got[r] - published[r] for r in published]
                row[phase] = {
                    "events": events,
                    "seconds": max(got.values()) - min(published.values()),
                    "p50": percentile(latency, 0.5), "p99": percentile(latency, 0.99), "max": max(latency),
                    "runs": runs.count(),
                    "not_successful": runs.exclude(status="Successful").count(),
                    "run_s": statistics.fmean((r.finished_at - r.started_at).total_seconds() for r in runs),
                    "queued_s": statistics.fmean((r.started_at - r.created_at).total_seconds() for r in runs),
                }
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        for server in local_server.RUNNING:  # long polls cut by the subscriber's end are no news
            server.handle_error = lambda request, address: None
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        patches.undo()
    shutil.rmtree(home, ignore_errors=True)
    print(f"\nbatching window {args.batch_seconds:g} s; worker concurrency 2; one subscriber process; "
          f"steady phase at {args.rate:g} events/s")
    print("| flows | phase | events | seconds | events/s | latency p50 s | p99 s | max s | runs "
          "| run s (mean) | queued s (mean) | runs not Successful |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        for phase in ("burst", "steady"):
            m = row[phase]
            print(f"| {row['flows']} | {phase} | {m['events']} | {m['seconds']:.1f} "
                  f"| {m['events'] / m['seconds']:,.1f} | {m['p50']:.2f} | {m['p99']:.2f} | {m['max']:.2f} "
                  f"| {m['runs']} | {m['run_s']:.2f} | {m['queued_s']:.2f} | {m['not_successful']} |")

if __name__ == "__main__":
    main()
