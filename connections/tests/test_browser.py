"""A person in Chromium manages connections: catalog, create (a failure, then success), test,
edit, delete. Screenshots land in $SLUICE_SCREENSHOTS when set (for looking at the pages)."""

from __future__ import annotations

import os
import re

import pytest

from flows.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("SLUICE_SCREENSHOTS")


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_create_test_and_delete_a_connection(page, demo, data_dir, celery_worker):
    from playwright.sync_api import expect

    log_in(page)
    page.get_by_role("link", name="Connections").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Manage connections")
    expect(page.locator(".catalog")).to_contain_text("Local files")
    shot(page, "catalog")
    page.locator(".catalog-item", has_text="Local files").get_by_role("link", name="Create connection").click()
    page.get_by_label("Connection name").fill("my files")
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.locator(".field-error").first).to_contain_text("no spaces")
    page.get_by_label("Connection name").fill("my-files")
    root = page.get_by_label(re.compile("root", re.I))
    root.fill(str(data_dir / "does-not-exist"))
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.locator(".problems")).to_contain_text("The connection was not saved")
    shot(page, "create-failed")
    (data_dir / "mine").mkdir()
    page.get_by_label(re.compile("root", re.I)).fill(str(data_dir / "mine"))
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("my-files")
    expect(page.locator(".messages")).to_contain_text("works and was saved")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("The connection works.", timeout=30_000)
    expect(page.locator("#facts")).not_to_contain_text("never")  # last successful test refreshed
    shot(page, "detail")
    page.get_by_role("link", name="Edit").click()
    shot(page, "edit")
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("link", name="Delete").click()
    shot(page, "delete")
    page.get_by_role("button", name="Delete connection").click()
    expect(page.locator(".messages")).to_contain_text('"my-files" was deleted')


def test_delete_a_used_connection_needs_force(page, demo):
    from playwright.sync_api import expect

    log_in(page)
    page.goto("/connections/demo-local-files/delete/")
    page.get_by_role("button", name="Delete connection").click()
    expect(page.locator(".errors")).to_contain_text("is used by the flows")
    shot(page, "delete-refused")
    page.get_by_label(re.compile("Delete anyway")).check()
    page.get_by_role("button", name="Delete connection").click()
    expect(page.locator(".messages")).to_contain_text("suspended: demo-accounts-to-jsonl")
