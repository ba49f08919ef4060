"""Credentials at rest: a Fernet-encrypted text field that fails closed, and the key check.

django-encrypted-model-fields hands the stored ciphertext back *as if it were the value* when the
key is wrong (it swallows InvalidToken). A connector would then send ciphertext as a password and
an error page might show it. This field raises instead, and a sentinel row written with the key in
use lets startup refuse a wrong key before any connection is read.

FIELD_ENCRYPTION_KEY may list several keys, comma-separated: the first encrypts, all decrypt. That
is how a key is rotated (see the rotate_encryption_key command).
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

SENTINEL_PLAINTEXT = "sluice-encryption-key-check"


class EncryptionKeyError(ImproperlyConfigured):
    """Stored secrets cannot be decrypted with the configured FIELD_ENCRYPTION_KEY."""


def configured_keys() -> list[str]:
    raw = getattr(settings, "FIELD_ENCRYPTION_KEY", None) or ""
    keys = list(raw) if isinstance(raw, (list, tuple)) else [k.strip() for k in str(raw).split(",")]
    keys = [k for k in keys if k]
    if not keys:
        raise EncryptionKeyError(
            "FIELD_ENCRYPTION_KEY is not set: stored connection credentials cannot be read or written."
        )
    return keys


@cache
def _crypter(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError):
        raise EncryptionKeyError(
            "FIELD_ENCRYPTION_KEY is not a valid key (32 url-safe base64-encoded bytes each)."
        ) from None


def crypter() -> MultiFernet:
    return _crypter(tuple(configured_keys()))


def encrypt(plaintext: str) -> str:
    return crypter().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return crypter().decrypt(token.encode()).decode()
    except InvalidToken:
        # Never the ciphertext, never the key: only what to do.
        raise EncryptionKeyError(
            "Stored credentials cannot be decrypted with FIELD_ENCRYPTION_KEY. It is not the key they "
            "were encrypted with: restore the previous key (list it after the new one while rotating)."
        ) from None


class StrictEncryptedTextField(models.TextField):
    """Text encrypted with FIELD_ENCRYPTION_KEY; a value that does not decrypt is an error."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_db_prep_save(self, value, connection):
        value = super().get_db_prep_save(value, connection)
        if value in (None, ""):
            return value
        return encrypt(str(value))


def encrypted_fields() -> list[tuple[type[models.Model], list[StrictEncryptedTextField]]]:
    """Every strict encrypted field of every installed model, grouped by model: what key rotation
    re-encrypts. Found by introspection so a new encrypted field cannot be forgotten."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue  # the concrete model's table is rotated once
        fields = [f for f in model._meta.concrete_fields if isinstance(f, StrictEncryptedTextField)]
        if fields:
            found.append((model, fields))
    return found


def lenient_encrypted_fields() -> list[str]:
    """Model fields of django-encrypted-model-fields' own classes ("app.Model.field"): they return
    the ciphertext when decryption fails, so none may be used (a system check says so)."""
    from django.apps import apps
    from encrypted_model_fields.fields import EncryptedMixin

    return [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, EncryptedMixin)
    ]


def verify_encryption_key() -> None:
    """Startup check: the sentinel written with the first key must decrypt with the keys now set.
    Writes the sentinel on first start. Does nothing before migrations created its table."""
    from django.db import DatabaseError

    from connections.models import EncryptionSentinel

    try:
        row = EncryptionSentinel.objects.filter(pk=1).first()
    except EncryptionKeyError:
        raise
    except DatabaseError:
        return  # not migrated yet: migrate runs first, the next start checks
    if row is None:
        EncryptionSentinel.objects.get_or_create(pk=1, defaults={"value": SENTINEL_PLAINTEXT})
        return
    if row.value != SENTINEL_PLAINTEXT:
        raise EncryptionKeyError("The encryption key check row holds an unexpected value.")
