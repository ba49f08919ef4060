"""A person in Chromium sets a flow's guardrails, reads a run's warning, and retries its rejected
records (docs/run-safety.md)."""

from __future__ import annotations

import os

import pytest
from django.utils import timezone

from flows.models import Execution
from flows.tests.test_browser import log_in, page  # noqa: F401  (page is a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = os.environ.get("SLUICE_SCREENSHOTS", "")  # a folder: save what the test saw, to look at


def shoot(page, name: str) -> None:  # noqa: F811
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def test_guardrails_form_warning_and_retry_of_rejected_records(page, demo):  # noqa: F811
    from playwright.sync_api import expect

    flow = demo["flow"]
    log_in(page)
    page.goto(f"/flows/{flow.name}/")
    card = page.locator("#guardrails")
    expect(card.locator("[data-guardrails]")).to_have_text("off")
    card.get_by_text("Set guardrails").click()
    card.get_by_label("A run that reads no record").check()
    card.get_by_label("Volume change (%)", exact=False).fill("40")
    card.get_by_label("Fail the run (Error) and notify", exact=False).check()
    shoot(page, "flow-guardrails-form")
    card.get_by_role("button", name="Save guardrails").click()
    expect(page.locator("#messages")).to_contain_text("Guardrails saved: fail a run that reads no record or a "
                                                      "run whose records processed differ by more than 40%")
    expect(page.locator("#guardrails [data-guardrails]")).to_contain_text("fail a run that reads no record")
    shoot(page, "flow-guardrails")

    folder = demo["root"] / "rejects" / "e1"
    folder.mkdir(parents=True)
    warned = Execution.objects.create(
        flow=flow, version=flow.current_version, status="Successful", records_processed=40, records_written=38,
        record_failures=2, rejects_location=str(folder), started_at=timezone.now(), finished_at=timezone.now(),
        warning="The run read 40 records, 92% fewer than the median of the last 5 successful runs (500); "
                "the guardrail allows 40% (guardrail: volume change).",
        failure_sample=[{"where": "record 7", "reason": "column Amount: must not be negative"},
                        {"where": "record 9", "reason": "column Amount: must not be negative"}],
    )
    page.goto(f"/flows/{flow.name}/")
    expect(page.locator(f'#history tr[data-execution="{warned.pk}"] .badge')).to_have_text("Successful with warning")
    page.goto(f"/flows/{flow.name}/executions/{warned.pk}/")
    expect(page.locator("#execution-status h2 .badge")).to_have_text("Successful with warning")
    expect(page.locator("[data-warning]")).to_contain_text("92% fewer than the median")
    page.get_by_text("Retry rejected records").click()
    expect(page.get_by_role("button", name="Yes, retry them")).to_be_visible()
    shoot(page, "execution-warning-retry")
    page.get_by_role("button", name="Yes, retry them").click()
    retry = Execution.objects.get(reprocess_of=warned)
    page.wait_for_url(f"**/executions/{retry.pk}/")
    expect(page.locator("#messages")).to_contain_text(f"Retrying the rejected records of execution {warned.pk}")
    expect(page.locator("#execution-status")).to_contain_text(f"the rejected records of execution {warned.pk}")
