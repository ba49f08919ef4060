"""A person in Chromium writes a Generic REST connection from the Stripe example spec against the
local Stripe-style server: Check spec lists a broken spec's problems by line (reached from the
keyboard), the fixed spec is saved, an edit keeps a second version, and Export spec downloads the
current spec without the key. Screenshots land in $SLUICE_SCREENSHOTS when set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connections.tests import rest_servers
from connections.tests.rest_servers import STRIPE_KEY
from connections.tests.test_browser import shot
from connections.tests.test_genericrest import example
from flows.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_write_check_fix_save_version_and_export_a_spec(page, owner, monkeypatch, tmp_path):
    from playwright.sync_api import expect

    server = rest_servers.serve("stripe", monkeypatch, count=5)
    spec = example("stripe", server.base)
    log_in(page)
    page.goto("/connections/")
    page.locator(".catalog-item", has_text="Generic REST").get_by_role("link", name="Create connection").click()
    page.get_by_label("Connection name").fill("stripe")
    editor = page.get_by_label("Spec (JSON or YAML)")
    editor.fill(spec.replace("path: /v1/customers", "path: v1/customers"))  # line 13: no leading /
    page.get_by_label("API key or token").fill(STRIPE_KEY)
    page.get_by_role("button", name="Check spec").click()

    problems = page.locator(".problems")
    expect(problems).to_contain_text("Problems in the spec")
    expect(problems).to_contain_text("streams[0].path: 'v1/customers' does not match")
    expect(problems).to_contain_text("Nothing was saved.")
    shot(page, "genericrest-check-spec")
    line = problems.get_by_role("button", name="line 13")
    line.focus()
    page.keyboard.press("Enter")  # the keyboard reaches the line in the editor
    expect(editor).to_be_focused()
    assert page.evaluate("(() => { const a = document.getElementById('id_spec');"
                         " return a.value.slice(a.selectionStart, a.selectionEnd); })()") == "    path: v1/customers"

    editor.fill(spec)
    page.get_by_role("button", name="Check spec").click()
    expect(problems).to_contain_text("The spec has no problems")
    page.get_by_label("API key or token").fill(STRIPE_KEY)  # never echoed back: typed again
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.locator(".messages")).to_contain_text("works and was saved")

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Spec (JSON or YAML)").fill(spec.replace("size: 100", "size: 50"))
    page.get_by_role("button", name="Test and save").click()
    versions = page.locator("#spec-versions")
    expect(versions.locator("tbody tr")).to_have_count(2)
    expect(versions).to_contain_text("Download version 1")
    versions.get_by_text("The current spec (34 lines)").click()
    expect(versions.locator("pre")).to_contain_text("size: 50")
    versions.scroll_into_view_if_needed()
    shot(page, "genericrest-versions")

    with page.expect_download() as download:
        versions.get_by_role("link", name="Export spec").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "stripe-spec.yaml"
    text = Path(saved).read_text()
    assert text == spec.replace("size: 100", "size: 50") and STRIPE_KEY not in text
