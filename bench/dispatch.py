"""Benchmark: the schedule dispatcher with many active flows on rate(1 minutes).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sluice_bench \\
        .venv/bin/python bench/dispatch.py [--flows 1000] [--minutes 3] [--dispatchers 2]

It migrates the database it is given (use one of your own: it creates and deletes flows named
bench-*), makes N Scheduled flows whose slots all fall on the same second of every minute (the
worst case: every flow due at once), then runs D dispatcher processes that each tick once a
second, as the beat schedule does, racing each other for the same slots. Executions are marked
Successful right after each minute so the next slots run rather than being skipped, as quick
workers would. It prints, from the database: dispatch lag (slot time to execution created)
p50/p99/max, time per tick that found work, and the count of slots with other than exactly one
execution (must be 0). The broker is in-memory unless CELERY_BROKER_URL says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PREFIX = "bench-dispatch-"


def setup_django() -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("SLUICE_VAR_DIR", tempfile.mkdtemp(prefix="sluice-bench-var-"))
    os.environ.setdefault("SLUICE_DATA_DIR", tempfile.mkdtemp(prefix="sluice-bench-data-"))
    import django

    django.setup()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else float("nan")


def prepare(count: int) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from console.demo import demo_flow_document, seed_demo
    from flows import services
    from flows.models import Flow

    call_command("migrate", verbosity=0)
    Flow.objects.filter(name__startswith=PREFIX).delete()
    seed_demo(rows=10)
    now = timezone.now()
    # Slots on second :00 of each minute, from the next minute on.
    start = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    for index in range(count):
        document = demo_flow_document() | {
            "flowName": f"{PREFIX}{index:05d}",
            "triggerConfig": {"triggerType": "Scheduled", "triggerProperties": {"Scheduled": {
                "scheduleExpression": "rate(1minutes)", "scheduleStartTime": start.isoformat()}}},
        }
        services.activate_flow(services.create_flow(document))
    # Making the flows may have taken past the first slot: start at a :00 still to come (every
    # minute boundary is a slot of these schedules), so no lag counts the set-up time.
    first = (timezone.now() + timedelta(seconds=62)).replace(second=0, microsecond=0)
    Flow.objects.filter(name__startswith=PREFIX).update(next_run_at=first)
    print(f"{count} flows active; first slot {first:%H:%M:%S} UTC", flush=True)


def dispatch_loop(seconds: float, out: str) -> None:
    """One dispatcher process: tick every second until the time is up; write the tick times."""
    from flows.dispatcher import dispatch_due

    ticks = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        began = time.monotonic()
        result = dispatch_due()
        if result.started or result.skipped or result.taken:
            ticks.append({"seconds": result.seconds, "started": len(result.started),
                          "skipped": len(result.skipped), "taken": result.taken})
        time.sleep(max(0.0, 1.0 - (time.monotonic() - began)))
    Path(out).write_text(json.dumps(ticks))


def finish_runs_each_minute(seconds: float) -> None:
    """Stand in for quick workers: what is running is done a little after its slot."""
    from flows.models import Execution

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(5)
        running = Execution.objects.filter(flow__name__startswith=PREFIX, status="InProgress")
        running.update(status="Successful")


def report(count: int, tick_files: list[Path]) -> None:
    from django.db.models import Count

    from flows.models import Execution

    executions = Execution.objects.filter(flow__name__startswith=PREFIX, scheduled_for__isnull=False)
    pairs = executions.values_list("created_at", "scheduled_for")
    lags = [(created - slot).total_seconds() for created, slot in pairs]
    per_slot = executions.values("flow_id", "scheduled_for").annotate(n=Count("id")).filter(n__gt=1).count()
    skipped = executions.filter(status="Skipped").count()
    ticks = [tick for path in tick_files for tick in json.loads(path.read_text())]
    busy = [tick["seconds"] for tick in ticks if tick["started"] or tick["skipped"]]
    print(f"flows: {count}   executions: {len(lags)}   skipped: {skipped}   "
          f"slots with >1 execution: {per_slot}")
    print(f"dispatch lag s   p50 {percentile(lags, .5):.3f}   p99 {percentile(lags, .99):.3f}   "
          f"max {max(lags, default=float('nan')):.3f}")
    print(f"tick s (with work, all dispatchers)   n {len(busy)}   p50 {percentile(busy, .5):.3f}   "
          f"p99 {percentile(busy, .99):.3f}   max {max(busy, default=float('nan')):.3f}   "
          f"mean {statistics.fmean(busy) if busy else float('nan'):.3f}")
    print(f"slots taken by the other dispatcher first: {sum(tick['taken'] for tick in ticks)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--dispatchers", type=int, default=2)
    parser.add_argument("--child-seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    setup_django()
    if args.child_out:
        dispatch_loop(args.child_seconds, args.child_out)
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("Run it against PostgreSQL: set DATABASE_URL=postgres://... (your own database).")
    prepare(args.flows)
    from django.utils import timezone

    from flows.models import Flow

    first = Flow.objects.filter(name__startswith=PREFIX).order_by("next_run_at").first().next_run_at
    seconds = (first - timezone.now()).total_seconds() + args.minutes * 60 + 1
    with tempfile.TemporaryDirectory(prefix="sluice-bench-") as tmp:
        outs = [Path(tmp) / f"ticks-{n}.json" for n in range(args.dispatchers)]
        children = [
            subprocess.Popen([sys.executable, __file__, "--child-seconds", str(seconds),
                              "--child-out", str(out)])
            for out in outs
        ]
        finish_runs_each_minute(seconds)
        for child in children:
            child.wait()
        report(args.flows, outs)
    Flow.objects.filter(name__startswith=PREFIX).delete()


if __name__ == "__main__":
    main()
