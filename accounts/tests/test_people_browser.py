"""The issue's proof, in Chromium: an administrator adds an operator on the People pages; the
operator signs in, runs a flow, and is refused its edit page and the connection's settings with
a clear 403; the audit log shows what both did. SLUICE_SCREENSHOTS=<folder> keeps each step."""

from __future__ import annotations

import re

import pytest

from audit.tests.test_audit_browser import shot
from console.tests.pages import PASSWORD
from flows.tests.test_browser import page  # noqa: F401  (the Chromium page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
OPERATOR_PASSWORD = "night shift passphrase 7"


def sign_in(page, name: str, password: str) -> None:  # noqa: F811
    page.goto("/login/")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def test_an_admin_adds_an_operator_who_runs_but_cannot_edit(page, demo, admin_user_):  # noqa: F811
    from playwright.sync_api import expect

    flow, connection = demo["flow"], demo["connection"]
    sign_in(page, "root", PASSWORD)
    page.get_by_role("link", name="People").click()
    page.get_by_role("link", name="Add a person").click()
    page.get_by_label("Name").fill("otto")
    page.get_by_label("Password").fill(OPERATOR_PASSWORD)
    page.get_by_label("Team").select_option(label="default")
    page.get_by_label("Role").select_option("Operator")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("otto")
    expect(page.locator("#messages")).to_contain_text("Created otto, Operator of default.")
    expect(page.locator("section.card").first).to_contain_text("Operator")
    shot(page, "people-person.png")
    page.get_by_role("link", name="People", exact=True).first.click()
    expect(page.locator("table")).to_contain_text("Operator of default")
    shot(page, "people-list.png")
    page.get_by_role("button", name="Log out").click()

    sign_in(page, "otto", OPERATOR_PASSWORD)
    page.goto(f"/flows/{flow.name}/")
    expect(page.get_by_role("link", name="Edit flow")).to_have_count(0)  # not offered to an Operator
    page.get_by_role("button", name="Run flow").click()
    expect(page.locator("#history")).not_to_contain_text("has not run yet")
    shot(page, "operator-flow.png")
    response = page.goto(f"/flows/{flow.name}/edit/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.locator("main")).to_contain_text(
        "You may not change flows: it needs the Editor role, and your role of the team default is Operator.")
    shot(page, "operator-403-edit.png")
    response = page.goto(f"/connections/{connection.name}/")
    assert response.status == 403
    expect(page.locator("main")).to_contain_text("see or change this connection's settings: it needs the "
                                                 "Admin role or Manage on it, and your role of the team "
                                                 "default is Operator.")
    shot(page, "operator-403-connection.png")
    page.get_by_role("button", name="Log out").click()

    sign_in(page, "root", PASSWORD)
    page.get_by_role("link", name="Audit log").click()
    table = page.locator("table.audit")
    created = table.locator("tbody tr", has_text="user.create")
    expect(created).to_contain_text("root")
    expect(created).to_contain_text("otto")
    expect(table.locator("tbody tr", has_text="user.role_set")).to_contain_text("Operator")
    ran = table.locator("tbody tr", has_text="flow.run")
    expect(ran).to_contain_text("otto")
    expect(ran).to_contain_text(flow.name)
    shot(page, "people-audit.png")
    page.get_by_label("User").fill("otto")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"user=otto"))
    expect(table.locator("tbody tr", has_text="flow.run")).to_have_count(1)
