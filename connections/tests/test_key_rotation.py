"""Every encrypted field of every model is the strict, fail-closed kind, and key rotation finds
them all by introspection: webhook signing keys and notification keys survive a rotation, and a
wrong key never makes the stored ciphertext the signing key."""

from __future__ import annotations

import io
import time

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.db import connection as db
from django.urls import reverse
from encrypted_model_fields.fields import EncryptedMixin

from connections import crypto
from connections.checks import strict_encrypted_fields_check
from flows import events
from flows.models import EventEndpoint, Execution, NotificationChannel
from flows.tests.test_events import event_flow, post  # noqa: F401 (event_flow is a fixture)

pytestmark = pytest.mark.django_db


def every_encrypted_model_field() -> set[str]:
    """By class, not by the rotation's own list: any field of an encryption field class."""
    found = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            kinds = [cls.__name__ for cls in type(field).__mro__]
            if any("Encrypted" in kind for kind in kinds) or isinstance(field, EncryptedMixin):
                found.add(f"{model._meta.label}.{field.name}")
    return found


def rotated_fields() -> set[str]:
    return {f"{model._meta.label}.{f.name}" for model, fields in crypto.encrypted_fields() for f in fields}


def raw(model, pk, column: str) -> str:
    with db.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_rotation_covers_every_encrypted_field_of_every_model():
    found = every_encrypted_model_field()
    assert {"flows.EventEndpoint.secret", "flows.NotificationChannel.secret",
            "connections.Connection.credentials_encrypted"} <= found
    assert found == rotated_fields()


def test_no_model_uses_the_lenient_library_field():
    assert crypto.lenient_encrypted_fields() == []
    assert strict_encrypted_fields_check() == []


@pytest.fixture
def secrets_everywhere(event_flow):  # noqa: F811
    flow, signing_key = event_flow
    channel = NotificationChannel.objects.create(name="ops", kind="webhook", target="http://127.0.0.1:9/",
                                                 secret="notify-key-1234")
    return flow, signing_key, channel


def test_webhook_and_notification_keys_survive_a_rotation(client, secrets_everywhere, settings):
    flow, signing_key, channel = secrets_everywhere
    old = settings.FIELD_ENCRYPTION_KEY[0]
    crypto.verify_encryption_key()
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = [new, old]
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "1 event endpoint" in out.getvalue() and "1 notification channel" in out.getvalue()
    settings.FIELD_ENCRYPTION_KEY = [new]  # the old key is gone
    endpoint = EventEndpoint.objects.get(flow=flow)
    Fernet(new).decrypt(raw(EventEndpoint, endpoint.pk, "secret").encode())
    Fernet(new).decrypt(raw(NotificationChannel, channel.pk, "secret").encode())
    assert endpoint.secret == signing_key
    assert NotificationChannel.objects.get(pk=channel.pk).secret == "notify-key-1234"
    assert post(client, flow, b'{"file": "a.csv"}', signing_key).status_code == 202


def test_a_key_that_cannot_decrypt_fails_closed_never_the_ciphertext(client, secrets_everywhere, settings):
    flow, signing_key, channel = secrets_everywhere
    endpoint = EventEndpoint.objects.get(flow=flow)
    ciphertext = raw(EventEndpoint, endpoint.pk, "secret")
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]  # rotated away without the command
    with pytest.raises(crypto.EncryptionKeyError):
        EventEndpoint.objects.get(flow=flow)
    with pytest.raises(crypto.EncryptionKeyError):
        NotificationChannel.objects.get(pk=channel.pk)
    client.raise_request_exception = False
    body = b'{"file": "a.csv"}'

    def signed_with(key: str):
        stamp = str(int(time.time()))
        return client.post(reverse("webhook", args=[endpoint.token]), body, content_type="application/json",
                           HTTP_X_SLUICE_TIMESTAMP=stamp, HTTP_X_SLUICE_SIGNATURE=events.sign(key, stamp, body))

    # Before: the library field handed the ciphertext back as the key, so this was accepted (202).
    forged = signed_with(ciphertext)
    assert forged.status_code == 503
    assert ciphertext not in forged.content.decode()
    assert "FIELD_ENCRYPTION_KEY" in forged.content.decode()  # what to fix, not a bare server error
    assert signed_with(signing_key).status_code == 503
    assert not Execution.objects.exists()


def test_rotation_checks_every_field_with_the_new_key_alone(secrets_everywhere, settings):
    """A value written by hand with only the old key is caught before the old key may go."""
    flow, _, _ = secrets_everywhere
    old = settings.FIELD_ENCRYPTION_KEY[0]
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode(), old]
    from django.core.management.base import CommandError

    from connections.management.commands.rotate_encryption_key import Command

    command = Command(stdout=io.StringIO())
    with pytest.raises(CommandError, match=r"event endpoint #\d+ \(secret\) still needs the old key"):
        command.check_new_key_alone(settings.FIELD_ENCRYPTION_KEY[0])
