"""A person in Chromium connects Infor Nexus: the catalog entry, the four credentials of AppFlow's
dialog, a wrong secret access key named as a refused signature and never echoed, then a connection
that works. Screenshots land in $SLUICE_SCREENSHOTS when set."""

from __future__ import annotations

import re

import pytest

from connections.tests.infornexus_server import CREDENTIALS, serve
from connections.tests.test_browser import shot
from flows.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_infor_nexus(page, owner, monkeypatch):
    from playwright.sync_api import expect

    fake = serve(monkeypatch)
    log_in(page)
    page.goto("/connections/")
    item = page.locator(".catalog-item", has_text="Infor Nexus")
    expect(item).to_contain_text("Authentication: API key")
    shot(page, "infornexus-catalog")
    item.get_by_role("link", name="Create connection").click()
    page.get_by_label("Connection name").fill("nexus-prod")
    page.get_by_label("Access key ID").fill(CREDENTIALS["accessKeyId"])
    page.get_by_label("User ID").fill(CREDENTIALS["userId"])
    page.get_by_label("Secret access key").fill("not-the-secret")
    page.get_by_label("Data key").fill(CREDENTIALS["datakey"])
    page.get_by_label("Instance", exact=True).fill(fake.base)
    shot(page, "infornexus-create")
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.locator(".problems")).to_contain_text("refused the request signature")
    expect(page.locator("body")).not_to_contain_text("not-the-secret")
    page.get_by_label("Access key ID").fill(CREDENTIALS["accessKeyId"])
    page.get_by_label("User ID").fill(CREDENTIALS["userId"])
    page.get_by_label("Secret access key").fill(CREDENTIALS["secretAccessKey"])
    page.get_by_label("Data key").fill(CREDENTIALS["datakey"])
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("nexus-prod")
    expect(page.locator(".messages")).to_contain_text("works and was saved")
    expect(page.locator("body")).not_to_contain_text(CREDENTIALS["secretAccessKey"])
    shot(page, "infornexus-detail")
