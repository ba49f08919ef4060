"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEY.

Rotation, step by step:
  1. `manage.py rotate_encryption_key --generate` prints a new key.
  2. Set FIELD_ENCRYPTION_KEY=<new>,<old> everywhere (web and workers) and restart.
  3. `manage.py rotate_encryption_key` re-encrypts every encrypted field of every model with <new>
     and checks it.
  4. Set FIELD_ENCRYPTION_KEY=<new> and restart: the old key can go.

The fields are found by introspection over all installed models (connections.crypto
.encrypted_fields), so a model that adds an encrypted field is rotated without a change here.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import connection as db
from django.db import transaction

import audit
from connections.crypto import SENTINEL_PLAINTEXT, EncryptionKeyError, configured_keys, encrypted_fields
from connections.models import EncryptionSentinel


class Command(BaseCommand):
    help = "Re-encrypt every stored secret (every encrypted field of every model) with the first key."

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
        counts: list[str] = []
        for model, fields in encrypted_fields():
            label = str(model._meta.verbose_name_plural)
            count = self.reencrypt(model, [f.attname for f in fields], label)
            if count:
                counts.append(f"{count} {model._meta.verbose_name if count == 1 else label}")
        try:
            EncryptionSentinel.objects.update_or_create(pk=1, defaults={"value": SENTINEL_PLAINTEXT})
        except EncryptionKeyError as exc:
            raise CommandError(str(exc)) from None
        self.check_new_key_alone(keys[0])
        with audit.acting_as(audit.cli_user(), via="cli"):
            audit.record("settings.rotate_encryption_key", object_type="settings",
                         name="FIELD_ENCRYPTION_KEY",
                         changes={"re-encrypted": ", ".join(counts) or "nothing", "keys": len(keys)})
        self.stdout.write(self.style.SUCCESS(
            f"Re-encrypted {', '.join(counts) or 'nothing'} with the first key. "
            "You can now remove the old key from FIELD_ENCRYPTION_KEY."
        ))

    def reencrypt(self, model, attnames: list[str], label: str) -> int:
        """Read each row (decrypting with every configured key) and write its encrypted values back
        (encrypting with the first). An update of those columns only: no save() side effects. The
        base manager: a default manager that hides rows must not keep them on the old key."""
        count = 0
        for pk in model._base_manager.order_by("pk").values_list("pk", flat=True).iterator():
            try:
                with transaction.atomic():
                    # Locked: a token refresh in a worker must not be overwritten by the old value.
                    rows = model._base_manager.select_for_update().only("pk", *attnames)
                    row = rows.filter(pk=pk).first()
                    if row is None:
                        continue  # deleted meanwhile
                    model._base_manager.filter(pk=pk).update(**{a: getattr(row, a) for a in attnames})
            except EncryptionKeyError as exc:
                raise CommandError(
                    f"{exc} Stopped at {model._meta.verbose_name} #{pk}: {count} {label} were "
                    "re-encrypted before it; run the command again once the keys are right."
                ) from None
            count += 1
        return count

    def check_new_key_alone(self, key: str) -> None:
        """Prove every stored value decrypts with the new key by itself before saying the old can go."""
        fernet = Fernet(key)
        quote = db.ops.quote_name
        for model, fields in encrypted_fields():
            columns = ", ".join(quote(f.column) for f in fields)
            # Raw values: the model field would decrypt them with every configured key.
            with db.cursor() as cursor:
                cursor.execute(f"SELECT {quote(model._meta.pk.column)}, {columns} "  # noqa: S608
                               f"FROM {quote(model._meta.db_table)}")
                for pk, *tokens in cursor.fetchall():
                    for field, token in zip(fields, tokens, strict=True):
                        if not token:
                            continue
                        try:
                            fernet.decrypt(token.encode())
                        except InvalidToken:
                            raise CommandError(
                                f"{model._meta.verbose_name} #{pk} ({field.name}) still needs the old key."
                            ) from None
