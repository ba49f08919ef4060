"""People and teams, for the console's people pages and `manage.py add_user`: one place that
creates users, sets roles and deactivates."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Membership, Role, Team
from console.errors import UserError


@transaction.atomic
def add_user(name: str, team_name: str, role: Role, password: str | None = None) -> tuple[object, bool]:
    """(user, created): the user, in the team (created when missing) with that role. Running it
    again with the same arguments changes nothing; with another role, sets that role."""
    name, team_name = (name or "").strip(), (team_name or "").strip()
    if not name:
        raise UserError("NAME: give the user's name.")
    if not team_name or len(team_name) > 64:
        raise UserError("--team: give a team name of at most 64 characters.")
    users = get_user_model().objects
    user = users.filter(username=name).first()
    created = user is None
    if created:
        user = users.create_user(name)
    if password:
        set_password(user, password)
    elif created:
        user.set_unusable_password()  # signs in once a password is set (console or --password)
        user.save(update_fields=["password"])
    team, _ = Team.objects.get_or_create(name=team_name)
    Membership.objects.update_or_create(user=user, team=team, defaults={"role": role})
    return user, created


def set_password(user, password: str) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise UserError(*(f"password: {m}" for m in exc.messages)) from None
    user.set_password(password)
    user.save(update_fields=["password"])


def set_active(user, active: bool) -> None:
    """A deactivated user's sessions stop at once (Django's backend loads no inactive user) and so
    do their access keys (api/sigv4.py refuses a key of an inactive user)."""
    user.is_active = active
    user.save(update_fields=["is_active"])
