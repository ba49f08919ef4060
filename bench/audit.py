"""Benchmark: what the audit log's write adds to a flow save (issue 15: < 1 ms).

    .venv/bin/python bench/audit.py [--saves 300]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sluice_audit_bench .venv/bin/python bench/audit.py

Sets up a private var/ folder (SQLite, or the PostgreSQL database named by DATABASE_URL, created
or emptied first), one Local files connection and one flow, then times --saves calls of
flows.services.update_flow (a new version each: validation, version row, connections, audit row),
alternating saves with the audit write on and with `audit.record` replaced by a no-op, so both
see the same machine load. Also times `audit.record` alone inside a transaction. Prints p50/p95
per kind and the difference. Not a test: the figures depend on the machine and what else it does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.api_roundtrips import ensure_postgres_database, prepare_environment  # noqa: E402


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saves", type=int, default=300)
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="sluice-audit-bench-"))
    prepare_environment(run_dir)
    ensure_postgres_database()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction

    import audit
    from connections import services as connection_services
    from console.demo import demo_flow_document
    from flows import services

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    root = Path(os.environ["SLUICE_LOCAL_FILES_BASE"]) / "bench"
    root.mkdir()
    (root / "accounts.csv").write_text("Id,Name\n1,Acme\n")
    connection_services.create_connection(name="demo-local-files", connector_type="CustomConnector",
                                          connector_label="LocalFiles", properties={"rootPath": str(root)})
    document = demo_flow_document()
    flow = services.create_flow(document, user=user)
    real_record = audit.record

    def no_op(*args, **kwargs):
        return None

    timings: dict[str, list[float]] = {"with audit": [], "without audit": [], "audit.record alone": []}
    with audit.acting_as(user, via="console", address="192.0.2.1"):
        for i in range(args.saves * 2):
            on = i % 2 == 0
            audit.record = real_record if on else no_op
            document = {**document, "description": f"save {i}"}
            started = time.perf_counter()
            services.update_flow(flow, document, user=user)
            timings["with audit" if on else "without audit"].append(time.perf_counter() - started)
        audit.record = real_record
        for i in range(args.saves):
            with transaction.atomic():
                started = time.perf_counter()
                audit.record("flow.update", flow, user=user,
                             changes={"description": {"from": f"save {i}", "to": f"save {i + 1}"}})
                timings["audit.record alone"].append(time.perf_counter() - started)

    engine = django.db.connection.vendor
    print(f"flow saves on {engine}, {args.saves} of each kind (ms)")
    for kind, samples in timings.items():
        p50, p95 = percentiles(samples)
        print(f"  {kind:20s} p50 {p50:7.3f}   p95 {p95:7.3f}")
    with_p50, _ = percentiles(timings["with audit"])
    without_p50, _ = percentiles(timings["without audit"])
    print(f"  added by the audit write (p50 difference): {with_p50 - without_p50:.3f} ms (target < 1 ms)")


if __name__ == "__main__":
    main()
