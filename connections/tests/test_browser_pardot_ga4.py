"""In Chromium: the catalog shows Salesforce Pardot and Google Analytics 4 with their authentication
and fastest schedule, and their connection forms ask for what AppFlow's dialogs ask (the Business
Unit ID and the sandbox switch; the OAuth client of Google) with the secret as a password field.
Screenshots land in $SLUICE_SCREENSHOTS when set."""

from __future__ import annotations

import pytest

from connections.tests.test_browser import shot
from flows.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_catalog_and_the_forms_of_pardot_and_ga4(page, owner):
    from playwright.sync_api import expect

    log_in(page)
    page.get_by_role("link", name="Connections").first.click()
    pardot = page.locator(".catalog-item", has_text="Salesforce Pardot")
    ga = page.locator(".catalog-item", has_text="Google Analytics 4")
    expect(pardot).to_contain_text("Authentication: OAuth 2.0")
    expect(pardot).to_contain_text("Fastest schedule: every 1 min")
    expect(ga).to_contain_text("Fastest schedule: once a day")
    ga.scroll_into_view_if_needed()
    shot(page, "catalog-pardot-ga4")

    pardot.get_by_role("link", name="Create connection").click()
    expect(page.get_by_label("Pardot Business Unit ID")).to_be_visible()
    expect(page.get_by_label("Sandbox")).to_have_attribute("type", "checkbox")
    expect(page.get_by_label("Client secret")).to_have_attribute("type", "password")
    shot(page, "pardot-form")

    page.go_back()
    page.locator(".catalog-item", has_text="Google Analytics 4").get_by_role("link", name="Create connection").click()
    expect(page.get_by_label("Client ID")).to_be_visible()
    expect(page.get_by_label("Client secret")).to_have_attribute("type", "password")
    shot(page, "ga4-form")
