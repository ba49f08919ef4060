"""A person in Chromium connects Snowflake (against its stand-in, snowflake_standin.py) and Upsolver
(moto): the catalog entries, the Snowflake form with a stage that does not exist named as such and
the password never echoed, then connections that work; the Upsolver form states the bucket rule.
Screenshots land in $SLUICE_SCREENSHOTS when set."""

from __future__ import annotations

import re

import pytest

from connections.tests import s3server
from connections.tests.snowflake_standin import STAGE, standin
from connections.tests.test_browser import shot
from flows.tests.test_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_snowflake_and_upsolver(page, owner, monkeypatch, tmp_path):
    from playwright.sync_api import expect

    monkeypatch.setenv("SLUICE_NET_ALLOW", "127.0.0.1")  # moto
    snow = standin(monkeypatch, tmp_path)
    props, creds = snow.properties(), snow.credentials()
    log_in(page)
    page.goto("/connections/")
    item = page.locator(".catalog-item", has_text="Snowflake")
    expect(item).to_contain_text("COPY INTO")
    shot(page, "snowflake-catalog")
    item.get_by_role("link", name="Create connection").click()
    page.get_by_label("Connection name").fill("warehouse")
    for label, value in [("Account", props["accountName"]), ("Warehouse", props["warehouse"]),
                         ("Database", props["database"]), ("Stage name", "SLUICE_DB.PUBLIC.MISSING"),
                         ("Stage bucket", props["bucketName"]), ("Stage bucket prefix", props["bucketPrefix"]),
                         ("Bucket region", props["region"]), ("S3 endpoint URL", props["endpointUrl"]),
                         ("User name", creds["username"]), ("Password", creds["password"]),
                         ("Access key id (stage)", creds["accessKeyId"]),
                         ("Secret access key (stage)", creds["secretAccessKey"])]:
        page.get_by_label(re.compile(f"^{re.escape(label)}( \\(optional\\))?$")).fill(value)
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.locator(".problems")).to_contain_text("stage: SLUICE_DB.PUBLIC.MISSING does not exist")
    expect(page.locator("body")).not_to_contain_text(creds["password"])
    shot(page, "snowflake-form-error")
    page.get_by_label(re.compile("^Stage name")).fill(STAGE)
    for label in ("User name", "Password", "Access key id (stage)", "Secret access key (stage)"):
        key = {"User name": "username", "Password": "password", "Access key id (stage)": "accessKeyId",
               "Secret access key (stage)": "secretAccessKey"}[label]
        page.get_by_label(re.compile(f"^{re.escape(label)}( \\(optional\\))?$")).fill(creds[key])
    shot(page, "snowflake-form-second")
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("warehouse")
    expect(page.locator(".messages")).to_contain_text("works and was saved")
    expect(page.locator("body")).not_to_contain_text(creds["password"])
    assert snow.hosts and set(snow.hosts) == {"sluice-test.snowflakecomputing.com"}

    page.goto("/connections/")
    page.locator(".catalog-item", has_text="Upsolver").get_by_role("link", name="Create connection").click()
    expect(page.locator(".lead")).to_contain_text('starts with "upsolver-appflow"')
    page.get_by_label("Connection name").fill("upsolver")
    page.get_by_label(re.compile("^Region")).fill(s3server.REGION)
    page.get_by_label(re.compile("^Endpoint URL")).fill(s3server.need_s3())
    page.get_by_label(re.compile("^Access key id")).fill(s3server.ACCESS_KEY)
    page.get_by_label(re.compile("^Secret access key")).fill(s3server.SECRET_KEY)
    shot(page, "upsolver-form")
    page.get_by_role("button", name=re.compile("Test and create")).click()
    expect(page.locator(".messages")).to_contain_text("works and was saved")
