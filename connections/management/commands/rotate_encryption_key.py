"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEY.

Rotation, step by step:
  1. `manage.py rotate_encryption_key --generate` prints a new key.
  2. Set FIELD_ENCRYPTION_KEY=<new>,<old> everywhere (web and workers) and restart.
  3. `manage.py rotate_encryption_key` re-encrypts every row with <new> and checks it.
  4. Set FIELD_ENCRYPTION_KEY=<new> and restart: the old key can go.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import connection as db
from django.db import transaction

from connections.crypto import SENTINEL_PLAINTEXT, EncryptionKeyError, configured_keys
from connections.models import Connection, EncryptionSentinel


class Command(BaseCommand):
    help = "Re-encrypt stored connection credentials with the first FIELD_ENCRYPTION_KEY."

    def add_arguments(self, parser):
        parser.add_argument("--generate", action="store_true", help="print a new key and do nothing else")

    def handle(self, *args, generate: bool, **options):
        if generate:
            self.stdout.write(Fernet.generate_key().decode())
            return
        keys = configured_keys()
        if len(keys) < 2:
            self.stdout.write(self.style.WARNING(
                "FIELD_ENCRYPTION_KEY holds one key: rows are re-encrypted with it. To rotate, set "
                "FIELD_ENCRYPTION_KEY=<new key>,<old key> first (see --help)."
            ))
        count = 0
        try:
            for pk in Connection.objects.values_list("pk", flat=True).iterator():
                with transaction.atomic():
                    # Locked: a token refresh in a worker must not be overwritten by the old value.
                    connection = Connection.objects.select_for_update().get(pk=pk)
                    connection.save(update_fields=["credentials_encrypted"])
                count += 1
            EncryptionSentinel.objects.update_or_create(pk=1, defaults={"value": SENTINEL_PLAINTEXT})
        except EncryptionKeyError as exc:
            raise CommandError(f"{exc} Nothing after connection #{count} was re-encrypted.") from None
        self.check_new_key_alone(keys[0])
        self.stdout.write(self.style.SUCCESS(
            f"Re-encrypted {count} connection{'s' if count != 1 else ''} with the first key. "
            "You can now remove the old key from FIELD_ENCRYPTION_KEY."
        ))

    def check_new_key_alone(self, key: str) -> None:
        """Prove every stored value decrypts with the new key by itself before saying the old can go."""
        fernet = Fernet(key)
        # Raw values: the model field would decrypt them with every configured key.
        with db.cursor() as cursor:
            cursor.execute("SELECT name, credentials_encrypted FROM connections_connection")
            for name, token in cursor.fetchall():
                if token:
                    try:
                        fernet.decrypt(token.encode())
                    except InvalidToken:
                        raise CommandError(f'The connection "{name}" still needs the old key.') from None
