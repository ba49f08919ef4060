"""A person in Chromium connects Marketo: the catalog entry (auth kind, hourly schedule), the
dialog's fields, a wrong client secret named as such, then a connection that works. Screenshots
land in $SLUICE_SCREENSHOTS when set."""

from __future__ import annotations

import re

import pytest

from connections.tests.marketo_server import CLIENT_ID, CLIENT_SECRET, serve
from connections.tests.test_browser import shot
from flows.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_marketo(page, owner, monkeypatch):
    from playwright.sync_api import expect

    market = serve(monkeypatch)
    log_in(page)
    page.goto("/connections/")
    item = page.locator(".catalog-item", has_text="Marketo")
    expect(item).to_contain_text("OAuth 2.0 client credentials")
    expect(item).to_contain_text("Bulk Extract API")
    shot(page, "marketo-catalog")
    item.get_by_role("link", name="Create connection").click()
    page.get_by_label("Connection name").fill("marketo-prod")
    page.get_by_label("Client ID").fill(CLIENT_ID)
    page.get_by_label("Client secret").fill("not-the-secret")
    page.get_by_label("Account/Munchkin ID").fill(market.base)
    page.get_by_label("Read records since").fill("2024-01-01")
    shot(page, "marketo-create")
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.locator(".problems")).to_contain_text("Check clientId and clientSecret")
    expect(page.locator(".problems")).not_to_contain_text("not-the-secret")
    page.get_by_label("Client ID").fill(CLIENT_ID)
    page.get_by_label("Client secret").fill(CLIENT_SECRET)
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("marketo-prod")
    expect(page.locator(".messages")).to_contain_text("works and was saved")
    expect(page.locator("body")).not_to_contain_text(CLIENT_SECRET)
    shot(page, "marketo-detail")
