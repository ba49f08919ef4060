"""A person in Chromium: log in, run the demo flow and watch it finish; import a flow."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator

import pytest

from conftest import need
from console.tests.pages import PASSWORD, flow_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def page(live_server, outside_allowed) -> Iterator:
    need(os.path.exists(CHROMIUM), "Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=live_server.url)
            context.set_default_timeout(15_000)
            page = context.new_page()
            # Anything fetched from outside the live server would be a CDN or a web font.
            outside = []
            page.on("request", lambda r: None if r.url.startswith((live_server.url, *outside_allowed))
                    else outside.append(r.url))
            yield page
            assert outside == []
        finally:
            browser.close()


def log_in(page, username: str = "owner") -> None:
    page.goto("/flows/")
    assert "/login/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/flows/$"))


def test_run_the_demo_flow_and_watch_it_finish(page, demo, celery_worker):
    from playwright.sync_api import expect

    log_in(page)
    page.get_by_role("link", name=demo["flow"].name).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(demo["flow"].name)
    expect(page.locator("#history")).to_contain_text("has not run yet")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    page.get_by_role("button", name="Run flow").click()

    row = page.locator("#history tbody tr").first
    expect(page.locator("#messages")).to_contain_text("Run started")
    expect(row.locator(".badge")).to_have_text("Successful", timeout=60_000)
    expect(row.locator("td.num").first).to_have_text("500")
    assert navigations == []  # htmx swapped the history in and polled it; no reload

    row.get_by_role("link").click()
    expect(page.locator("#execution-status .badge").first).to_have_text("Successful")
    expect(page.locator('[data-counter="records_processed"]')).to_have_text("500")
    expect(page.locator('[data-counter="records_written"]')).to_have_text("500")
    expect(page.locator("table.log")).to_contain_text("Started on worker")

    page.get_by_role("link", name="Home").click()
    recent = page.locator("section", has=page.get_by_role("heading", name="Recent executions"))
    expect(recent.locator("tbody tr")).to_have_count(1)
    expect(recent).to_contain_text(demo["flow"].name)
    expect(recent.locator(".badge")).to_have_text("Successful")


def test_execution_page_turns_in_progress_into_successful_without_a_reload(page, demo, celery_worker):
    from playwright.sync_api import expect

    from console.tests.pages import make_execution
    from flows.tasks import run_execution

    execution = make_execution(demo["flow"], status="InProgress")  # queued, no worker has it yet
    log_in(page)
    page.goto(f"/flows/{demo['flow'].name}/executions/{execution.id}/")
    expect(page.locator("#execution-status .badge").first).to_have_text("InProgress")
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    run_execution.delay(str(execution.id))

    expect(page.locator("#execution-status .badge").first).to_have_text("Successful", timeout=60_000)
    expect(page.locator('[data-counter="records_processed"]')).to_have_text("500")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    assert navigations == []


def test_cancel_shows_cancel_started_then_canceled(page, demo, celery_worker):
    from playwright.sync_api import expect

    from console.tests.pages import make_execution
    from flows.tasks import run_execution

    execution = make_execution(demo["flow"], status="InProgress")
    log_in(page)
    page.goto(f"/flows/{demo['flow'].name}/executions/{execution.id}/")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#execution-status .badge").first).to_have_text("CancelStarted")
    expect(page.locator("#messages")).to_contain_text("Cancel requested")

    run_execution.delay(str(execution.id))  # the worker finds the cancel before it starts

    expect(page.locator("#execution-status .badge").first).to_have_text("Canceled", timeout=60_000)


def test_import_shows_path_errors_then_imports(page, demo):
    from playwright.sync_api import expect

    log_in(page)
    page.get_by_role("link", name="Import flow").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import flow")

    bad = flow_document("imported-in-browser")
    bad["tasks"][0]["taskType"] = "Map_alll"
    page.get_by_label("Paste the flow JSON").fill(json.dumps(bad, indent=2))
    page.get_by_role("button", name="Import flow").click()

    problems = page.locator("aside.problems")
    expect(problems).to_contain_text("tasks[0].taskType")
    expect(problems.locator("code.path").filter(has_text="tasks[0].taskType")).to_have_count(1)
    expect(problems).to_contain_text('unknown value "Map_alll"')
    expect(page.get_by_label("Paste the flow JSON")).to_have_value(re.compile("Map_alll"))

    page.get_by_label("Paste the flow JSON").fill(json.dumps(flow_document("imported-in-browser"), indent=2))
    page.get_by_role("button", name="Import flow").click()
    page.wait_for_url(re.compile(r"/flows/imported-in-browser/$"))
    expect(page.locator("#messages")).to_contain_text('Imported the flow "imported-in-browser"')
    expect(page.get_by_role("heading", level=1)).to_contain_text("imported-in-browser")


def test_activate_a_scheduled_flow_see_its_next_runs_and_deactivate_it(page, demo):
    from playwright.sync_api import expect

    from flows import services
    from flows.tests.test_activation import scheduled_document

    flow = services.create_flow(scheduled_document(
        "nightly", scheduleExpression="cron(30 2 * * ? *)", timezone="America/New_York"))
    log_in(page)
    page.goto(f"/flows/{flow.name}/")
    schedule = page.locator("#schedule")
    expect(schedule).to_contain_text("would run if it were activated now")
    expect(schedule.locator("table.upcoming tbody tr")).to_have_count(10)

    page.get_by_role("button", name="Activate").click()
    expect(page.locator("#messages")).to_contain_text('Activated "nightly"')
    expect(page.get_by_role("heading", level=1).locator(".badge")).to_have_text("Active")
    expect(page.locator("#activity")).to_contain_text("Activated by owner")
    if os.environ.get("SLUICE_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SLUICE_SCREENSHOTS"], "flow-scheduled.png"), full_page=True)

    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator("#messages")).to_contain_text('Deactivated "nightly"')
    expect(page.get_by_role("heading", level=1).locator(".badge")).to_have_text("Suspended")

    # Suspended flows do not run: activate again, then backfill the first day of 2024.
    page.get_by_role("button", name="Activate").click()
    page.locator("#backfill summary").click()
    page.get_by_label("From (UTC)").fill("2024-01-01T00:00:00")
    page.get_by_label("To (UTC; empty means now)").fill("2024-01-02T00:00:00")
    page.get_by_role("button", name="Run backfill").click()
    expect(page.locator("#execution-status")).to_contain_text("2024-01-01 00:00:00 → 2024-01-02 00:00:00 UTC")


def test_make_a_webhook_key_see_it_once_and_watch_the_event_log(page, demo, live_server):
    import time
    import urllib.request

    from playwright.sync_api import expect

    from console.demo import demo_flow_document
    from flows import events, services

    flow = services.create_flow(demo_flow_document() | {"flowName": "on-drop",
                                                        "triggerConfig": {"triggerType": "Event"}})
    log_in(page)
    page.goto(f"/flows/{flow.name}/")
    page.get_by_role("button", name="Activate").click()
    page.get_by_role("button", name="Make signing key").click()
    webhook = page.locator("#webhook")
    expect(webhook).to_contain_text("shown only once")
    secret = webhook.locator("[data-secret]").inner_text()
    url = webhook.locator("dd code.mono").first.inner_text()

    body, stamp = b'{"file": "accounts.csv"}', str(int(time.time()))
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Sluice-Timestamp": stamp,
        "X-Sluice-Signature": events.sign(secret, stamp, body), "Idempotency-Key": "drop-1"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 202

    page.goto(f"/flows/{flow.name}/")  # not a reload: that would post (and rotate) again
    expect(webhook.locator("[data-secret]")).to_have_count(0)
    expect(webhook.locator('tr[data-outcome="accepted"]')).to_have_count(1)
    if os.environ.get("SLUICE_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SLUICE_SCREENSHOTS"], "flow-event.png"), full_page=True)


def test_add_a_notification_channel(page, demo):
    from playwright.sync_api import expect

    log_in(page)
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    page.get_by_label("Name").fill("on-call")
    page.get_by_label("Kind").select_option("email")
    page.get_by_label("URL or email addresses").fill("oncall@example.com")
    page.get_by_label("Send").select_option("failures")
    page.get_by_role("button", name="Add channel").click()
    expect(page.locator("#messages")).to_contain_text('Added the channel "on-call"')
    expect(page.locator('tr[data-channel="on-call"]')).to_contain_text("Failures only")
    if os.environ.get("SLUICE_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SLUICE_SCREENSHOTS"], "notifications.png"), full_page=True)


def test_execution_page_shows_rejected_records_with_reasons(page, demo, live_server):
    from playwright.sync_api import expect

    from console.tests.pages import make_execution

    sample = [{"where": f"record {n}", "reason": f'column amount: invalid input syntax for type numeric: "n/a {n}"'}
              for n in range(3, 63, 3)]
    execution = make_execution(demo["flow"], records_processed=500, records_written=443, record_failures=57,
                               failure_sample=sample, rejects_location="s3://lake/rejects/accounts/exec-1/")
    log_in(page)
    page.goto(f"/flows/{demo['flow'].name}/executions/{execution.id}/")
    table = page.locator("#record-failures table")
    expect(page.locator("#record-failures")).to_contain_text("s3://lake/rejects/accounts/exec-1/")
    expect(table.locator("caption")).to_have_text("The first 20 of 57 record failures.")
    expect(table.locator("tbody tr")).to_have_count(20)
    expect(table.locator("tbody tr").nth(5)).to_contain_text('record 18column amount: invalid input syntax')
    if os.environ.get("SLUICE_SCREENSHOT"):
        page.screenshot(path=os.environ["SLUICE_SCREENSHOT"], full_page=True)


def test_an_event_flow_page_shows_its_subscriber_replay_id_and_gap(page, owner):
    from datetime import timedelta

    from django.utils import timezone
    from playwright.sync_api import expect

    from connections.models import Connection
    from flows import services
    from flows.models import EventSubscription, ReceivedEvent
    from flows.tests.test_salesforce_event_flow import CLIENT_ID, event_flow

    Connection.objects.create(name="sf", connector_type="Salesforce", properties={"clientId": CLIENT_ID})
    Connection.objects.create(name="eb", connector_type="EventBridge", properties={"region": "us-east-1"})
    flow = services.create_flow(event_flow("orders-bus"))
    services.activate_flow(flow)
    beat = timezone.now() - timedelta(seconds=3)
    EventSubscription.objects.create(
        flow=flow, channel="/data/AccountChangeEvent", replay_id=4020, replay_at=beat - timedelta(minutes=5),
        heartbeat_at=beat, subscriber="worker-1:4242",
        note="Subscribed to /data/AccountChangeEvent from replay id 4020.",
        gap="The last delivered event (replay id 3990) was received 2026-11-28 09:12 UTC, more than 72 hours "
            "ago: events Salesforce no longer keeps may have been missed.")
    ReceivedEvent.objects.bulk_create([ReceivedEvent(flow=flow, replay_id=4021 + n, channel="/data/AccountChangeEvent",
                                                     payload={"Name": f"Account {n}"}) for n in range(3)])
    log_in(page)
    page.goto(f"/flows/{flow.name}/")

    card = page.locator("#salesforce-events")
    expect(card.get_by_role("heading", name="Salesforce events")).to_be_visible()
    expect(card).to_contain_text("/data/AccountChangeEvent")
    expect(card).to_contain_text(f"last heartbeat {beat:%Y-%m-%d %H:%M:%S} UTC")
    expect(card).to_contain_text("worker-1:4242")
    expect(card).to_contain_text("replay id 4020, committed")
    expect(card).to_contain_text("3 events for the next run")
    gap = card.get_by_role("alert")
    expect(gap).to_be_visible()
    expect(gap).to_contain_text("Events may be missing.")
    expect(gap).to_contain_text("more than 72 hours ago")
    expect(card.get_by_text("silent")).to_have_count(0)
    # Events start its runs: no webhook, no Run now, no backfill window (the run would fail).
    expect(page.locator("#webhook")).to_have_count(0)
    expect(page.get_by_role("button", name="Run now")).to_have_count(0)
    expect(page.locator("#backfill")).to_have_count(0)
    expect(page.locator("#history")).to_contain_text("runs when Salesforce events arrive")
    if os.environ.get("SLUICE_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["SLUICE_SCREENSHOTS"], "flow-salesforce-events.png"),
                        full_page=True)

    # The subscriber process died: its heartbeat stops and the page says so.
    EventSubscription.objects.filter(flow=flow).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    page.reload()
    expect(card.get_by_text("silent")).to_be_visible()
    expect(card.get_by_role("alert").filter(has_text="The subscriber is not running.")).to_contain_text(
        "5\xa0minutes old")
    if os.environ.get("SLUICE_SCREENSHOTS"):
        card.screenshot(path=os.path.join(os.environ["SLUICE_SCREENSHOTS"], "flow-salesforce-silent.png"))
