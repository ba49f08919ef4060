"""A person in Chromium finds SAP OData in the catalog and connects it: a wrong password named as
such, then a connection that works. Screenshots land in $SLUICE_SCREENSHOTS when set."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from connections.tests.sapodata_server import V2_CATALOG, serve
from connections.tests.test_browser import shot
from flows.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_sap_odata(page, owner, monkeypatch):
    from playwright.sync_api import expect

    gateway = serve(monkeypatch, user="SLUICE", password="right-password")
    address = urlsplit(gateway.base)
    log_in(page)
    page.goto("/connections/")
    item = page.locator(".catalog-item", has_text="SAP OData")
    expect(item).to_contain_text("OData V2 and V4 services")
    item.scroll_into_view_if_needed()
    shot(page, "sapodata-catalog")
    item.get_by_role("link", name="Create connection").click()
    page.get_by_label("Connection name").fill("sap-prod")
    page.get_by_label("Application host URL").fill(f"http://{address.hostname}")
    page.get_by_label("Application service path").fill(V2_CATALOG)
    page.get_by_label("Port number").fill(str(address.port))
    page.get_by_label("Client number").fill("100")
    page.get_by_label("User name").fill("SLUICE")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.locator(".problems")).to_contain_text("wrong user name or password")
    expect(page.locator(".problems")).not_to_contain_text("wrong-password")
    shot(page, "sapodata-wrong-password")
    page.get_by_label("User name").fill("SLUICE")
    page.get_by_label("Password").fill("right-password")
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("sap-prod")
    expect(page.locator(".messages")).to_contain_text("works and was saved")
    shot(page, "sapodata-detail")


def test_connect_sap_odata_with_oauth(page, owner, monkeypatch, outside_allowed):
    """OAuth2 chosen on the form: Chromium goes to the Gateway's authorization endpoint, which sends
    it back to Sluice's callback with a code; the connection is saved authorized and tested."""
    from playwright.sync_api import expect

    from connections.tests.sapodata_server import CLIENT_ID, CLIENT_SECRET, SCOPES

    gateway = serve(monkeypatch)
    outside_allowed.append(gateway.base + "/")  # the SAP logon page, on the local Gateway
    address = urlsplit(gateway.base)
    log_in(page)
    page.goto("/connections/-/new/SAPOData/")
    expect(page.locator(".problems")).to_contain_text("With OAuth 2.0 chosen")
    page.get_by_label("Connection name").fill("sap-oauth")
    page.get_by_label("Application host URL").fill(f"http://{address.hostname}")
    page.get_by_label("Application service path").fill(V2_CATALOG)
    page.get_by_label("Port number").fill(str(address.port))
    page.get_by_label("Client number").fill("100")
    page.get_by_label("Authentication").select_option("OAuth2")
    page.get_by_label("OAuth scopes").fill(SCOPES)
    page.get_by_label("Client ID").fill(CLIENT_ID)
    page.get_by_label("Client secret").fill(CLIENT_SECRET)
    shot(page, "sapodata-oauth-form")
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("sap-oauth")
    expect(page.locator(".messages")).to_contain_text("is authorized and works")
    expect(page.locator("main")).not_to_contain_text(CLIENT_SECRET)
    shot(page, "sapodata-oauth-detail")
    assert gateway.token_grants == ["authorization_code"]
