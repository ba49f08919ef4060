"""Session idle timeout and the Content-Security-Policy header (docs/architecture.md, "Sessions and
Content-Security-Policy"). No Django import at module level: settings reads idle_seconds()."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

# Every page loads its scripts, styles and images from Sluice itself and runs no inline script,
# style attribute or eval (htmx's own indicator style is turned off by the htmx-config meta tag
# in base.html and lives in sluice.css). `data:` images: the empty favicon.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'self'",
    "object-src 'none'",
])

logger = logging.getLogger(__name__)
DEFAULT_IDLE_SECONDS = 8 * 3600
MIN_IDLE_SECONDS = 60
# The session's end moves with the requests, but is written at most this often: a write on every
# request would add a query to every page and to every poll of a running execution.
SLIDE_EVERY_SECONDS = 60
SEEN_KEY = "_sluice_seen"


def idle_seconds(value: str | None) -> int:
    """SLUICE_SESSION_IDLE_SECONDS: how long a session lives without a request (default 8 h)."""
    from django.core.exceptions import ImproperlyConfigured

    if value is None or not value.strip():
        return DEFAULT_IDLE_SECONDS
    text = value.strip()
    if not text.isdigit() or int(text) < MIN_IDLE_SECONDS:
        raise ImproperlyConfigured(
            f'SLUICE_SESSION_IDLE_SECONDS: "{text[:40]}" is not a whole number of seconds of at least '
            f"{MIN_IDLE_SECONDS} (default {DEFAULT_IDLE_SECONDS}, 8 hours).")
    return int(text)


def stamp_login(sender, request, user, **kwargs) -> None:
    """At login (connected in console/apps.py): saved with the login itself, no extra write."""
    request.session[SEEN_KEY] = int(time.time())


class SlidingSessionMiddleware:
    """Sessions end SESSION_COOKIE_AGE (SLUICE_SESSION_IDLE_SECONDS) after the last request, to
    within SLIDE_EVERY_SECONDS: a request after that long saves the session again, which moves its
    end (database row and cookie) forward. Goes after SessionMiddleware."""

    def __init__(self, get_response: Callable):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            now = int(time.time())
            # A session from before this setting has no stamp: stamping it starts its idle clock.
            if now - int(session.get(SEEN_KEY) or 0) >= SLIDE_EVERY_SECONDS:
                session[SEEN_KEY] = now  # modified: SessionMiddleware saves it and renews the cookie
        return response


# Connection pages hold the OAuth "Authorize" form: it posts to Sluice, which redirects to the
# provider's consent page, and browsers apply form-action to that redirect too. The provider's
# address is per connection (an instance URL), so those pages leave form-action out.
OAUTH_FORM_NAMESPACES = {"connections"}


def policy_for(request, policy: str) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.namespace in OAUTH_FORM_NAMESPACES:
        return "; ".join(part for part in policy.split("; ") if not part.startswith("form-action"))
    return policy


class ContentSecurityPolicyMiddleware:
    """Adds the policy to every response that does not set its own."""

    def __init__(self, get_response: Callable):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy",
                                    policy_for(request, settings.SLUICE_CONTENT_SECURITY_POLICY))
        return response


class EncryptionKeyErrorMiddleware:
    """A stored secret that the configured FIELD_ENCRYPTION_KEY cannot decrypt (a key changed
    without `rotate_encryption_key`) answers 503 with what to do, instead of a bare server error.
    The web process refuses such a key at start; this covers a key changed under a running one.
    The message names the setting only: never the ciphertext, never a key."""

    def __init__(self, get_response: Callable):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.http import HttpResponse

        from connections.crypto import EncryptionKeyError

        if not isinstance(exception, EncryptionKeyError):
            return None
        logger.error("%s %s: %s", request.method, request.path, exception)
        return HttpResponse(f"Sluice cannot serve this request: {exception}", status=503,
                            content_type="text/plain; charset=utf-8")
