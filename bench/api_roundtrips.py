"""Benchmark: signed AppFlow API round trips from boto3 to a real Sluice web server (gunicorn).

    .venv/bin/python bench/api_roundtrips.py [--flows 1000] [--calls 300] [--workers 2]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sluice_api_bench .venv/bin/python bench/api_roundtrips.py

Sets up a private var/ folder (SQLite and the embedded broker, or the PostgreSQL database named by
DATABASE_URL, which it creates when missing and empties first), creates --flows on-demand flows and
an access key, starts gunicorn, then times --calls signed DescribeFlow calls (random flows) and
--calls signed StartFlow calls, one at a time from one boto3 client. Prints p50/p99/max latency
and calls per second. No worker runs: StartFlow measures recording and queueing a run, not the run.
Not a test: run it on purpose; the figures depend on the machine and what else it does.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_environment(run_dir: Path) -> None:
    from cryptography.fernet import Fernet

    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "SLUICE_VAR_DIR": str(run_dir / "var"),
        "SLUICE_DATA_DIR": str(run_dir / "data"),
        "SLUICE_LOCAL_FILES_BASE": str(run_dir / "data"),
        "SECRET_KEY": "bench-" + "x" * 50,
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DEBUG": "false",
    })
    (run_dir / "data").mkdir(parents=True)


def ensure_postgres_database() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def seed(flows: int) -> tuple[str, str, list[str]]:
    import django

    sys.path.insert(0, str(REPO))
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from api import keys
    from connections import services as connection_services
    from console.demo import demo_flow_document
    from flows import services as flow_services

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    root = Path(os.environ["SLUICE_LOCAL_FILES_BASE"]) / "bench"
    root.mkdir()
    (root / "accounts.csv").write_text("Id,Name\n1,Acme\n")
    connection_services.create_connection(name="demo-local-files", connector_type="CustomConnector",
                                          connector_label="LocalFiles", properties={"rootPath": str(root)})
    names = []
    document = demo_flow_document()
    for index in range(flows):
        names.append(f"bench-flow-{index:05d}")
        flow_services.create_flow(document | {"flowName": names[-1]}, user=user)
    key, secret = keys.create_key(user)
    from django.db import connections

    connections.close_all()
    return key.access_key_id, secret, names


def start_server(port: int, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(REPO / ".venv/bin/gunicorn"), "console.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers),
         "--log-level", "warning"],
        cwd=REPO, env=os.environ.copy(),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=2)
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit("gunicorn did not start") from None
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer /health/ within 60 s")


def timed(call, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(name: str, times: list[float]) -> None:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"{name:<14} {len(times):>6} {statistics.median(ordered):>8.1f} {p99:>8.1f} {ordered[-1]:>8.1f} "
          f"{1000 * len(times) / sum(times):>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    import boto3
    from botocore.config import Config

    run_dir = Path(tempfile.mkdtemp(prefix="sluice-bench-api-"))
    prepare_environment(run_dir)
    ensure_postgres_database()
    began = time.monotonic()
    key_id, secret, names = seed(args.flows)
    database = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(f"{database}, {args.flows} flows seeded in {time.monotonic() - began:.1f} s; "
          f"gunicorn with {args.workers} workers")
    port = free_port()
    server = start_server(port, args.workers)
    try:
        client = boto3.client(
            "appflow", endpoint_url=f"http://127.0.0.1:{port}/api/appflow", region_name="us-east-1",
            aws_access_key_id=key_id, aws_secret_access_key=secret,
            config=Config(retries={"total_max_attempts": 1}),
        )
        client.describe_flow(flowName=names[0])  # warm up: connections, imports
        print(f"{'operation':<14} {'calls':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'calls/s':>9}")
        report("DescribeFlow", timed(lambda: client.describe_flow(flowName=random.choice(names)), args.calls))
        report("StartFlow", timed(lambda: client.start_flow(flowName=random.choice(names)), args.calls))
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
