"""A narrow window (420 px wide) in Chromium: no page scrolls sideways (wide tables scroll inside
their card), the catalog cards stack and the menu folds behind its button. With $SLUICE_SHOTS set,
a full-page screenshot of each page goes there to look at (off by default: they cost seconds)."""

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

SHOTS = Path(os.environ["SLUICE_SHOTS"]) if os.environ.get("SLUICE_SHOTS") else None
WIDTH = 420
STEPS = ("details", "configure", "map", "filters", "review")
# A failure message that is one long word: the worst case for a table cell.
LONG_REASON = "Destination refused the file: s3://bucket/" + "a-very-long-object-key-" * 12 + ".jsonl"


def test_no_page_is_wider_than_a_narrow_window(page, demo, owner):  # noqa: F811
    from playwright.sync_api import expect

    page.set_viewport_size({"width": WIDTH, "height": 900})
    log_in(page)
    flow = demo["flow"]
    execution = make_execution(flow, status="Error", error_message=LONG_REASON + "\nsecond line")
    make_execution(flow, minutes_ago=1, status="Error", error_message=LONG_REASON)
    skip = {reverse("flows:download", args=[flow.name])}  # a file download, not a page
    urls = [url for url in every_page(flow, execution, demo["connection"]) if url not in skip]
    urls += [reverse("notifications"), reverse("access-keys"), reverse("api-reference"),
             reverse("connections:list") + "?q=sales"]
    client = Client()
    client.force_login(owner)
    draft = walk_to_review(client, demo, name="narrow-walk")
    urls += [step_url(draft, slug) for slug in STEPS]

    too_wide = []
    for url in urls:
        response = page.goto(url)
        assert response.status == 200, url
        page.wait_for_load_state("load")
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1]:
            too_wide.append(f"{url}: {width[0]} px in a {width[1]} px window")
        if SHOTS:
            SHOTS.mkdir(parents=True, exist_ok=True)
            name = url.strip("/").replace("/", "_").replace("?", "_") or "home"
            page.screenshot(path=str(SHOTS / f"narrow-{name[:80]}.png"), full_page=True)
    assert too_wide == []

    # The catalog cards stack: each card's button sits below its text, inside the window.
    page.goto(reverse("connections:list"))
    item = page.locator(".catalog-item").first
    button = item.get_by_role("link", name="Create connection").bounding_box()
    body = item.locator(".catalog-body").bounding_box()
    assert button["y"] >= body["y"] + body["height"] - 1
    assert button["x"] + button["width"] <= WIDTH

    # The menu folds behind its button and opens on a press.
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("link", name="Access keys")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.get_by_role("link", name="Access keys").click()
    page.wait_for_url("**" + reverse("access-keys"))

    # A wide window shows the menu as before, without the button.
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("link", name="Access keys")).to_be_visible()
