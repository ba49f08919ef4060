"""Who is acting, for the audit log: the logged-in user of a console request, from the client
address (audit/address.py). Goes after AuthenticationMiddleware."""

from __future__ import annotations

from collections.abc import Callable

from audit import acting_as
from audit.address import client_address


class ActorMiddleware:
    def __init__(self, get_response: Callable):
        self.get_response = get_response

    def __call__(self, request):
        # request.user stays lazy: pages that record nothing never load it for this.
        with acting_as(getattr(request, "user", None), via="console", address=client_address(request)):
            return self.get_response(request)
