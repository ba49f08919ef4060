"""Loaded as a pytest plugin (`-p testenv` in pytest.ini) so that it runs before pytest-django
loads the settings: each test run gets its own var/ and data/ folders (database, broker queue,
data) and never touches the developer's, nor another run's.

Under pytest-xdist every worker process loads this module itself, so each worker has its own
folders too, and (below) its own Redis database."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

RUN_DIR = Path(tempfile.mkdtemp(prefix="sluice-test-"))
os.environ["SLUICE_VAR_DIR"] = str(RUN_DIR / "var")
os.environ["SLUICE_DATA_DIR"] = str(RUN_DIR / "data")
os.environ.pop("SLUICE_LOCAL_FILES_BASE", None)
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "0" * 43 + "=")
# Worker threads end with the test; persistent connections would outlive them and keep
# PostgreSQL from dropping the test database.
os.environ["DATABASE_CONN_MAX_AGE"] = "0"
# The test servers (PostgreSQL, MariaDB, moto, local fakes) are on loopback, which the SSRF guard
# refuses unless allow-listed; tests of the guard itself set or clear this themselves.
os.environ.setdefault("SLUICE_NET_ALLOW", "127.0.0.1,localhost,::1")
# Playwright's sync API runs an event loop in the test thread; the ORM calls made there are ours.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def broker_for_worker(url: str, worker: str, workers: int) -> str:
    """The broker URL for xdist worker `worker` (gw0, gw1, ...) of `workers`: on Redis, the URL's
    database number plus the worker's number. Workers sharing one Redis database would take each
    other's tasks (a run queued by gw1's test, run by gw0's worker on gw0's test database) and purge
    each other's queues. The filesystem broker lives in var/, which is already per process.
    (xdist names a worker started in place of a crashed one gw2, gw3, ...: it takes the number of
    its rank among `workers`.)"""
    if not url.startswith(("redis://", "rediss://")):
        return url
    number = int(worker.removeprefix("gw")) % workers
    match = re.fullmatch(r"(rediss?://[^/?#]*)(?:/(\d*))?([?#].*)?", url)
    if not match:
        raise SystemExit(f"CELERY_BROKER_URL {url!r}: expected redis://host:port/<database number>")
    base, db, rest = match.group(1), int(match.group(2) or 0), match.group(3) or ""
    if db + number > 15:  # a Redis server has databases 0-15 unless configured otherwise
        raise SystemExit(
            f"CELERY_BROKER_URL {url!r}: test process {worker} would use Redis database {db + number}, "
            f"past 15; give a database number at most {15 - number} (each test process takes the next one)"
        )
    return f"{base}/{db + number}{rest}"


if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("CELERY_BROKER_URL"):
    os.environ["CELERY_BROKER_URL"] = broker_for_worker(
        os.environ["CELERY_BROKER_URL"], os.environ["PYTEST_XDIST_WORKER"],
        int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")),
    )
