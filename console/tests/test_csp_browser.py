"""Every main page in Chromium under the Content-Security-Policy: nothing is refused (no inline
script, style attribute, eval or outside resource), and htmx still swaps. Screenshots under
$SLUICE_SHOTS (default /tmp/shots-csp) to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from console.tests.pages import every_page, make_execution
from flows.tests.test_browser import log_in, page  # noqa: F401  (the page fixture)
from flows.tests.test_wizard_frame import step_url, walk_to_review

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("SLUICE_SHOTS", "/tmp/shots-csp"))
STEPS = ("details", "configure", "map", "filters", "review")

# Runs before any page script: collects what the browser refused under the policy.
WATCH = """
window.__refused = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__refused.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def watching(page, refused: list[str]):  # noqa: F811
    """A visit(url, shot="") that opens the page and adds what the browser refused to `refused`."""
    page.on("console", lambda m: refused.append(f"{page.url}: {m.text}")
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text else None)
    page.add_init_script(WATCH)

    def visit(url: str, shot: str = "") -> None:
        response = page.goto(url)
        assert response.status == 200, url
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("load")
        refused.extend(f"{url}: {v}" for v in page.evaluate("window.__refused"))
        if shot:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)

    return visit


def test_no_page_breaks_the_content_security_policy(page, demo, owner):  # noqa: F811
    from playwright.sync_api import expect

    refused: list[str] = []
    visit = watching(page, refused)
    visit("/login/")
    log_in(page)
    execution = make_execution(demo["flow"])
    skip = {reverse("flows:download", args=[demo["flow"].name])}  # a file download, not a page
    for url in every_page(demo["flow"], execution, demo["connection"]):
        if url not in skip:
            visit(url, shot={reverse("home"): "home", reverse("flows:detail", args=[demo["flow"].name]): "flow"}
                  .get(url, ""))
    visit(reverse("notifications"))

    client = Client()
    client.force_login(owner)
    draft = walk_to_review(client, demo, name="csp-walk")
    for slug in STEPS:
        visit(step_url(draft, slug), shot="wizard-" + slug if slug == "configure" else "")

    # htmx swaps too: the configure step re-renders on a choice (its indicator styles included).
    visit(step_url(draft, "configure"))
    page.get_by_label("File format").select_option("JSONL")
    expect(page.get_by_label("File format")).to_have_value("JSONL")
    # (a locator, not wait_for_function: Playwright's polling predicate is an eval the policy refuses)
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
    refused.extend(page.evaluate("window.__refused"))
    assert refused == []


def test_the_admin_breaks_no_policy_either(page, demo, admin_user_):  # noqa: F811
    refused: list[str] = []
    visit = watching(page, refused)
    visit("/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    for url in ("/admin/", "/admin/connections/connection/",
                f"/admin/connections/connection/{demo['connection'].pk}/change/", "/admin/flows/flow/",
                f"/admin/flows/flow/{demo['flow'].pk}/change/", "/admin/auth/user/add/",
                "/admin/flows/execution/", "/admin/flows/execution/?status=Error&q=demo"):
        visit(url, shot="admin-connection" if "connection/" in url and "change" in url else "")
    assert refused == []
