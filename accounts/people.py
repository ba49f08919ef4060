"""People and teams, for the console's people pages, `manage.py add_user` and single sign-on: the
one place that creates users and teams, sets roles, grants Manage on a connection, resets
passwords and deactivates. Each change is recorded in the audit log in its own transaction
(docs/audit.md); a refused attempt is recorded too (`audit.audited`)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

import audit
from accounts import access
from accounts.models import ConnectionGrant, Membership, Role, Team
from console.errors import UserError

MAX_TEAM_NAME = 64


@audit.audited("user.create")
@transaction.atomic
def add_user(name: str, team_name: str, role: Role, password: str | None = None) -> tuple[object, bool]:
    """(user, created): the user, in the team (created when missing) with that role. Running it
    again with the same arguments changes nothing; with another role, sets that role."""
    name, team_name = (name or "").strip(), (team_name or "").strip()
    if not name:
        raise UserError("NAME: give the user's name.")
    check_team_name(team_name, field="--team")
    users = get_user_model().objects
    user = users.filter(username=name).first()
    created = user is None
    if created:
        user = users.create_user(name)
        if not password:
            user.set_unusable_password()  # signs in once a password is set (console or --password)
            user.save(update_fields=["password"])
        audit.record("user.create", user, object_type="user", name=name,
                     changes={"password": "set" if password else "none yet"})
    if password:
        set_password(user, password=password, recorded=not created)
    team, _ = get_or_create_team(team_name)
    set_role(user, team, role)
    return user, created


def check_team_name(name: str, field: str = "name") -> None:
    if not name or len(name) > MAX_TEAM_NAME:
        raise UserError(f"{field}: give a team name of at most {MAX_TEAM_NAME} characters.")


@transaction.atomic
def get_or_create_team(name: str, *, note: str = "") -> tuple[Team, bool]:
    team, created = Team.objects.get_or_create(name=name)
    if created:
        audit.record("team.create", team, message=note)
    return team, created


@audit.audited("team.create")
@transaction.atomic
def create_team(name: str) -> Team:
    name = (name or "").strip()
    check_team_name(name)
    if Team.objects.filter(name=name).exists():
        raise UserError(f'name: a team named "{name}" exists.')
    return get_or_create_team(name)[0]


@audit.audited("user.role_set")
@transaction.atomic
def set_role(user, team: Team, role: Role, *, note: str = "") -> bool:
    """Make `user` `role` of `team`; False when they were already (nothing recorded)."""
    membership = Membership.objects.select_for_update().filter(user=user, team=team).first()
    before = Role(membership.role).label if membership else None
    if membership is not None and membership.role == role:
        return False
    Membership.objects.update_or_create(user=user, team=team, defaults={"role": role})
    access.forget_roles(user)
    audit.record("user.role_set", user, object_type="user", name=user.get_username(), message=note,
                 changes={"team": team.name, "role": {"from": before, "to": Role(role).label}})
    return True


@audit.audited("user.role_removed")
@transaction.atomic
def remove_role(user, team: Team) -> bool:
    membership = Membership.objects.filter(user=user, team=team).first()
    if membership is None:
        return False
    membership.delete()
    access.forget_roles(user)
    audit.record("user.role_removed", user, object_type="user", name=user.get_username(),
                 changes={"team": team.name, "role": {"from": Role(membership.role).label, "to": None}})
    return True


@audit.audited("user.password_reset")
@transaction.atomic
def set_password(user, *, password: str, recorded: bool = True) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise UserError(*(f"password: {m}" for m in exc.messages)) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    if recorded:
        audit.record("user.password_reset", user, object_type="user", name=user.get_username(),
                     changes={"password": "replaced"})


@audit.audited("user.deactivate")
@transaction.atomic
def set_active(user, active: bool) -> int:
    """Deactivating ends the user's sessions at once (their rows are deleted, and Django's backend
    would load no inactive user anyway) and stops their access keys (api/sigv4.py refuses a key
    of an inactive user). How many sessions were ended."""
    from signin.sessions import end_sessions

    if user.is_active == active:
        return 0
    user.is_active = active
    user.save(update_fields=["is_active"])
    ended = 0 if active else end_sessions(user)
    changes = {"active": {"from": not active, "to": active}}
    if not active:
        changes["sessions ended"] = ended
    audit.record("user.activate" if active else "user.deactivate", user, object_type="user",
                 name=user.get_username(), changes=changes)
    return ended


@audit.audited("connection.grant")
@transaction.atomic
def grant_manage(connection, user, *, note: str = "", by=None) -> bool:
    """Give `user` Manage on `connection` (see and change its settings). Only an Editor or Admin
    of its team can use one, so anyone else is refused with what to do first. `by`: who gives it,
    when no actor is set (a service called from a shell, like audit.record's `user`)."""
    if not user.is_superuser and access.roles_of(user).get(connection.team_id, 0) < Role.EDITOR:
        raise UserError(f"connection: {user.get_username()} is not an Editor of the team "
                        f"{connection.team.name}; give them that role first.")
    _, created = ConnectionGrant.objects.get_or_create(connection=connection, user=user)
    if created:
        audit.record("connection.grant", connection, message=note, user=by,
                     changes={"manage": {"from": None, "to": user.get_username()}})
    return created


@audit.audited("connection.revoke")
@transaction.atomic
def revoke_manage(connection, user) -> bool:
    deleted, _ = ConnectionGrant.objects.filter(connection=connection, user=user).delete()
    if deleted:
        audit.record("connection.revoke", connection,
                     changes={"manage": {"from": user.get_username(), "to": None}})
    return bool(deleted)


@transaction.atomic
def apply_sso_teams(user, teams: list[tuple[str, str]]) -> None:
    """At each single sign-on, the claim mapping's [(team, role)] (signin/mapping.py): each team
    named is created when missing (the mapping is the administrator's configuration: it names the
    teams it means) and the user gets exactly that role in it, even if someone set another since.
    Teams the mapping does not name are left alone, so roles given in the console stay."""
    note = "from the single sign-on team mapping"
    for team_name, role_name in teams:
        team_name = team_name.strip()[:MAX_TEAM_NAME]
        if team_name:
            team, _ = get_or_create_team(team_name, note=note)
            set_role(user, team, Role.from_name(role_name), note=note)
