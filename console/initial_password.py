"""The admin password `./sluice up` generated, kept in var/initial-admin-password (mode 0600) until
it is first changed: a terminal that scrolled away, or a detached `up`, does not lose it, and the
file goes as soon as it stops being the password (any change: the admin's own page, the console,
`manage.py changepassword`)."""

from __future__ import annotations

import os
from pathlib import Path

FILE_NAME = "initial-admin-password"


def path() -> Path:
    from django.conf import settings

    return Path(settings.VAR_DIR) / FILE_NAME


def admin_username() -> str:
    return os.environ.get("SLUICE_ADMIN_USERNAME", "admin")


def remember(password: str) -> Path:
    """Write the file readable by its owner only (created 0600: never world-readable, even briefly)."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(f"{password}\n")
    return target


def forget_when_changed(sender, instance, update_fields=None, **kwargs) -> None:
    """post_save of the user model: the first save with a new password deletes the file.

    A login saves only last_login (update_fields says so): nothing to check then. Otherwise the file
    is compared with the user's password hash, only while the file exists (one hash a save)."""
    if update_fields is not None and "password" not in update_fields:
        return
    target = path()
    if not target.exists():
        return
    if instance.get_username() != admin_username():
        return
    if not instance.check_password(target.read_text().strip()):
        target.unlink(missing_ok=True)
