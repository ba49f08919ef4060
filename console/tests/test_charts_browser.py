"""A person in Chromium reads the home dashboard and a flow's charts, switches their time range by
links, and the pictures break no Content-Security-Policy rule (screenshots: SLUICE_SCREENSHOTS)."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from console.tests.pages import make_execution
from flows.tests.test_browser import log_in, page  # noqa: F401  (page is a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_and_flow_charts(page, demo, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    folder = os.environ.get("SLUICE_SCREENSHOTS") or str(tmp_path)
    flow, now = demo["flow"], timezone.now()
    for i in range(24):
        failed = i in (5, 17)
        make_execution(flow, minutes_ago=i * 50, status="Error" if failed else "Successful",
                       started_at=now, finished_at=now + timedelta(seconds=2 + (i * 7) % 13),
                       records_processed=0 if failed else 500 + (i * 37) % 120,
                       records_written=0 if failed else 480 + (i * 37) % 120, source_api_calls=2,
                       destination_api_calls=1, error_message="Stop the run: Email is empty" if failed else "")
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page)

    page.goto("/")
    dashboard = page.locator("#dashboard")
    expect(dashboard.locator('[data-figure="runs"]')).to_have_text("24")
    expect(dashboard.locator('[data-figure="failures"]')).to_have_text("✕ 2")
    expect(dashboard.locator('svg[data-chart="Failing flows"]')).to_contain_text("2 failed of 24 runs")
    expect(dashboard.locator('svg[data-chart="API calls per connection"]')).to_contain_text("72 (48 as source")
    dashboard.screenshot(path=os.path.join(folder, "home-dashboard.png"))
    dashboard.get_by_role("link", name="Last 7 days").click()
    expect(page).to_have_url(re.compile(r"\?window=7d#dashboard$"))
    expect(dashboard.get_by_role("link", name="Last 7 days")).to_have_attribute("aria-current", "true")

    page.goto(f"/flows/{flow.name}/")
    charts = page.locator("#run-charts")
    expect(charts.locator(".chart-summary")).to_have_text("24 runs, 2 failed (✕ under the run).")
    expect(charts.locator('svg[data-chart^="Records processed"] .failure path')).to_have_count(2)
    expect(charts.locator('svg[data-chart^="Records processed"] [data-series="written"] path')).to_have_count(24)
    charts.screenshot(path=os.path.join(folder, "flow-charts.png"))
    charts.get_by_role("link", name="Last 30 days").click()
    expect(charts.get_by_role("link", name="Last 30 days")).to_have_attribute("aria-current", "true")
    charts.get_by_text("The figures as a table").click()
    days = {(now - timedelta(minutes=i * 50)).date() for i in range(24)}
    expect(charts.locator(".chart-data tbody tr")).to_have_count(len(days))  # the days with runs
    charts.screenshot(path=os.path.join(folder, "flow-charts-days.png"))
    assert violations == []
