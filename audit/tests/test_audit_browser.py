"""A person in Chromium: an administrator filters the audit log and exports what they see.
SLUICE_SCREENSHOTS=<folder> keeps a screenshot of the page."""

from __future__ import annotations

import os
import re

import pytest

import audit
from console.tests.pages import PASSWORD, flow_document
from flows import services
from flows.tests.test_browser import page  # noqa: F401  (the Chromium page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:  # noqa: F811
    if os.environ.get("SLUICE_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SLUICE_SCREENSHOTS"], name), full_page=True)


def test_an_administrator_filters_the_audit_log_and_exports_it(page, demo, admin_user_, owner, settings):  # noqa: F811
    from playwright.sync_api import expect

    settings.SLUICE_OIDC_ISSUER = "https://sso.example.com"  # only the button: no sign-in through it here

    with audit.acting_as(owner, via="console", address="203.0.113.9"):
        flow = services.create_flow(flow_document("nightly-accounts"))
        services.update_flow(flow, flow_document("nightly-accounts", description="Accounts, every night"))
        services.start_flow(flow, user=owner)
    page.goto("/login/")
    expect(page.get_by_role("link", name="Sign in with single sign-on")).to_be_visible()
    shot(page, "login-sso.png")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    table = page.locator("table.audit")
    expect(table).to_contain_text("flow.update")
    expect(table).to_contain_text("203.0.113.9")
    page.get_by_label("Action").fill("flow.update")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"action=flow.update"))
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Accounts, every night")
    shot(page, "audit-log.png")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert "flow.update" in text and "flow.run" not in text.split("\n", 1)[1].replace("audit.export", "")
    page.get_by_role("link", name="root").click()  # the profile, which links to one's sessions
    page.get_by_role("link", name="Your sessions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your sessions")
    shot(page, "sessions.png")
    page.get_by_role("button", name="Log out everywhere").click()
    expect(page.locator("#messages")).to_contain_text("Logged out everywhere")
    assert "/login/" in page.url
