"""Benchmark: the history pages at a team's scale (issue 13) — 1,000 flows, 100,000 executions.

    createdb -h 127.0.0.1 -U postgres sluice_c13admin_bench   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sluice_c13admin_bench \\
        .venv/bin/python bench/pages.py [--flows 1000] [--executions 100000] [--repeat 40] [--rebuild]

It migrates the database it is given (use one of your own), builds the data set with bulk inserts
the first time (flows named bench-pages-*; later runs reuse it unless --rebuild, so a before/after
pair measures the same rows), then requests each page through Django's test client as a
superuser — the whole request: middleware, queries, template — and prints p50/p95 in ms, the
median CPU time of this process per request and the median time spent waiting for SQL (on a busy
machine wall times grow with the load; CPU + SQL is roughly what an idle machine takes), and the
SQL queries per request. The first requests warm caches and are not counted.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PREFIX = "bench-pages-"
WARM_UP = 3


def setup_django() -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("SLUICE_VAR_DIR", tempfile.mkdtemp(prefix="sluice-bench-var-"))
    os.environ.setdefault("SLUICE_DATA_DIR", tempfile.mkdtemp(prefix="sluice-bench-data-"))
    os.environ["ALLOWED_HOSTS"] = "testserver"
    import django

    django.setup()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def build(flows: int, executions: int, rebuild: bool) -> None:
    """The data set, made with bulk inserts: a flow, its version and its runs spread over 90 days."""
    import json

    from django.db import transaction
    from django.utils import timezone

    from console.demo import demo_flow_document
    from flows.models import Execution, Flow, FlowVersion

    existing = Flow.objects.filter(name__startswith=PREFIX)
    if not rebuild and existing.count() == flows and \
            Execution.objects.filter(flow__name__startswith=PREFIX).count() == executions:
        print(f"reusing {flows} flows and {executions} executions", flush=True)
        return
    started = time.monotonic()
    existing.delete()
    rng = random.Random(13)
    now = timezone.now()
    with transaction.atomic():
        made = Flow.objects.bulk_create(
            Flow(name=f"{PREFIX}{index:05d}", description=f"Bench flow {index}",
                 status=Flow.Status.ACTIVE if index % 3 else Flow.Status.DRAFT,
                 trigger_type="OnDemand")
            for index in range(flows)
        )
        versions = FlowVersion.objects.bulk_create(
            FlowVersion(flow=flow, number=1,
                        document=json.dumps(demo_flow_document() | {"flowName": flow.name}))
            for flow in made
        )
        for flow, version in zip(made, versions, strict=True):
            flow.current_version = version
        Flow.objects.bulk_update(made, ["current_version"], batch_size=1000)
        statuses = ([Execution.Status.SUCCESSFUL] * 85 + [Execution.Status.ERROR] * 10
                    + [Execution.Status.CANCELED] * 3 + [Execution.Status.SKIPPED] * 2)
        triggers = list(Execution.Trigger)
        span = timedelta(days=90).total_seconds()
        batch: list[Execution] = []
        for index in range(executions):
            flow_index = index % flows
            status = rng.choice(statuses)
            created = now - timedelta(seconds=rng.random() * span)
            batch.append(Execution(
                flow=made[flow_index], version=versions[flow_index], status=status,
                trigger=rng.choice(triggers), started_at=created, finished_at=created + timedelta(seconds=4),
                records_processed=1000, records_written=1000 if status == "Successful" else 0,
                error_message="accounts.csv: column Phone: not a number, in record 5 (id 0017)"
                if status == "Error" else "",
            ))
            if len(batch) == 5000:
                Execution.objects.bulk_create(batch)
                batch = []
        Execution.objects.bulk_create(batch)
    # auto_now_add set every created_at to now: spread them as the runs were.
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE flows_execution SET created_at = started_at, updated_at = finished_at "
                "WHERE flow_id IN (SELECT id FROM flows_flow WHERE name LIKE %s)", [PREFIX + "%"])
            cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would have after a while
        else:
            cursor.execute("UPDATE flows_execution SET created_at = started_at, updated_at = finished_at")
    print(f"built {flows} flows and {executions} executions in {time.monotonic() - started:.0f} s",
          flush=True)


def pages() -> list[tuple[str, str, dict]]:
    from flows.models import Flow

    flow = Flow.objects.filter(name__startswith=PREFIX).order_by("name")[421]
    history = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "history"}
    return [
        ("admin execution list", "/admin/flows/execution/", {}),
        ("admin status filter", "/admin/flows/execution/?status__exact=Error", {}),
        ("admin flow-name search", f"/admin/flows/execution/?q={flow.name}", {}),
        ("admin execution list, page 50", "/admin/flows/execution/?p=50", {}),
        ("console home", "/", {}),
        ("flow page", f"/flows/{flow.name}/", {}),
        ("execution history page 3", f"/flows/{flow.name}/?page=3", history),
    ]


def measure(repeat: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    User = get_user_model()
    user = User.objects.filter(username="bench-pages-admin").first() or User.objects.create_superuser(
        "bench-pages-admin", "", "x")
    client = Client()
    client.force_login(user)
    print(f"\n{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>8} {'SQL ms':>8} {'queries':>8}  status")
    for label, url, headers in pages():
        times: list[float] = []
        sql: list[float] = []
        cpu: list[float] = []
        queries = 0
        status = 0
        for attempt in range(WARM_UP + repeat):
            with CaptureQueriesContext(connection) as captured:
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get(url, **headers)
                elapsed = (time.perf_counter() - started) * 1000
                used_cpu = (time.process_time() - started_cpu) * 1000
            status = response.status_code
            queries = len(captured)
            if attempt >= WARM_UP:
                times.append(elapsed)
                cpu.append(used_cpu)
                sql.append(sum(float(query["time"]) for query in captured.captured_queries) * 1000)
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        print(f"{label:34} {p50:8.1f} {p95:8.1f} {statistics.median(cpu):8.1f} {statistics.median(sql):8.1f} "
              f"{queries:8d}  {status}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40, help="timed requests per page")
    parser.add_argument("--rebuild", action="store_true", help="delete and build the data set again")
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    build(args.flows, args.executions, args.rebuild)
    measure(args.repeat)


if __name__ == "__main__":
    main()
