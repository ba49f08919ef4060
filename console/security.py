"""Session idle timeout and the Content-Security-Policy header (docs/architecture.md, "Sessions and
Content-Security-Policy"). No Django import at module level: settings reads idle_seconds()."""

from __future__ import annotations

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

DEFAULT_IDLE_SECONDS = 8 * 3600
MIN_IDLE_SECONDS = 60


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
