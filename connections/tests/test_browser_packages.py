"""A staff user in Chromium registers an installed connector package from "Connector packages"
and finds it in the catalog. The sample package is installed with pip into a temporary target, as
test_connector_packages.py does. Screenshots land in $SLUICE_SCREENSHOTS when set."""

from __future__ import annotations

import re

import pytest

from connections.models import ConnectorRegistration
from connections.tests.test_browser import shot
from connections.tests.test_connector_packages import sample  # noqa: F401  (the installed sample package)
from flows.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_register_the_sample_package_and_find_it_in_the_catalog(page, admin_user_, sample):  # noqa: F811
    from playwright.sync_api import expect

    log_in(page, "root")
    page.goto("/connections/")
    page.get_by_role("link", name="Connector packages").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connector packages")
    card = page.locator('[data-package="SampleHelpdesk"]')
    expect(card).to_contain_text("sluice-connector-sample version 1.0.0")
    expect(card).to_contain_text("Source")
    expect(card.locator(".badge")).to_have_text("Not registered")
    shot(page, "packages-installed")

    card.get_by_role("button", name="Register").click()
    expect(page.locator(".messages")).to_contain_text("passed the checks and is registered")
    expect(card.locator(".badge")).to_have_text("Registered at 1.0.0")
    assert ConnectorRegistration.objects.get().registered_by == "root"
    shot(page, "packages-registered")

    card.get_by_role("link", name=re.compile("Unregister")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Unregister the connector SampleHelpdesk?")
    shot(page, "packages-unregister")
    page.get_by_role("link", name="Keep it").click()

    page.locator('[data-package="SampleHelpdesk"]').get_by_role("link", name="Show in the catalog").click()
    item = page.locator('.catalog-item[data-connector="SampleHelpdesk"]')
    expect(item).to_contain_text("Sample Helpdesk")
    expect(item).to_contain_text("Authentication: API key")
    expect(item.get_by_role("link", name="Create connection")).to_be_visible()
    shot(page, "packages-catalog")
    assert ConnectorRegistration.objects.exists()
