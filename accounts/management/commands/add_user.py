"""`python manage.py add_user NAME --team TEAM --role Viewer|Operator|Editor|Admin [--password P]`"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role
from accounts.people import add_user
from console.errors import UserError


class Command(BaseCommand):
    help = ("Create a user (or update one) as a member of a team with a role; the team is created "
            "when missing. Idempotent: running it again changes nothing.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")
        parser.add_argument("--team", required=True)
        parser.add_argument("--role", required=True, choices=[r.label for r in Role], type=str.title)
        parser.add_argument("--password", help="set (or reset) the password; without it a new user "
                                               "cannot sign in until one is set in the console")

    def handle(self, *args, name: str, team: str, role: str, password: str | None, **options) -> None:
        try:
            user, created = add_user(name, team, Role.from_name(role), password=password)
        except UserError as exc:
            raise CommandError("; ".join(exc.errors)) from None
        verb = "Created" if created else "Updated"
        self.stdout.write(f'{verb} {user.get_username()}: {role} of the team "{team}".')
