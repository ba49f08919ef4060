"""Loaded as a pytest plugin (`-p testenv` in pytest.ini) so that it runs before pytest-django
loads the settings: each test run gets its own var/ and data/ folders (database, broker queue,
data) and never touches the developer's, nor another run's."""

from __future__ import annotations

import os
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

