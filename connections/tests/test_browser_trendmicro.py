"""A person in Chromium connects Trend Micro: the catalog entry (API key, hourly schedule), a wrong
API secret key named as such and never echoed, then a connection that works. Screenshots land in
$SLUICE_SCREENSHOTS when set."""

from __future__ import annotations

import re

import pytest

from connections.tests.test_browser import shot
from connections.tests.trendmicro_server import KEY, serve
from flows.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_trend_micro(page, owner, monkeypatch):
    from playwright.sync_api import expect

    fake = serve(monkeypatch)
    log_in(page)
    page.goto("/connections/")
    item = page.locator(".catalog-item", has_text="Trend Micro")
    expect(item).to_contain_text("Authentication: API key")
    expect(item).to_contain_text("Fastest schedule: every 60 min")
    shot(page, "trendmicro-catalog")
    item.get_by_role("link", name="Create connection").click()
    page.get_by_label("Connection name").fill("trend-prod")
    page.get_by_label("API secret key").fill("not-the-key")
    page.get_by_label("API address (optional)").fill(fake.base)
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.locator(".problems")).to_contain_text("refused the API secret key")
    expect(page.locator("body")).not_to_contain_text("not-the-key")
    page.get_by_label("API secret key").fill(KEY)
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("trend-prod")
    expect(page.locator(".messages")).to_contain_text("works and was saved")
    expect(page.locator("body")).not_to_contain_text(KEY)
