"""A person in Chromium connects ServiceNow: the dialog's fields, a wrong password named as such,
then a connection that works. Screenshots land in $SLUICE_SCREENSHOTS when set."""

from __future__ import annotations

import re

import pytest

from connections.tests.servicenow_server import serve
from connections.tests.test_browser import shot
from flows.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_servicenow(page, owner, monkeypatch):
    from playwright.sync_api import expect

    instance = serve(monkeypatch, "sluice.integration", "right-password")
    log_in(page)
    page.goto("/connections/")
    item = page.locator(".catalog-item", has_text="ServiceNow")
    expect(item).to_contain_text("every table your user can read")
    item.get_by_role("link", name="Create connection").click()
    page.get_by_label("Connection name").fill("servicenow-prod")
    page.get_by_label("User name").fill("sluice.integration")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_label("Instance").fill(instance.base)
    expect(page.locator("form.form")).to_contain_text("acme.service-now.com")
    shot(page, "servicenow-create")
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.locator(".problems")).to_contain_text("wrong user name or password")
    expect(page.locator(".problems")).not_to_contain_text("wrong-password")
    shot(page, "servicenow-wrong-password")
    # secrets are never sent back to the browser, the user name included (AppFlow keeps it with them)
    expect(page.get_by_label("User name")).to_have_value("")
    page.get_by_label("User name").fill("sluice.integration")
    page.get_by_label("Password").fill("right-password")
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("servicenow-prod")
    expect(page.locator(".messages")).to_contain_text("works and was saved")
    shot(page, "servicenow-detail")
