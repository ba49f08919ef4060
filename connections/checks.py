"""Startup checks: refuse to run with an encryption key that cannot read the stored secrets."""

from __future__ import annotations

from django.core import checks


@checks.register(checks.Tags.database)
def encryption_key_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Runs with `manage.py check --database default` and before `migrate`."""
    from connections.crypto import EncryptionKeyError, verify_encryption_key

    try:
        verify_encryption_key()
    except EncryptionKeyError as exc:
        return [checks.Error(str(exc), id="connections.E001")]
    return []


@checks.register(checks.Tags.models)
def strict_encrypted_fields_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Every encrypted field must fail closed (and so be the kind key rotation finds)."""
    from connections.crypto import lenient_encrypted_fields

    return [
        checks.Error(
            f"{name} uses django-encrypted-model-fields' field, which returns the ciphertext when it "
            "cannot decrypt. Use connections.crypto.StrictEncryptedTextField.",
            id="connections.E002",
        )
        for name in lenient_encrypted_fields()
    ]
