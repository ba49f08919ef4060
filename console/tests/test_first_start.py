"""What `./sluice up` prints and keeps: the generated admin password in a box and in
var/initial-admin-password (0600) until its first change; the housekeeping ticks of beat and the
control worker at DEBUG (the process-level check is in test_up.py)."""

from __future__ import annotations

import io
import logging
import stat
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from console.celery import HousekeepingAtDebug
from console.management.commands.up import Command

pytestmark = pytest.mark.django_db


@pytest.fixture
def var_dir(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.delenv("SLUICE_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("SLUICE_ADMIN_USERNAME", raising=False)
    return tmp_path


def start(out: io.StringIO) -> None:
    Command(stdout=out).ensure_admin()


def test_a_generated_password_is_boxed_and_kept_until_changed(var_dir):
    out = io.StringIO()
    start(out)
    text = out.getvalue()
    stored = var_dir / "initial-admin-password"
    password = stored.read_text().strip()
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    box = text.splitlines()[:5]
    assert box[0].startswith("+--") and box[4] == box[0] and len({len(line) for line in box}) == 1
    assert f"| password: {password} " in box[3] and str(stored) in text
    admin = get_user_model().objects.get(username="admin")
    assert admin.check_password(password)

    # A login saves last_login only: the file stays. The next start says where it is.
    client = Client()
    assert client.login(username="admin", password=password)
    assert stored.exists()
    again = io.StringIO()
    start(again)
    assert str(stored) in again.getvalue() and password not in again.getvalue()

    # Another account's password change leaves it; the admin's own first change deletes it.
    other = get_user_model().objects.create_user("someone", password="a first password here")
    other.set_password("a second password here")
    other.save()
    assert stored.exists()
    admin.set_password("the admin's own new password")
    admin.save()
    assert not stored.exists()


def test_a_password_from_the_environment_is_neither_printed_nor_stored(var_dir, monkeypatch):
    monkeypatch.setenv("SLUICE_ADMIN_PASSWORD", "from the environment 123")
    out = io.StringIO()
    start(out)
    assert "from the environment 123" not in out.getvalue()
    assert not (var_dir / "initial-admin-password").exists()


def log_record(logger: str, msg: str, args) -> logging.LogRecord:
    return logging.getLogger(logger).makeRecord(logger, logging.INFO, __file__, 1, msg, args, None)


@pytest.mark.parametrize(("logger", "msg", "args"), [
    ("celery.beat", "Scheduler: Sending due task %s (%s)", ("dispatch-schedules", "flows.tasks.dispatch_schedules")),
    ("celery.worker.strategy", "Task %(name)s[%(id)s] received", {"name": "flows.tasks.dispatch_schedules", "id": "1"}),
    ("celery.app.trace", "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
     {"name": "flows.tasks.mark_lost_executions", "id": "2", "runtime": 0.01, "return_value": "0"}),
])
def test_housekeeping_lines_are_debug(logger, msg, args):
    logging.getLogger(logger).setLevel(logging.INFO)
    try:
        record = log_record(logger, msg, args)
        assert HousekeepingAtDebug().filter(record) is False  # at INFO, not printed
        assert record.levelname == "DEBUG"
        logging.getLogger(logger).setLevel(logging.DEBUG)
        assert HousekeepingAtDebug().filter(log_record(logger, msg, args)) is True  # --loglevel DEBUG shows it
    finally:
        logging.getLogger(logger).setLevel(logging.NOTSET)


def test_a_runs_lines_stay_info():
    record = log_record("celery.worker.strategy", "Task %(name)s[%(id)s] received",
                        {"name": "flows.run_execution", "id": "3"})
    assert HousekeepingAtDebug().filter(record) is True and record.levelname == "INFO"


def test_the_dispatch_tick_speaks_only_when_it_started_something(demo, caplog, django_capture_on_commit_callbacks):
    from flows import tasks
    from flows.tests.test_dispatcher import active_flow

    caplog.set_level(logging.INFO, logger="flows.tasks")
    assert tasks.dispatch_schedules()["started"] == 0
    assert caplog.records == []  # an idle tick: silent
    active_flow(next_run=timezone.now() - timedelta(seconds=30))
    with django_capture_on_commit_callbacks(execute=False):
        assert tasks.dispatch_schedules()["started"] == 1
    assert [r.getMessage() for r in caplog.records] == [
        "Dispatched 1 scheduled run(s); skipped 0 (the previous run was still going)."]
