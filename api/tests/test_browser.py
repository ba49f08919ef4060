"""A person in Chromium creates an access key (the secret is shown once), then reads the API
reference, rendered by the vendored Swagger UI with nothing fetched from outside."""

from __future__ import annotations

import pytest

from flows.tests.test_browser import log_in, page  # noqa: F401  (the page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_a_key_then_read_the_api_reference(page, owner):  # noqa: F811
    from playwright.sync_api import expect

    log_in(page)
    page.get_by_role("link", name="Access keys").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access keys")
    page.get_by_label("Description (optional)").fill("nightly sync")
    page.get_by_role("button", name="Create access key").click()
    secret = page.locator("#new-key-secret").inner_text()
    key_id = page.locator("#new-key-id").inner_text()
    assert key_id.startswith("SLK") and len(secret) >= 40
    page.goto("/access-keys/")
    expect(page.locator(f'tr[data-key="{key_id}"]')).to_contain_text("Active")
    assert secret not in page.content()
    page.locator(f'tr[data-key="{key_id}"]').get_by_role("button", name="Deactivate").click()
    expect(page.locator(f'tr[data-key="{key_id}"]')).to_contain_text("Inactive")

    page.get_by_role("link", name="API", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API reference")
    expect(page.locator("#swagger-ui")).to_contain_text("/create-flow", timeout=30_000)
    expect(page.locator("#swagger-ui")).to_contain_text("/describe-flow-execution-records")
