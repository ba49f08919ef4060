"""Wizard steps 3 and 4 in Chromium: search the source fields, upload a CSV mapping, add a formula,
a mask and a validation, preview through a real worker, add two filters (one with a date picker),
preview again, go on to review. Screenshots of each step land in $SLUICE_SHOTS (default
/tmp/shots-issue-5b/)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.test import Client

from flows.models import FlowDraft
from flows.tests.test_browser import log_in, page  # noqa: F401  (the fixture)
from flows.tests.test_wizard_frame import configure_data, step_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("SLUICE_SHOTS", "/tmp/shots-issue-5b"))
MAPPING = b"Id, account_id\nName, name\nIndustry, industry\nAnnualRevenue|string, revenue\nPhone, phone\nBillingCountry, country\n"


def draft_at_step_3(owner, demo) -> FlowDraft:
    client = Client()
    client.force_login(owner)
    client.post("/flows/new/")
    draft = FlowDraft.objects.get()
    client.post(step_url(draft, "details"), {"name": "browser-mapped", "encryption": "default", "tag_rows": "0"})
    assert client.post(step_url(draft, "configure"), configure_data(demo["connection"].name)).status_code == 302
    return draft


def swapped(browser_page, act) -> None:
    """Do `act`, which makes htmx post and swap the filter list, and wait until the swap is done
    (the next control must be the new one, not the one being replaced)."""
    with browser_page.expect_response(lambda r: r.request.method == "POST"):
        act()
    browser_page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def shot(browser_page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser_page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_map_and_filter_with_preview(page, owner, demo, celery_worker):  # noqa: F811
    from playwright.sync_api import expect

    draft = draft_at_step_3(owner, demo)
    log_in(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(step_url(draft, "map"))
    expect(page.get_by_role("heading", name="Step 3 of 5: Map data fields")).to_be_visible()

    search = page.get_by_label("Search source fields")
    search.fill("bill")
    expect(page.locator("#source-field-list li:not([hidden])")).to_have_count(5)
    # by keyboard alone: search, tick the one field left, map it
    search.fill("numberof")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Map fields directly")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Destination field for NumberOfEmployees")).to_have_value("NumberOfEmployees")

    page.get_by_label("Mapping file (CSV)").set_input_files(
        {"name": "mapping.csv", "mimeType": "text/csv", "buffer": MAPPING})
    page.get_by_role("button", name="Upload and apply").click()
    expect(page.get_by_label("Destination field for AnnualRevenue")).to_have_value("revenue")

    page.get_by_label("Formula", exact=True).select_option("concat")
    page.get_by_label("Field 1", exact=True).select_option("Name")
    page.get_by_label("Field 2", exact=True).select_option("BillingCountry")
    page.get_by_label("Separator (concatenate)").fill(" - ")
    page.get_by_label("Destination field", exact=True).fill("label")
    page.get_by_role("button", name="Add formula").click()
    expect(page.locator("#formulas")).to_contain_text('label = Name + " - " + BillingCountry')

    page.locator("#mod-field").select_option("Phone")
    page.get_by_label("Change").select_option("mask_first")
    page.get_by_label("N (characters)").fill("4")
    page.get_by_label("Mask character").fill("#")
    page.get_by_role("button", name="Add change").click()
    expect(page.locator("#modify")).to_contain_text('Phone: mask the first 4 characters with "#"')

    page.locator("#val-field").select_option("AnnualRevenue")
    page.locator("#val-condition").select_option("null")
    page.get_by_role("button", name="Add validation").click()
    expect(page.locator("#validations")).to_contain_text("When AnnualRevenue is null: Drop the record")

    page.get_by_role("button", name="Preview records").click()
    expect(page.locator("#preview")).to_contain_text("Records: source and result side by side", timeout=60_000)
    expect(page.locator("#preview table.preview-records tbody tr")).to_have_count(20)
    expect(page.locator("#preview table.preview-records thead")).to_contain_text("label")
    shot(page, "step3-map")
    page.set_viewport_size({"width": 420, "height": 900})
    shot(page, "step3-map-narrow")
    # nothing wider than a narrow window but the tables that scroll inside their own box
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("button", name="Next: Add filters").click()
    page.wait_for_url(re.compile(r"/filters/$"))
    expect(page.get_by_text("Criteria within one filter are ORed")).to_be_visible()
    swapped(page, lambda: page.get_by_role("button", name="Add filter").click())
    swapped(page, lambda: page.get_by_label("Field", exact=True).select_option("Industry"))
    swapped(page, lambda: page.get_by_label("Condition").select_option("one_of"))
    page.get_by_label("Value 1").fill("Technology")
    swapped(page, lambda: page.get_by_role("button", name="Add criteria").click())
    page.get_by_label("or Value 2").fill("Finance")

    swapped(page, lambda: page.get_by_role("button", name="Add filter").click())
    second = page.locator("#filter-1")
    swapped(page, lambda: second.get_by_label("Field").select_option("CreatedDate"))
    swapped(page, lambda: second.get_by_label("Compare as").select_option("date"))
    swapped(page, lambda: second.get_by_label("Condition").select_option("between"))
    expect(second.get_by_label("From (inclusive)")).to_have_attribute("type", "date")
    second.get_by_label("From (inclusive)").fill("2015-01-01")
    second.get_by_label("To (inclusive)").fill("2030-12-31")
    # the first filter kept what was typed through the htmx swaps
    expect(page.get_by_label("or Value 2")).to_have_value("Finance")

    page.get_by_role("button", name="Preview again").click()
    expect(page.locator("#preview")).to_contain_text("Filters, in order", timeout=60_000)
    expect(page.locator("#preview table.preview-counts").first).to_contain_text("Industry is one of Technology, Finance")
    shot(page, "step4-filters")

    page.set_viewport_size({"width": 420, "height": 900})
    shot(page, "step4-filters-narrow")
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("button", name="Next: Review and create").click()
    page.wait_for_url(re.compile(r"/review/$"))
    draft.refresh_from_db()
    types = [t["taskType"] for t in draft.data["tasks"]]
    assert types.count("Filter") == 3 and "Merge" in types and "Mask" in types and "Validate" in types
