"""A person in Chromium choosing a source's own options in step 2 (Veeva Vault: document files),
with the keyboard-usable checkboxes the connector declares (Connector.source_option_fields)."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from connections.models import Connection
from flows.models import FlowDraft
from flows.tests.test_browser import log_in, page  # noqa: F401 - the Chromium page fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_veeva_document_files_are_chosen_in_step_2(page, owner, demo, monkeypatch, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    from connections.tests.veeva_server import serve

    vault = serve(monkeypatch)
    connection = Connection(name="vault", connector_type="Veeva", properties={"instanceUrl": vault.base})
    connection.credentials = {"username": vault.user, "password": vault.password}
    connection.save()
    draft = FlowDraft.objects.create(owner=owner, step="configure", document=json.dumps({
        "flowName": "vault-docs", "tags": {},
        "sourceFlowConfig": {"connectorType": "Veeva", "connectorProfileName": "vault",
                             "sourceConnectorProperties": {"Veeva": {"object": "documents"}}},
        "destinationFlowConfigList": [{
            "connectorType": "CustomConnector", "connectorLabel": "LocalFiles",
            "connectorProfileName": demo["connection"].name,
            "destinationConnectorProperties": {"CustomConnector": {
                "entityName": "out/vault", "customProperties": {"fileType": "JSONL"}}}}],
        "triggerConfig": {"triggerType": "OnDemand"}}))
    log_in(page)

    page.goto(reverse("flows:wizard-step", args=[draft.pk, "configure"]))
    options = page.get_by_role("group", name="Options of documents")
    expect(options).to_be_visible()
    files = page.get_by_label("Document metadata and source files")
    expect(files).not_to_be_checked()
    files.focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("Document metadata and source files")).to_be_checked()
    page.get_by_label("Document type").fill("Reference")
    page.screenshot(path=str(tmp_path / "veeva-options.png"), full_page=True)
    page.get_by_role("button", name=re.compile("^Next")).click()
    page.wait_for_url(re.compile(r"/map/$"))

    draft.refresh_from_db()
    assert draft.data["sourceFlowConfig"]["sourceConnectorProperties"] == {
        "Veeva": {"object": "documents", "documentType": "Reference", "includeSourceFiles": True}}
