"""The benchmark job through the embedded stack: SQLite, the filesystem broker, a Celery worker.

    .venv/bin/python bench/embedded_job.py DATA_FOLDER [--file-type PARQUET|JSONL]

DATA_FOLDER holds accounts.csv (bench/generate_crm.py). In a fresh var/ and data/ folder it
migrates a SQLite database, creates the Local files connection and the flow from bench/job.json
through flows.services (as the console does), starts a Celery worker (solo pool, in a thread of
this process, on kombu's filesystem broker: the embedded default), then times start_flow until the
execution is finished, polling its row every 20 ms. Prints one JSON line: seconds (start_flow to
finished), engine_seconds (worker claim to finish), queue_seconds (row created to worker claim).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--file-type", default="PARQUET", choices=["PARQUET", "JSONL"])
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="sluice-embedded-"))
    os.environ.update(
        {
            "SLUICE_VAR_DIR": str(home / "var"),
            "SLUICE_DATA_DIR": str(home / "data"),
            "SLUICE_LOCAL_FILES_BASE": str(home / "data"),
            "DJANGO_SETTINGS_MODULE": "console.settings",
        }
    )
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-" + "x" * 20)
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", "0" * 43 + "=")
    root = home / "data" / "bench"
    root.mkdir(parents=True)
    os.link(args.folder.resolve() / "accounts.csv", root / "accounts.csv")  # same bytes, no copy

    import django

    django.setup()
    from celery.contrib.testing.worker import start_worker
    from django.core.management import call_command

    from bench.measure import peak_rss_mb
    from connections import services as connection_services
    from console.celery import app
    from flows import services
    from flows.models import Execution

    call_command("migrate", verbosity=0)
    connection_services.create_connection(
        name="bench-files",
        connector_type="CustomConnector",
        connector_label="LocalFiles",
        properties={"rootPath": str(root)},
    )
    document = json.loads((REPO / "bench" / "job.json").read_text())
    destination = document["destinationFlowConfigList"][0]["destinationConnectorProperties"][
        "CustomConnector"
    ]
    destination["customProperties"]["fileType"] = args.file_type
    flow = services.create_flow(document)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        started = time.perf_counter()
        execution = services.start_flow(flow)
        while not Execution.objects.get(pk=execution.pk).is_finished:
            time.sleep(0.02)
        seconds = time.perf_counter() - started
    execution = Execution.objects.get(pk=execution.pk)
    shutil.rmtree(home, ignore_errors=True)  # the database, the broker queue and the output
    if execution.status != "Successful":
        sys.exit(f"the run ended {execution.status}: {execution.error_message}")
    print(
        json.dumps(
            {
                "seconds": seconds,
                "engine_seconds": (execution.finished_at - execution.started_at).total_seconds(),
                "queue_seconds": (execution.started_at - execution.created_at).total_seconds(),
                "read": execution.records_processed,
                "written": execution.records_written,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


if __name__ == "__main__":
    main()
