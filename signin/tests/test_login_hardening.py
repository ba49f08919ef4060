"""Login lockout with back-off, and "Log out everywhere"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from console.tests.pages import PASSWORD
from signin import lockout
from signin.models import LoginThrottle
from signin.sessions import sessions_of

pytestmark = pytest.mark.django_db


def log_in(client, password: str, username: str = "owner", address: str = "192.0.2.10"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, owner, settings):
    settings.SLUICE_LOGIN_MAX_FAILURES = 3
    settings.SLUICE_LOGIN_LOCKOUT_SECONDS = 60
    for _ in range(3):
        assert "Please enter a correct username and password" in log_in(client, "nope").content.decode()
    page = log_in(client, PASSWORD).content.decode()
    assert "Too many failed logins. Try again in 60 seconds" in page
    assert "_auth_user_id" not in client.session
    # Another address is locked too (the username is), and the wait doubles with each failure.
    assert "Too many failed logins" in log_in(client, PASSWORD, address="198.51.100.1").content.decode()
    LoginThrottle.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    log_in(client, "still-wrong")
    assert 115 <= lockout.locked_for("owner", None) <= 120


def test_the_lock_ends_and_a_success_clears_the_count(client, owner, settings):
    settings.SLUICE_LOGIN_MAX_FAILURES = 2
    log_in(client, "nope")
    log_in(client, "nope")
    LoginThrottle.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert log_in(client, PASSWORD).status_code == 302
    assert not LoginThrottle.objects.filter(key="user:owner").exists()


def test_one_address_trying_many_names_is_locked(client, settings):
    settings.SLUICE_LOGIN_MAX_FAILURES = 1  # an address gets four times as many
    for i in range(4):
        log_in(client, "guess", username=f"user{i}")
    assert "Too many failed logins" in log_in(client, "guess", username="fresh").content.decode()
    assert (
        "Too many failed logins"
        not in log_in(client, "guess", username="fresh", address="192.0.2.99").content.decode()
    )


def test_log_out_everywhere_ends_every_session_of_the_user_only(owner, admin_user_):
    laptop, phone, other = Client(), Client(), Client()
    for browser in (laptop, phone):
        browser.force_login(owner)
    other.force_login(admin_user_)
    page = laptop.get(reverse("signin:sessions")).content.decode()
    assert "You have <strong>2</strong> active sessions" in page
    response = laptop.post(reverse("signin:logout-everywhere"), follow=True)
    assert "Logged out everywhere: 2 sessions ended, this one included." in response.content.decode()
    assert phone.get(reverse("home")).status_code == 302  # to the login page
    assert other.get(reverse("home")).status_code == 200
    assert sessions_of(owner) == [] and len(sessions_of(admin_user_)) == 1
