"""A person in Chromium finds Datadog and Dynatrace in the catalog (auth kind and fastest schedule)
and opens their connection forms: Datadog's two keys as secrets and its six sites, Dynatrace's token
and environment URL. Screenshots land in $SLUICE_SCREENSHOTS when set."""

from __future__ import annotations

import pytest

from connections.tests.test_browser import shot
from flows.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_catalog_lists_datadog_and_dynatrace_with_their_forms(page, demo):
    from playwright.sync_api import expect

    log_in(page)
    page.get_by_role("link", name="Connections").first.click()
    datadog = page.locator(".catalog-item", has_text="Datadog")
    dynatrace = page.locator(".catalog-item", has_text="Dynatrace")
    expect(datadog).to_be_visible()
    expect(dynatrace).to_be_visible()
    shot(page, "catalog-datadog-dynatrace")
    datadog.get_by_role("link", name="Create connection").click()
    expect(page.get_by_label("API key", exact=True)).to_have_attribute("type", "password")
    expect(page.get_by_label("Application key")).to_have_attribute("type", "password")
    options = page.get_by_label("Site").locator("option")
    expect(options).to_have_text(["US1", "US3", "US5", "EU", "AP1", "US1-FED"])
    shot(page, "create-datadog")
    page.go_back()
    page.locator(".catalog-item", has_text="Dynatrace").get_by_role("link", name="Create connection").click()
    expect(page.get_by_label("API token")).to_have_attribute("type", "password")
    expect(page.get_by_label("Environment URL")).to_be_visible()
    shot(page, "create-dynatrace")
