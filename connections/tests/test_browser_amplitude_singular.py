"""A person in Chromium finds Amplitude and Singular in the catalog (auth kind, fastest schedule)
and connects Amplitude: its dialog's fields, wrong keys named as such and never echoed, then a
connection that works. Screenshots land in $SLUICE_SCREENSHOTS when set."""

from __future__ import annotations

import re

import pytest

from connections.tests.amplitude_server import serve
from connections.tests.test_browser import shot
from flows.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_catalog_lists_amplitude_and_singular_and_amplitude_connects(page, owner, monkeypatch):
    from playwright.sync_api import expect

    project = serve(monkeypatch, events_per_hour=0)
    log_in(page)
    page.goto("/connections/")
    amplitude = page.locator(".catalog-item", has_text="Amplitude")
    singular = page.locator(".catalog-item", has_text="Singular")
    expect(amplitude).to_contain_text("Export API")
    expect(amplitude).to_contain_text("Authentication: API key · Fastest schedule: once a day")
    expect(singular).to_contain_text("Reporting API")
    expect(singular).to_contain_text("Authentication: API key · Fastest schedule: every 60 min")
    shot(page, "catalog-amplitude-singular")
    amplitude.get_by_role("link", name="Create connection").click()
    page.get_by_label("Connection name").fill("amplitude-eu")
    page.get_by_label("API key", exact=True).fill(project.api_key)
    page.get_by_label("Secret key").fill("wrong-secret")
    page.get_by_label("Data residency").select_option("EU")
    page.get_by_label(re.compile("API address")).fill(project.base)
    shot(page, "amplitude-create")
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.locator(".problems")).to_contain_text("refused the API key and secret key")
    expect(page.locator(".problems")).not_to_contain_text("wrong-secret")
    expect(page.get_by_label("Secret key")).to_have_value("")
    page.get_by_label("API key", exact=True).fill(project.api_key)
    page.get_by_label("Secret key").fill(project.secret_key)
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("amplitude-eu")
    expect(page.locator(".messages")).to_contain_text("works and was saved")
    expect(page.locator("body")).not_to_contain_text(project.secret_key)
    shot(page, "amplitude-detail")
