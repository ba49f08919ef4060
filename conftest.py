"""Test-wide set-up: a private var/ and data/ folder per run, keys, a real Celery worker.

Tests that need a service (PostgreSQL, Redis, Chromium) use it when it is there and skip when it
is not, except with CI=true, where a missing service fails the run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from testenv import RUN_DIR

IN_CI = os.environ.get("CI", "").lower() == "true"


def need(condition: bool, what: str) -> None:
    """Skip when a service is missing, but fail under CI=true."""
    if not condition:
        if IN_CI:
            pytest.fail(f"{what} is required when CI=true")
        pytest.skip(f"{what} is not available here")


def subprocess_database_url() -> str:
    """The test database as a URL, for another process that must see the rows a test made."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(RUN_DIR, ignore_errors=True)


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A fresh allowed base folder for Local files connections."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("SLUICE_LOCAL_FILES_BASE", str(folder))
    return folder


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (solo pool, in a thread of this process) on the configured broker:
    the embedded filesystem broker by default, Redis when CELERY_BROKER_URL says so."""
    from celery.contrib.testing.worker import start_worker
    from celery.worker import state

    from console.celery import app

    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
        yield worker
        # The worker notices a stop request only between two waits for messages (each up to 2 s,
        # and one more after it noticed): two no-op messages end both waits at once, instead of
        # ~4 s of every test that uses a worker.
        state.should_terminate = 0
        for _ in range(2):
            app.send_task("celery.ping")
    app.control.purge()  # what the stopped worker left (Redis: the wake-ups) is no other test's


@pytest.fixture
def owner(django_user_model):
    """An Admin of the default team, where everything made without a team goes (accounts/)."""
    from accounts.models import Membership, Role, Team

    user = django_user_model.objects.create_user("owner", password="correct horse battery staple")
    team, _ = Team.objects.get_or_create(name="default")
    Membership.objects.create(user=user, team=team, role=Role.ADMIN)
    return user


@pytest.fixture
def outside_allowed() -> list[str]:
    """Addresses besides the live server a test's Chromium page may reach (the page fixture of
    flows/tests/test_browser.py refuses any other): a local vendor server whose consent page the
    person visits (SAP's authorization endpoint). Append the server's base URL."""
    return []


@pytest.fixture
def signed_in(client, owner):
    """The test client, logged in as the owner."""
    client.force_login(owner)
    return client


@pytest.fixture
def admin_user_(django_user_model):
    return django_user_model.objects.create_superuser("root", password="correct horse battery staple")


@pytest.fixture
def demo(data_dir, owner):
    """The demo a fresh install gets: accounts.csv, a Local files connection, and the demo flow."""
    from console.demo import seed_demo

    return seed_demo(user=owner, rows=500)


@pytest.fixture(scope="session", autouse=True)
def end_stray_database_sessions(django_db_setup, django_db_blocker):
    """On PostgreSQL, a live-server request thread still answering an htmx poll when its browser
    closed can hold a session to the test database, and then the database cannot be dropped.
    Those requests are over as far as any test is concerned: end their sessions."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def fresh_connector_registrations():
    """Each test's database starts without registrations: the labels a test before it kept for a
    moment (connections/registrations.py) are not this test's."""
    from connections import registrations

    registrations.forget_labels()
    yield
    registrations.forget_labels()
