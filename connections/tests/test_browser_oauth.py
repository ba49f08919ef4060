"""A person connects the bundled Demo CRM in Chromium through its real consent page (Allow), runs
a flow from it, then tries again and chooses Deny. Screenshots go to $SLUICE_SCREENSHOTS if set."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from connections.tests.test_browser import shot
from console.tests.pages import flow_document
from demo_saas.oauth import ensure_client
from flows import services as flow_services
from flows.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def demo_crm_flow(connection: str) -> dict:
    """Demo CRM Accounts -> the demo's Local files folder as JSONL."""
    document = flow_document("demo-crm-accounts", connection="demo-local-files")
    document["sourceFlowConfig"] = {
        "connectorType": "CustomConnector",
        "connectorLabel": "DemoCRM",
        "connectorProfileName": connection,
        "sourceConnectorProperties": {"CustomConnector": {"entityName": "Accounts"}},
    }
    document["destinationFlowConfigList"][0]["destinationConnectorProperties"]["CustomConnector"][
        "entityName"] = "out/crm-accounts"
    return document


def fill_form(page, name: str, instance: str, client_id: str, secret: str) -> None:
    page.goto("/connections/")
    page.locator(".catalog-item", has_text="Demo CRM").get_by_role("link", name="Create connection").click()
    page.get_by_label("Connection name").fill(name)
    page.get_by_label("Demo CRM address").fill(instance)
    page.get_by_label("Client ID").fill(client_id)
    page.get_by_label("Client secret").fill(secret)


def test_connect_the_demo_crm_run_a_flow_then_deny(page, live_server, settings, monkeypatch, demo,
                                                    celery_worker):
    from playwright.sync_api import expect

    settings.SLUICE_DEMO_SAAS = True
    port = urlsplit(live_server.url).port
    monkeypatch.setenv("SLUICE_NET_ALLOW", f"{urlsplit(live_server.url).hostname}:{port}")
    ensure_client(live_server.url + reverse("connections:oauth_callback", args=["DemoCRM"]))
    instance = live_server.url + "/demo-saas/"

    log_in(page)
    page.goto("/demo-saas/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sluice Demo CRM")
    client_id = page.locator("#client-id").inner_text()
    secret = page.locator("#client-secret").inner_text()

    fill_form(page, "demo-crm", instance, client_id, secret)
    expect(page.locator(".redirect-uri")).to_contain_text("/connections/oauth/DemoCRM/callback/")
    shot(page, "oauth-form")
    page.get_by_role("button", name="Continue to Demo CRM to authorize").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sluice wants to read your accounts")
    shot(page, "consent")
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("demo-crm")
    expect(page.locator(".messages")).to_contain_text("is authorized and works")
    assert "code=" not in page.url and "state=" not in page.url
    expect(page.get_by_role("button", name="Re-authorize")).to_be_visible()
    shot(page, "oauth-detail")

    flow = flow_services.create_flow(demo_crm_flow("demo-crm"))
    page.goto(f"/flows/{flow.name}/")
    page.get_by_role("button", name="Run flow").click()
    row = page.locator("#history tbody tr").first
    expect(row.locator(".badge")).to_have_text("Successful", timeout=60_000)
    expect(row.locator("td.num").first).to_have_text("2,000")

    fill_form(page, "demo-crm-2", instance, client_id, secret)
    page.get_by_role("button", name="Continue to Demo CRM to authorize").click()
    page.get_by_role("button", name="Deny").click()
    expect(page.locator(".messages")).to_contain_text("Authorization was cancelled")
    expect(page.get_by_label("Connection name")).to_have_value("demo-crm-2")
    shot(page, "cancelled")
    assert re.search(r"/connections/-/new/DemoCRM/", page.url)


def test_connect_the_demo_in_one_click(page, live_server, settings, monkeypatch, owner):
    """Nothing registered beforehand and nothing typed: the card's button, the consent, done."""
    from playwright.sync_api import expect

    settings.SLUICE_DEMO_SAAS = True
    settings.SLUICE_BASE_URL = ""
    address = urlsplit(live_server.url)
    monkeypatch.setenv("SLUICE_NET_ALLOW", f"{address.hostname}:{address.port}")

    log_in(page)
    page.goto("/connections/")
    shot(page, "connect-demo-card")
    page.locator(".catalog-item", has_text="Demo CRM").get_by_role("button", name="Connect the demo").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sluice wants to read your accounts")
    assert page.url.startswith(f"{live_server.url}/demo-saas/oauth/authorize?")  # this server's own port
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("demo-crm")
    expect(page.locator(".messages")).to_contain_text("is authorized and works")
