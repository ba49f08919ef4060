"""The audit log (docs/audit.md). Services call `audit.record(...)` inside their transaction, and
wear `@audit.audited("flow.update")` so a refused or failed attempt is recorded too.

Who acted comes from a context variable: the request middleware, the API and the CLI set it
(`acting_as`); a worker or the scheduler is "system". Nothing here imports models at import time."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from audit.changes import diff, scrub

logger = logging.getLogger("sluice.audit")

__all__ = ["Actor", "acting_as", "audited", "cli_user", "current_actor", "diff", "record"]


@dataclass(frozen=True)
class Actor:
    user: Any = None  # a user, or a lazy request.user; anonymous counts as none
    access_key_id: str = ""
    via: str = "system"
    address: str | None = None

    def person(self):
        user = self.user
        return user if user is not None and getattr(user, "is_authenticated", False) else None


NOBODY = Actor()  # frozen: shared safely as the default
_actor: ContextVar[Actor | None] = ContextVar("sluice_audit_actor", default=None)


def current_actor() -> Actor:
    return _actor.get() or NOBODY


@contextmanager
def acting_as(user=None, *, via: str, access_key_id: str = "", address: str | None = None) -> Iterator[Actor]:
    token = _actor.set(Actor(user=user, access_key_id=access_key_id, via=via, address=address))
    try:
        yield current_actor()
    finally:
        _actor.reset(token)


def cli_user():
    """Whom a management command acts as when no user is named: the first active administrator."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()


def _describe(obj: Any) -> tuple[str, str, str]:
    """(type, name, id) of a model instance; of a flow document (a dict with flowName) too."""
    if isinstance(obj, Mapping):
        return "flow", str(obj.get("flowName") or ""), ""
    meta = getattr(obj, "_meta", None)
    if meta is None:
        return "", str(obj or ""), ""
    name = getattr(obj, "name", None) or getattr(obj, "access_key_id", None) or str(obj)
    return meta.model_name, str(name), str(obj.pk or "")


def record(
    action: str,
    obj: Any = None,
    *,
    changes: Mapping | None = None,
    outcome: str = "ok",
    message: str = "",
    user=None,
    object_type: str = "",
    name: str = "",
    object_id: str = "",
):
    """Write one audit row, in the caller's transaction. `user` is the service's own `user=`
    argument: used when no actor is set (a service called from a shell or a test)."""
    from audit.models import AuditEvent

    kind, described_name, described_id = _describe(obj) if obj is not None else ("", "", "")
    actor = current_actor()
    person = actor.person() or (user if getattr(user, "is_authenticated", False) else None)
    return AuditEvent.objects.create(
        user=person,
        actor=person.get_username() if person else ("system" if actor.via == "system" else "anonymous"),
        access_key_id=actor.access_key_id,
        via=actor.via,
        address=actor.address,
        action=action,
        object_type=object_type or kind or action.split(".")[0],
        object_name=(name or described_name)[:256],
        object_id=str(object_id or described_id)[:64],
        changes=dict(changes or {}),
        outcome=outcome,
        message=message[:1024],
    )


# Arguments that carry secrets into a service: their values are cut out of a refusal message.
SECRET_ARGUMENTS = ("credentials", "new_secrets", "secret", "password")


def audited(action: str, when: Callable[[dict], bool] | None = None) -> Callable:
    """Around a service function (outside its transaction.atomic): a UserError or PermissionDenied
    is recorded as "refused" with its message, anything else as "failed" with the error's kind only.
    The row is written after the function's own transaction rolled back, so it is kept. `when`
    (given the keyword arguments) limits it to a person's calls, e.g. not the scheduler's."""

    def wrap(function: Callable) -> Callable:
        @functools.wraps(function)
        def inner(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except Exception as exc:
                if when is None or when(kwargs):
                    _record_attempt(action, args, kwargs, exc)
                raise

        return inner

    return wrap


def _record_attempt(action: str, args: tuple, kwargs: dict, exc: Exception) -> None:
    from django.core.exceptions import PermissionDenied
    from django.db import DatabaseError, transaction

    from console.errors import UserError

    if transaction.get_connection().needs_rollback:
        return  # inside a caller's broken transaction: nothing can be written until it rolls back
    if isinstance(exc, UserError | PermissionDenied):
        outcome = "refused"
        message = "; ".join(getattr(exc, "errors", None) or [str(exc) or "Not allowed."])
    else:
        outcome, message = "failed", f"unexpected error ({type(exc).__name__})"
    secrets = []
    for key in SECRET_ARGUMENTS:
        value = kwargs.get(key)
        secrets += list(value.values()) if isinstance(value, Mapping) else [value]
    target = args[0] if args else None
    named = kwargs.get("name") or ""
    try:
        with transaction.atomic():
            record(
                action,
                target if target is not None and not named else None,
                name=str(named),
                outcome=outcome,
                message=scrub(message, secrets),
                user=kwargs.get("user"),
            )
    except DatabaseError:
        logger.exception("could not record the %s attempt %s", outcome, action)
