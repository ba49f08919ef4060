"""What the base layout needs to know about the signed-in user's rights (asked only when used)."""

from __future__ import annotations

from accounts import access


def permissions(request) -> dict:
    user = getattr(request, "user", None)
    return {
        "perms_people": lambda: access.can(user, "manage_people"),
        "perms_create": lambda: access.can(user, "create"),
        "perms_settings": lambda: access.can(user, "manage_settings"),
    }
