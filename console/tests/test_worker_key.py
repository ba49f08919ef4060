"""A real `celery worker` started with a FIELD_ENCRYPTION_KEY that cannot read the stored secrets
exits non-zero at start with the web process's message, and consumes no task."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from conftest import subprocess_database_url
from connections import crypto, services
from connections.models import Connection, ConnectionTest

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_with_a_wrong_key_exits_non_zero_and_consumes_nothing(settings):
    crypto.verify_encryption_key()  # the sentinel, written with the key in use
    connection = Connection(name="crm", connector_type="DemoCRM",
                            properties={"instanceUrl": "http://127.0.0.1:9/", "clientId": "sluice"})
    connection.credentials = {"clientSecret": "s3cret-value", "accessToken": "t0ken-value"}
    connection.save()
    test = services.start_connection_test(connection)  # queued on the broker at commit
    env = os.environ | {
        "DATABASE_URL": subprocess_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),  # not the key the rows were written with
    }
    started = time.monotonic()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "console", "worker", "--pool", "solo", "--loglevel", "INFO",
         "--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=Path(settings.BASE_DIR), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        # A generous deadline for a loaded machine; it exits as soon as Django is set up.
        out, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    elapsed = time.monotonic() - started
    assert worker.returncode != 0, (out, err)
    assert "Stored credentials cannot be decrypted with FIELD_ENCRYPTION_KEY" in err
    assert "restore the previous key" in err
    assert "s3cret-value" not in out + err and "t0ken-value" not in out + err
    assert elapsed < 60
    assert ConnectionTest.objects.get(pk=test.pk).status == ConnectionTest.Status.QUEUED
