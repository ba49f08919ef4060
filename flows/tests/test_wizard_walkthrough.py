"""Issue 5's walk-through in Chromium: all five wizard steps — a mapping uploaded as CSV, one
formula, one mask, one validation, two filters, a schedule trigger — then create the flow, run it
through a real worker, edit it (a new version, with its diff on the flow page) and delete it.

Screenshots of every step are test artifacts: under the test's tmp dir, and copied to
$SLUICE_WALK_SHOTS (default /tmp/shots-5c/walkthrough) to look at."""

from __future__ import annotations

import csv
import os
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from flows.models import Execution, Flow
from flows.tests.test_browser import log_in, page  # noqa: F401  (the page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FLOW = "walkthrough-accounts"
MAPPING_CSV = """Id, account_id
Name, name
Phone, phone
Industry, industry
NumberOfEmployees, employees
BillingCity, city
BillingCountry, country
"""
COPY_TO = Path(os.environ.get("SLUICE_WALK_SHOTS", "/tmp/shots-5c/walkthrough"))


class Shots:
    """Full-page screenshots, numbered in the order taken."""

    def __init__(self, page, folder: Path):  # noqa: F811
        self.page, self.folder, self.count = page, folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> None:
        self.count += 1
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)

    def publish(self) -> None:
        COPY_TO.mkdir(parents=True, exist_ok=True)
        for shot in self.folder.glob("*.png"):
            shutil.copy(shot, COPY_TO / shot.name)


def swapped(page, action, step: str) -> None:  # noqa: F811
    """Do something that makes htmx redraw part of a step, and wait for the redraw: typing into a
    part that is being redrawn would be lost."""
    with page.expect_response(lambda r: r.request.method == "POST" and f"/{step}/" in r.url):
        action()
    page.wait_for_timeout(150)  # htmx swaps and settles right after the response


def test_walk_all_five_steps_create_run_edit_and_delete(page, demo, celery_worker, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    shots = Shots(page, tmp_path / "shots")
    page.set_viewport_size({"width": 1280, "height": 800})
    try:
        log_in(page)

        # -- 1. Flow details ------------------------------------------------------------------
        page.get_by_role("button", name="Create flow").click()
        page.wait_for_url(re.compile(r"/details/(#.*)?$"))
        page.get_by_label("Flow name").fill(FLOW)
        page.get_by_label("Description").fill("Accounts to CSV: renamed, masked, validated, filtered, daily.")
        page.get_by_label("Tag 1 key").fill("team")
        page.get_by_label("Tag 1 value").fill("data")
        expect(page.locator("#error-name")).to_be_empty()
        shots("step1-details")
        page.get_by_role("button", name="Next: Configure flow").click()
        page.wait_for_url(re.compile(r"/configure/(#.*)?$"))

        # -- 2. Configure flow: source, destination, a schedule trigger -----------------------
        swapped(page, lambda: page.get_by_label("Source connector").select_option("LocalFiles"), "configure")
        swapped(page, lambda: page.get_by_label("Source connection").select_option(demo["connection"].name),
                "configure")
        swapped(page, lambda: page.get_by_label("accounts.csv").check(), "configure")
        expect(page.locator(".source-fields")).to_contain_text("Fields of accounts.csv")
        swapped(page, lambda: page.get_by_label("Destination connector").select_option("LocalFiles"), "configure")
        swapped(page, lambda: page.get_by_label("Destination connection").select_option(demo["connection"].name),
                "configure")
        page.get_by_label("Destination object", exact=True).fill("out/walkthrough")
        swapped(page, lambda: page.get_by_label("File format").select_option("CSV"), "configure")
        # The schedule's fields show once "On schedule" is chosen.
        expect(page.get_by_label("Repeats every")).to_be_hidden()
        # By keyboard: the trigger choices are one radio group.
        page.get_by_role("radio", name=re.compile("On demand")).focus()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        expect(page.get_by_role("radio", name=re.compile("On schedule"))).to_be_checked()
        expect(page.get_by_label("Repeats every")).to_be_visible()
        # Too fast for nothing, but a nonsense cron is refused next to its field, and nothing is saved.
        page.get_by_label("Repeat unit").select_option("cron")
        page.get_by_label("Cron expression").fill("0 25 * * *")
        page.get_by_role("button", name="Next: Map data fields").click()
        expect(page.locator(".trigger-cron .field-error")).to_contain_text('hour field "25" is not valid')
        assert "/configure/" in page.url
        shots("step2-configure-cron-error")
        page.get_by_label("Repeat unit").select_option("days")
        page.get_by_label("Repeats every").fill("1")
        start = date.today() + timedelta(days=1)
        page.get_by_label("Starts on").fill(start.isoformat())
        page.get_by_label("Start time").fill("06:30")
        page.get_by_label("Time zone").select_option("Europe/Paris")
        page.get_by_role("radio", name=re.compile("Full: every run")).check()
        shots("step2-configure")
        page.get_by_role("button", name="Next: Map data fields").click()
        page.wait_for_url(re.compile(r"/map/(#.*)?$"))

        # -- 3. Map data fields: CSV upload, a formula, a mask, a validation ------------------
        mapping_file = tmp_path / "mapping.csv"
        mapping_file.write_text("Id, account_id\nNope, nothing\nName, name\n", encoding="utf-8")
        page.get_by_label("Mapping file (CSV)").set_input_files(str(mapping_file))
        page.get_by_role("button", name="Upload and apply").click()
        expect(page.locator("#mapped .errors")).to_contain_text("line 2")
        shots("step3-map-csv-error")
        mapping_file.write_text(MAPPING_CSV, encoding="utf-8")
        page.get_by_label("Mapping file (CSV)").set_input_files(str(mapping_file))
        page.get_by_role("button", name="Upload and apply").click()
        expect(page.locator("table.mapping")).to_contain_text("BillingCountry")
        expect(page.get_by_label("Destination field for Id")).to_have_value("account_id")

        page.get_by_label("Formula", exact=True).select_option("concat")
        page.get_by_label("Field 1", exact=True).select_option("Name")
        page.get_by_label("Field 2", exact=True).select_option("BillingCity")
        page.get_by_label("Separator (concatenate)").fill(" / ")
        page.get_by_label("Destination field", exact=True).fill("label")
        page.get_by_role("button", name="Add formula").click()
        expect(page.locator("#formulas")).to_contain_text("label")

        page.locator("#mod-field").select_option("Phone")
        page.get_by_label("Change").select_option("mask_last")
        page.get_by_label("N (characters)").fill("4")
        page.get_by_label("Mask character").fill("#")
        page.get_by_role("button", name="Add change").click()
        expect(page.locator("#modify")).to_contain_text("mask the last 4 characters")

        page.locator("#val-field").select_option("Name")
        page.get_by_label("Condition").select_option("null")
        page.get_by_label("Action").select_option("drop")
        page.get_by_role("button", name="Add validation").click()
        expect(page.locator("#validations")).to_contain_text("When Name is null: Drop the record")
        shots("step3-map")
        page.get_by_role("button", name="Next: Add filters").click()
        page.wait_for_url(re.compile(r"/filters/(#.*)?$"))

        # -- 4. Add filters: two, ANDed; the second with two criteria, ORed -------------------
        swapped(page, lambda: page.get_by_role("button", name="Add filter").click(), "filters")
        swapped(page, lambda: page.locator("#f0-field").select_option("NumberOfEmployees"), "filters")
        swapped(page, lambda: page.locator("#f0-type").select_option("integer"), "filters")
        swapped(page, lambda: page.locator("#f0-condition").select_option("greater"), "filters")
        page.locator("#f0-value-0").fill("10")
        swapped(page, lambda: page.get_by_role("button", name="Add filter").click(), "filters")
        swapped(page, lambda: page.locator("#f1-field").select_option("BillingCountry"), "filters")
        expect(page.locator("#f1-condition")).to_have_value("equals")
        page.locator("#f1-value-0").fill("France")
        swapped(page, lambda: page.get_by_role("button", name="Add criteria").last.click(), "filters")
        page.locator("#f1-value-1").fill("Canada")
        expect(page.locator("#f0-value-0")).to_have_value("10")
        expect(page.locator("#f0-condition")).to_have_value("greater")
        page.get_by_role("button", name="Save filters").click()
        expect(page.locator("#filter-1")).to_be_visible()
        page.get_by_role("button", name=re.compile("Preview records")).click()
        expect(page.locator("#preview .preview-counters")).to_be_visible(timeout=60_000)
        shots("step4-filters-preview")
        page.get_by_role("button", name="Next: Review and create").click()
        page.wait_for_url(re.compile(r"/review/(#.*)?$"))

        # -- 5. Review and create --------------------------------------------------------------
        review = page.locator(".review")
        expect(review).to_contain_text(FLOW)
        expect(review).to_contain_text("rate(1day)")
        expect(review).to_contain_text("account_id")
        expect(review).to_contain_text("NumberOfEmployees")
        shots("step5-review")
        page.get_by_role("button", name="Create as draft").click()
        page.wait_for_url(re.compile(rf"/flows/{FLOW}/(#.*)?$"))
        flow = Flow.objects.get(name=FLOW)
        document = flow.definition
        scheduled = document["triggerConfig"]["triggerProperties"]["Scheduled"]
        assert scheduled["scheduleExpression"] == "rate(1day)" and scheduled["timezone"] == "Europe/Paris"
        assert scheduled["scheduleStartTime"].startswith(f"{start.isoformat()}T06:30:00+")
        kinds = [task["taskType"] for task in document["tasks"]]
        assert {"Map", "Merge", "Mask", "Validate", "Filter"} <= set(kinds)
        assert sum(1 for t in document["tasks"] if t["taskType"] == "Filter"
                   and next(iter(t["connectorOperator"].values())) != "PROJECTION") == 2
        expect(page.locator("#versions")).to_contain_text("Created")
        shots("flow-page-created")

        # -- Run it, through a real worker -------------------------------------------------------
        page.get_by_role("button", name="Run now").click()
        expect(page.locator("#history")).to_contain_text("Successful", timeout=60_000)
        execution = Execution.objects.get(flow=flow)
        assert execution.status == "Successful", execution.error_message
        assert execution.records_written > 0 and execution.records_filtered > 0
        expect(page.locator(f'#history tr[data-execution="{execution.id}"] td[data-version="1"]')).to_be_visible()
        rows = _written_rows(demo["root"] / "out" / "walkthrough")
        assert rows and set(rows[0]) == {"account_id", "name", "phone", "industry", "employees", "city",
                                         "country", "label"}
        assert all(row["country"] in ("France", "Canada") and int(row["employees"]) > 10 for row in rows)
        assert all(row["phone"] == "" or row["phone"].endswith("555-####") for row in rows)  # some have none
        assert any(row["phone"] for row in rows)
        assert all(row["label"] == f'{row["name"]} / {row["city"]}' for row in rows)
        shots("flow-page-run")
        page.locator(f'#history a[href*="{execution.id}"]').click()
        expect(page.locator('dd[data-version="1"]')).to_be_visible()
        shots("execution")

        # -- Edit: a new version, and what changed ----------------------------------------------
        page.goto(f"/flows/{FLOW}/")
        page.get_by_role("link", name="Edit flow").first.click()
        page.wait_for_url(re.compile(r"/configure/(#.*)?$"))
        expect(page.get_by_label("Repeats every")).to_have_value("1")
        expect(page.get_by_label("Time zone")).to_have_value("Europe/Paris")
        page.get_by_label("Repeats every").fill("2")
        shots("edit-configure")
        page.set_viewport_size({"width": 420, "height": 800})
        shots("edit-configure-narrow")
        assert page.evaluate("document.documentElement.scrollWidth") <= 420
        page.set_viewport_size({"width": 1280, "height": 800})
        page.get_by_role("button", name="Next: Map data fields").click()
        page.wait_for_url(re.compile(r"/map/(#.*)?$"))
        page.get_by_label("Destination field for Name").fill("account_name")
        page.get_by_role("button", name="Next: Add filters").click()
        page.wait_for_url(re.compile(r"/filters/(#.*)?$"))
        page.get_by_role("button", name="Next: Review changes").click()  # step 5's title when editing
        page.wait_for_url(re.compile(r"/review/(#.*)?$"))
        shots("edit-review")
        page.get_by_role("button", name="Save as new version").click()
        page.wait_for_url(re.compile(rf"/flows/{FLOW}/(#.*)?$"))
        versions = page.locator("#versions")
        expect(versions.locator('tr[data-version="2"]')).to_contain_text("current")
        expect(versions.locator('tr[data-version="2"]')).to_contain_text("Changed")
        versions.get_by_role("link", name=re.compile("What changed")).first.click()
        diff = page.locator("#version-diff")
        expect(diff).to_contain_text("Version 1 → version 2")
        expect(diff.locator("ins")).to_contain_text(["Map Name -> account_name"])
        expect(diff).to_contain_text("scheduleExpression: rate(2days)")
        page.locator("#version-diff details summary").click()
        shots("flow-page-versions-diff")
        page.set_viewport_size({"width": 420, "height": 800})
        page.locator("#versions").screenshot(path=str(shots.folder / "versions-narrow.png"))
        page.set_viewport_size({"width": 1280, "height": 800})
        assert Flow.objects.get(name=FLOW).current_version.number == 2

        # -- Delete ---------------------------------------------------------------------------
        page.get_by_role("link", name="Delete flow").click()
        page.wait_for_url(re.compile(r"/delete/(#.*)?$"))
        page.get_by_label('Type "delete" to confirm').fill("nope")
        page.get_by_role("button", name="Delete flow").click()
        expect(page.locator(".field-error")).to_contain_text('Type the word "delete"')
        shots("delete-refused")
        page.get_by_label('Type "delete" to confirm').fill("delete")
        page.get_by_role("button", name="Delete flow").click()
        page.wait_for_url(re.compile(r"/flows/(#.*)?$"))
        expect(page.locator("#messages")).to_contain_text(f'Deleted the flow "{FLOW}"')
        shots("deleted")
        assert not Flow.objects.filter(name=FLOW).exists()
    finally:
        shots("last") if not page.is_closed() else None
        shots.publish()


def _written_rows(folder: Path) -> list[dict]:
    files = sorted(p for p in folder.rglob("*.csv"))
    assert files, f"nothing written under {folder}"
    rows: list[dict] = []
    for path in files:
        with path.open(newline="", encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
    return rows
