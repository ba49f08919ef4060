"""Secrets stay secret: a canary planted in a connection never shows in a page, a partial, the
admin, a log line or an export; the encrypted field fails closed; the key can be rotated."""

from __future__ import annotations

import io
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as db
from django.urls import reverse

from audit.models import AuditEvent
from connections import crypto, services
from connections.models import Connection, ConnectionTest
from connections.tests.fakes import WRONG
from console.tests.pages import every_page, flow_document, make_execution
from flows import services as flow_services

pytestmark = pytest.mark.django_db
CANARY = "CANARY-7f3e9b1c-secret-value"


def raw_credentials(name: str) -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials_encrypted FROM connections_connection WHERE name = %s", [name])
        return cursor.fetchone()[0]


@pytest.fixture
def canary(client, admin_user_, demo, password_connector, caplog):
    """A connection created through the form with CANARY as its password, used by a flow."""
    caplog.set_level(logging.DEBUG)
    client.force_login(admin_user_)
    data = {"connection_name": "canary", "instanceUrl": "https://crm.example.test",
            "environment": "Sandbox", "username": "ada", "password": CANARY, "connection_mode": "Public"}
    assert client.post(reverse("connections:create", args=["TestPassword"]), data).status_code == 302
    edit = {**data, "password": ""}
    del edit["connection_name"]
    assert client.post(reverse("connections:edit", args=["canary"]), edit).status_code == 302
    assert client.post(reverse("connections:create", args=["TestPassword"]),
                       {**data, "connection_name": "canary-wrong", "password": WRONG}).status_code == 400
    return Connection.objects.get(name="canary")


def test_the_canary_is_stored_encrypted(canary):
    assert CANARY not in raw_credentials("canary")
    assert canary.credentials == {"password": CANARY}


def test_the_canary_never_shows_in_a_page_partial_or_admin_page(client, canary, demo):
    flow = demo["flow"]
    execution = make_execution(flow)
    flow_services.create_flow(flow_document("uses-canary", connection="demo-local-files"))
    test = ConnectionTest.objects.create(connection=canary, status="Failed", message="it failed")
    pages = [
        *every_page(flow, execution, canary),
        reverse("connections:list") + "?connector=TestPassword",
        reverse("connections:create", args=["TestPassword"]) + "?copy=canary",
        reverse("connections:test_status", args=["canary", test.pk]),
        reverse("admin:connections_connection_changelist"),
        reverse("admin:connections_connection_change", args=[canary.pk]),
        reverse("admin:connections_connectionchange_changelist"),
    ]
    raw = raw_credentials("canary")
    for url in pages:
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.get(url, **headers)
            assert response.status_code == 200, url
            body = response.content.decode()
            assert CANARY not in body, url
            assert raw not in body, url
    html = client.post(reverse("connections:test", args=["canary"]), HTTP_HX_REQUEST="true").content.decode()
    assert CANARY not in html


def test_the_canary_never_reaches_a_log_line(canary, caplog, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        test = services.start_connection_test(canary)
    services.run_connection_test(str(test.pk))
    assert caplog.records, "the console logs what it does (audit lines)"
    for record in caplog.records:
        assert CANARY not in record.getMessage()
        assert CANARY not in str(record.args)


def test_the_canary_never_reaches_an_export(canary):
    out = io.StringIO()
    call_command("sluice", "describe-connector-profiles", stdout=out)
    assert "canary" in out.getvalue() and CANARY not in out.getvalue()


def test_the_audit_trail_names_the_secret_but_never_its_value(canary):
    for change in canary.changes.all():
        assert CANARY not in f"{change.fields} {change.detail}"
    assert [c.action for c in canary.changes.order_by("at", "id")] == ["created", "updated"]


def test_the_audit_log_and_its_export_never_hold_the_canary(canary, client):
    """Every audit row (the create, the edit, the refused create with a wrong password, a
    re-typed password) and the CSV export: the password is named, never valued."""
    edit = {"instanceUrl": "https://crm.example.test", "environment": "Production", "username": "ada",
            "password": CANARY + "-2", "connection_mode": "Public"}
    assert client.post(reverse("connections:edit", args=["canary"]), edit).status_code == 302
    rows = AuditEvent.objects.filter(object_type="connection", object_name__startswith="canary").order_by("at", "id")
    assert [(r.action, r.outcome) for r in rows] == [
        ("connection.create", "ok"), ("connection.update", "ok"), ("connection.create", "refused"),
        ("connection.update", "ok")]
    assert rows[0].changes["password"] == "set" and rows[3].changes["password"] == "replaced"
    assert rows[3].changes["environment"] == {"from": "Sandbox", "to": "Production"}
    stored = " ".join(f"{r.changes} {r.message} {r.object_name}" for r in AuditEvent.objects.all())
    assert CANARY not in stored and WRONG not in stored
    export = client.get(reverse("audit:export"))
    body = b"".join(export.streaming_content).decode()
    assert "connection.update" in body and CANARY not in body and WRONG not in body
    page = client.get(reverse("audit:log")).content.decode()
    assert "connection.create" in page and CANARY not in page and WRONG not in page


def test_a_wrong_key_is_an_error_on_read_never_the_ciphertext(canary, settings):
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.EncryptionKeyError) as caught:
        Connection.objects.get(name="canary")
    assert CANARY not in str(caught.value) and raw_credentials("canary") not in str(caught.value)


def test_the_startup_check_refuses_a_wrong_key(db, settings):
    crypto.verify_encryption_key()  # first start writes the sentinel
    crypto.verify_encryption_key()
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.EncryptionKeyError, match="not the key they were encrypted with"):
        crypto.verify_encryption_key()
    from connections.checks import encryption_key_check

    assert [e.id for e in encryption_key_check()] == ["connections.E001"]


def test_a_missing_or_malformed_key_is_an_error(settings):
    settings.FIELD_ENCRYPTION_KEY = []
    with pytest.raises(crypto.EncryptionKeyError, match="not set"):
        crypto.encrypt("x")
    settings.FIELD_ENCRYPTION_KEY = ["not-a-key"]
    with pytest.raises(crypto.EncryptionKeyError, match="not a valid key"):
        crypto.encrypt("x")


def test_rotating_the_key_re_encrypts_every_row(canary, settings):
    old = settings.FIELD_ENCRYPTION_KEY[0]
    crypto.verify_encryption_key()
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = [new, old]
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "Re-encrypted 2 connections" in out.getvalue()  # canary and demo-local-files
    settings.FIELD_ENCRYPTION_KEY = [new]
    assert Connection.objects.get(name="canary").credentials == {"password": CANARY}
    crypto.verify_encryption_key()
    settings.FIELD_ENCRYPTION_KEY = [old]
    with pytest.raises(crypto.EncryptionKeyError):
        crypto.verify_encryption_key()


def test_rotation_without_the_old_key_stops_with_a_clear_error(canary, settings):
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="not the key they were encrypted with"):
        call_command("rotate_encryption_key", stdout=io.StringIO())


def test_a_logged_connection_value_shows_no_secret(canary):
    info = canary.info()
    assert CANARY not in repr(info) and CANARY not in str(info)
    assert "canary" in repr(info)
