"""`python manage.py access_key create --user NAME` prints {"accessKeyId", "secretAccessKey"} (the
only time the secret is shown); `list [--user NAME]`, `deactivate ID`, `activate ID`, `delete ID`."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api import keys
from api.models import AccessKey
from console.errors import UserError


class Command(BaseCommand):
    help = "Create, list, deactivate and delete access keys for the AppFlow-compatible API (docs/api.md)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        create = verbs.add_parser("create", help="a new key for a user; prints its secret once")
        create.add_argument("--user", required=True, help="the user name the key acts as")
        create.add_argument("--description", default="")
        listing = verbs.add_parser("list", help="keys (never their secrets)")
        listing.add_argument("--user")
        for verb in ("deactivate", "activate", "delete"):
            verbs.add_parser(verb, help=f"{verb} a key").add_argument("access_key_id")

    def handle(self, *args, verb: str, **options) -> None:
        try:
            if verb == "create":
                user = self.user(options["user"])
                key, secret = keys.create_key(user, options["description"])
                self.stdout.write(json.dumps({"accessKeyId": key.access_key_id, "secretAccessKey": secret}))
            elif verb == "list":
                found = AccessKey.objects.select_related("user")
                if options.get("user"):
                    found = found.filter(user=self.user(options["user"]))
                self.stdout.write(json.dumps({"accessKeys": [keys.describe(k) for k in found]}, indent=4))
            elif verb == "delete":
                keys.delete_key(keys.get_key(options["access_key_id"]))
            else:
                keys.set_active(keys.get_key(options["access_key_id"]), verb == "activate")
        except UserError as exc:
            raise CommandError("; ".join(exc.errors)) from None

    def user(self, name: str):
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            raise CommandError(f'No user "{name}". Create one first (python manage.py createsuperuser).')
        return user
