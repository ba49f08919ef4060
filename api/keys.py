"""Access keys: created per user with a secret shown once; listed, deactivated, deleted. The
console page and `manage.py access_key` call these."""

from __future__ import annotations

import logging
import secrets

from django.db import transaction

import audit
from api.models import AccessKey
from console.errors import NotFound

MAX_KEYS_PER_USER = 10
log = logging.getLogger("sluice.audit")


def new_secret() -> str:
    return secrets.token_urlsafe(30)  # 40 characters, as long as an AWS secret access key


@audit.audited("access_key.create")
@transaction.atomic
def create_key(user, description: str = "") -> tuple[AccessKey, str]:
    """The new key and its secret: the only time the secret is handed out."""
    from console.errors import QuotaExceeded

    if AccessKey.objects.filter(user=user).count() >= MAX_KEYS_PER_USER:
        raise QuotaExceeded(f"{user.get_username()} has {MAX_KEYS_PER_USER} access keys, the most a user may "
                            "have. Delete one no longer used.")
    secret = new_secret()
    key = AccessKey.objects.create(user=user, secret_encrypted=secret, description=description[:256])
    audit.record("access_key.create", key,
                 changes={"user": user.get_username(), "description": description[:256]})
    log.info("access key %s created for %s", key.access_key_id, user.get_username())
    return key, secret


def get_key(access_key_id: str, user=None) -> AccessKey:
    keys = AccessKey.objects.all() if user is None else AccessKey.objects.filter(user=user)
    key = keys.filter(access_key_id=access_key_id).first()
    if key is None:
        raise NotFound(f"No access key {access_key_id}" + (" of yours." if user is not None else "."))
    return key


@transaction.atomic
def set_active(key: AccessKey, active: bool) -> AccessKey:
    AccessKey.objects.filter(pk=key.pk).update(is_active=active)
    audit.record("access_key.activate" if active else "access_key.deactivate", key,
                 changes={"user": key.user.get_username(), "active": {"from": key.is_active, "to": active}})
    key.is_active = active
    log.info("access key %s %s", key.access_key_id, "activated" if active else "deactivated")
    return key


@transaction.atomic
def delete_key(key: AccessKey) -> None:
    log.info("access key %s deleted", key.access_key_id)
    audit.record("access_key.delete", key, changes={"user": key.user.get_username()})
    key.delete()


def describe(key: AccessKey) -> dict:
    """A key as listed: never its secret."""
    return {
        "accessKeyId": key.access_key_id,
        "userName": key.user.get_username(),
        "status": key.status,
        "description": key.description,
        "createdAt": key.created_at.isoformat(),
        "lastUsedAt": key.last_used_at.isoformat() if key.last_used_at else None,
    }
