"""Sessions end after SLUICE_SESSION_IDLE_SECONDS without a request (sliding), and every response
carries the Content-Security-Policy (the browser side: test_csp_browser.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone

from console.security import DEFAULT_IDLE_SECONDS, SEEN_KEY, idle_seconds

pytestmark = pytest.mark.django_db


def the_session() -> Session:
    return Session.objects.get()


def test_every_response_has_the_policy(client, signed_in):
    for url in (reverse("home"), reverse("flows:list"), "/no-such-page/", reverse("flows:import")):
        policy = signed_in.get(url).headers["Content-Security-Policy"]
        for part in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                     "object-src 'none'", "base-uri 'self'", "form-action 'self'"):
            assert part in policy, (url, part)
        assert "unsafe" not in policy
    client.logout()
    assert "Content-Security-Policy" in client.get(reverse("login")).headers


def test_connection_pages_let_the_oauth_form_redirect_to_the_provider(signed_in):
    # The Authorize form posts to Sluice, which redirects to the provider: form-action would block it.
    policy = signed_in.get(reverse("connections:list")).headers["Content-Security-Policy"]
    assert "form-action" not in policy and "script-src 'self'" in policy


def idle_for(seconds: int) -> None:
    """Make the one session look as if its last request was `seconds` ago."""
    session = the_session()
    store = SessionStore(session_key=session.session_key)
    store[SEEN_KEY] -= seconds
    store.save()
    Session.objects.update(expire_date=timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - seconds))


def test_each_request_pushes_the_idle_end_back(signed_in):
    signed_in.get(reverse("home"))
    idle_for(settings.SESSION_COOKIE_AGE - 30)  # 30 s left
    response = signed_in.get(reverse("flows:list"))
    left = (the_session().expire_date - timezone.now()).total_seconds()
    assert settings.SESSION_COOKIE_AGE - 60 < left <= settings.SESSION_COOKIE_AGE
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_COOKIE_AGE


def test_requests_close_together_write_the_session_once(signed_in):
    signed_in.get(reverse("home"))
    before = the_session().expire_date
    signed_in.get(reverse("home"))
    assert the_session().expire_date == before  # within a minute: no write


def test_an_idle_session_has_ended(signed_in):
    signed_in.get(reverse("home"))
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = signed_in.get(reverse("flows:list"))
    assert response.status_code == 302 and reverse("login") in response.url


def test_the_idle_time_reads_the_environment():
    assert idle_seconds(None) == idle_seconds("") == DEFAULT_IDLE_SECONDS == 8 * 3600
    assert idle_seconds(" 900 ") == 900
    for bad in ("8h", "-5", "10", "1e9"):
        with pytest.raises(ImproperlyConfigured, match="SLUICE_SESSION_IDLE_SECONDS"):
            idle_seconds(bad)


def test_the_setting_follows_the_variable():
    code = "import django; django.setup(); from django.conf import settings; print(settings.SESSION_COOKIE_AGE)"
    env = dict(os.environ, SLUICE_SESSION_IDLE_SECONDS="1200", DJANGO_SETTINGS_MODULE="console.settings")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "1200", out.stderr[-2000:]


def test_a_session_from_before_the_idle_timeout_gets_one_too(signed_in):
    signed_in.get(reverse("home"))
    store = SessionStore(session_key=the_session().session_key)
    del store[SEEN_KEY]  # as a session saved before this setting existed
    store.save()
    Session.objects.update(expire_date=timezone.now() + timedelta(days=14))  # Django's default age
    signed_in.get(reverse("home"))
    left = (the_session().expire_date - timezone.now()).total_seconds()
    assert left <= settings.SESSION_COOKIE_AGE
