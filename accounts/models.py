"""Teams, memberships (a user's role in a team) and connection grants ("Manage" on one connection).
What each role may do is decided in one place: accounts/access.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models

DEFAULT_TEAM = "default"


class Role(models.IntegerChoices):
    """Each role can do everything the one before it can (Viewer ⊂ Operator ⊂ Editor ⊂ Admin):
    comparing the numbers is the whole rule."""

    VIEWER = 1, "Viewer"
    OPERATOR = 2, "Operator"
    EDITOR = 3, "Editor"
    ADMIN = 4, "Admin"

    @classmethod
    def from_name(cls, name: str) -> Role:
        for role in cls:
            if role.label.lower() == str(name).strip().lower():
                return role
        raise ValueError(f"{name!r} is not a role: use {', '.join(r.label for r in cls)}.")


class Team(models.Model):
    """Flows and connections belong to one team; its members see them, with their role's rights."""

    name = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def default_team_id() -> int:
    """The team of anything created without one (the demo, rows made before teams existed)."""
    return Team.objects.get_or_create(name=DEFAULT_TEAM)[0].pk


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.PositiveSmallIntegerField(choices=Role.choices, default=Role.VIEWER)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="accounts_one_role_per_team")]

    def __str__(self) -> str:
        return f"{self.user} is {self.get_role_display()} of {self.team}"


class ConnectionGrant(models.Model):
    """"Manage" on one connection: see its settings, change, test, re-authorize and delete it.
    Editors of the team may *use* any of its connections in flows without one; the creator of a
    connection gets one."""

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="connection_grants")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "user"], name="accounts_one_grant")]
