"""A person in Chromium walks the wizard's steps 1, 2 and 5 (3 and 4 with their defaults): inline
validation as they type, the dependent selects, review, create. Screenshots of each step are
saved under $SLUICE_SHOTS (default /tmp/shots-issue-5) to look at."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from flows.models import Flow
from flows.tests.test_browser import log_in, page  # noqa: F401  (the page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("SLUICE_SHOTS", "/tmp/shots-issue-5"))


def shot(page, name: str) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_create_a_flow_in_the_wizard(page, demo):  # noqa: F811
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page)
    page.get_by_role("button", name="Create flow").click()
    page.wait_for_url(re.compile(r"/details/$"))
    expect(page.get_by_role("heading", level=2)).to_contain_text("Flow details")

    # Inline validation: an error appears next to the name while typing, and goes when fixed.
    name = page.get_by_label("Flow name")
    name.fill("bad name!")
    expect(page.locator("#error-name")).to_contain_text("must be 2 to 256 characters")
    name.fill(demo["flow"].name)
    expect(page.locator("#error-name")).to_contain_text("already exists")
    name.fill("wizard-browser")
    expect(page.locator("#error-name")).to_be_empty()
    page.get_by_label("Tag 1 key").fill("sluice:owner")
    expect(page.locator("#error-tag-0")).to_contain_text("reserved")
    page.get_by_label("Tag 1 key").fill("team")
    page.get_by_label("Tag 1 value").fill("data & more")
    expect(page.locator("#error-tag-0")).to_contain_text("Value")
    page.get_by_label("Tag 1 value").fill("data")
    expect(page.locator("#error-tag-0")).to_be_empty()
    page.get_by_label("Description").fill("Accounts to CSV, made in the browser.")
    shot(page, "1-details")
    page.get_by_role("button", name="Next: Configure flow").click()
    page.wait_for_url(re.compile(r"/configure/$"))

    # Step 2: connector -> connection -> object come one after the other (htmx swaps).
    page.get_by_label("Source connector").select_option("LocalFiles")
    page.get_by_label("Source connection").select_option(demo["connection"].name)
    page.get_by_label("accounts.csv").check()
    expect(page.locator(".source-fields")).to_contain_text("Fields of accounts.csv")
    page.get_by_label("Destination connector").select_option("LocalFiles")
    page.get_by_label("Destination connection").select_option(demo["connection"].name)
    page.get_by_label("Destination object", exact=True).fill("out/browser")
    page.get_by_label("File format").select_option("CSV")
    shot(page, "2-configure")
    page.get_by_role("button", name="Next: Map data fields").click()
    page.wait_for_url(re.compile(r"/map/$"))
    shot(page, "3-map")
    page.get_by_role("button", name="Map all fields directly").click()
    expect(page.get_by_label("Destination field for Id")).to_have_value("Id")
    page.get_by_role("button", name="Next: Add filters").click()
    page.wait_for_url(re.compile(r"/filters/$"))
    page.get_by_role("button", name="Next: Review and create").click()
    page.wait_for_url(re.compile(r"/review/$"))

    # Step 5: every step summarised, with an Edit link back to it.
    review = page.locator(".review")
    expect(review).to_contain_text("wizard-browser")
    expect(review).to_contain_text("accounts.csv")
    expect(review).to_contain_text("out/browser")
    expect(page.get_by_role("link", name="Edit flow details")).to_be_visible()
    shot(page, "5-review")
    page.get_by_role("link", name="Edit flow details").click()
    page.wait_for_url(re.compile(r"/details/$"))
    expect(page.get_by_label("Flow name")).to_have_value("wizard-browser")
    page.go_back()
    page.wait_for_url(re.compile(r"/review/$"))
    page.get_by_role("button", name="Create flow").click()
    page.wait_for_url(re.compile(r"/flows/wizard-browser/$"))
    expect(page.locator("#messages")).to_contain_text('Created the flow "wizard-browser"')
    flow = Flow.objects.get(name="wizard-browser")
    assert flow.definition["tags"] == {"team": "data"}

    # A narrow window: the steps stack, nothing overflows sideways.
    page.set_viewport_size({"width": 420, "height": 800})
    page.get_by_role("link", name="Edit flow").first.click()
    page.wait_for_url(re.compile(r"/configure/$"))
    shot(page, "edit-configure-narrow")
    assert page.evaluate("document.documentElement.scrollWidth") <= 420


def test_s3_key_pattern_follows_the_choices_live(page, demo, owner):  # noqa: F811
    from playwright.sync_api import expect

    from connections.models import Connection
    from flows.models import FlowDraft

    Connection.objects.create(name="lake", connector_type="S3", properties={"endpointUrl": "http://127.0.0.1:9"})
    draft = FlowDraft.objects.create(owner=owner, step="configure", document='{"flowName": "to-the-lake"}')
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page)
    page.goto(f"/flows/drafts/{draft.pk}/configure/")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    page.get_by_label("Destination connector").select_option("S3")
    page.get_by_label("Destination connection").select_option("lake")
    # The bucket cannot be listed (nothing answers): a message, and the name can still be typed.
    expect(page.locator(".object-picker [role=alert]").first).to_contain_text("No S3 credentials")
    page.get_by_label("Destination object", exact=True).fill("bucket/exports")
    page.get_by_label("File format").select_option("CSV")
    pattern = page.locator(".key-pattern code")
    expect(pattern).to_have_text("s3://bucket/exports/<execution id>/part-00000.csv")
    # One choice after the other with no wait: each arrives while the previous re-render may
    # still be in flight or settling, and none may be lost.
    page.get_by_label("Prefix with the run's time").select_option("PATH")
    page.get_by_label("Time granularity").select_option("HOUR")
    page.get_by_label("Execution ID").uncheck()
    expect(pattern).to_have_text("s3://bucket/exports/2026/11/21/13/<execution id>-part-00000.csv")
    expect(page.get_by_label("Time granularity")).to_have_value("HOUR")
    # Keyboard: the focus stays on the control just changed after htmx swapped the form.
    assert page.evaluate("document.activeElement.id") == "id_hierarchy_EXECUTION_ID"
    shot(page, "2-configure-s3")
    assert navigations == []  # all of it through htmx, no reload


def test_choices_made_while_a_rerender_is_in_flight_are_kept(page, demo, owner):  # noqa: F811
    """The re-renders are held back (a slow server) while the user makes three choices and types
    a new object name, then answered in order: the final form has every choice, and the key
    pattern the server renders follows all of them."""
    from playwright.sync_api import expect

    from connections.models import Connection
    from flows.models import FlowDraft

    Connection.objects.create(name="lake", connector_type="S3", properties={"endpointUrl": "http://127.0.0.1:9"})
    draft = FlowDraft.objects.create(owner=owner, step="configure", document='{"flowName": "to-the-lake"}')
    log_in(page)
    page.goto(f"/flows/drafts/{draft.pk}/configure/")
    page.get_by_label("Destination connector").select_option("S3")
    page.get_by_label("Destination connection").select_option("lake")
    page.get_by_label("Destination object", exact=True).fill("bucket/exports")
    page.get_by_label("File format").select_option("CSV")
    pattern = page.locator(".key-pattern code")
    expect(pattern).to_have_text("s3://bucket/exports/<execution id>/part-00000.csv")

    held = []
    page.route(re.compile(r"/configure/$"), lambda route: held.append(route))
    page.get_by_label("Prefix with the run's time").select_option("FILENAME")
    page.get_by_label("Files per run").select_option("SingleFile")
    page.get_by_label("File format").select_option("JSON")
    page.get_by_label("Destination object", exact=True).fill("bucket/other")
    page.unroute(re.compile(r"/configure/$"))
    assert held, "no re-render was sent"
    for route in held:
        try:
            route.continue_()
        except Exception:  # noqa: BLE001 — a request the page cancelled (hx-sync replace) is gone
            pass

    expect(pattern).to_have_text("s3://bucket/other/<execution id>/part-00000-2026-11-21.jsonl")
    expect(page.get_by_label("Prefix with the run's time")).to_have_value("FILENAME")
    expect(page.get_by_label("Time granularity")).to_have_value("DAY")  # the default the pattern uses
    expect(page.get_by_label("Files per run")).to_have_value("SingleFile")
    expect(page.get_by_label("File format")).to_have_value("JSON")
    expect(page.get_by_label("Destination object", exact=True)).to_have_value("bucket/other")


def test_step_1_by_keyboard_alone(page, demo):  # noqa: F811
    from playwright.sync_api import expect

    log_in(page)
    page.get_by_role("button", name="Create flow").click()
    page.wait_for_url(re.compile(r"/details/$"))
    # The name field has the focus on arrival; Tab moves on with a visible focus ring.
    assert page.evaluate("document.activeElement.id") == "id_name"
    page.keyboard.type("typed-by-keyboard")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_description"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    # Enter in a text field means Next (not the first tag's Remove button).
    page.get_by_label("Tag 1 key").fill("team")
    page.get_by_label("Tag 1 key").press("Enter")
    page.wait_for_url(re.compile(r"/configure/$"))
    expect(page.get_by_role("heading", level=2)).to_contain_text("Configure flow")
